/**
 * Consumer groups over HTTP: join, poll, heartbeat, subscription, leave and commit for members;
 * standalone commits; and the admin calls. Thin: each handler validates, makes one coordinator
 * call and replies. The coordinator is created here, over the app's broker, and closed with it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  JoinGroupBody, SubscriptionBody, MembershipResponse, PollQuery, PollResponse, CommitBody, CommitResponse, StandaloneCommitBody,
  GroupDescription, GroupSummary, GroupOffsetSchema, ResetOffsetsBody, ResetOffsetsResponse,
} from '@webka/protocol';
import { WebkaError } from '../../errors.js';
import { GroupCoordinator } from '../../groups/group-coordinator.js';
import { GroupAdmin, type GroupView } from '../../groups/group-admin.js';
import { JsonBytes, readFormat, writeRecord, type KeyFormat } from '../record-json.js';
import { authorizedOperations } from '../authorized-operations.js';
import { topicReader } from '../topic-reader.js';
import { coordinatesGroup, fromOtherBrokers, routeToGroupCoordinator } from '../group-routing.js';
import { provideGroupCoordinator, streamGroupMember, wantsEventStream } from '../streaming/index.js';
import { clientGone } from '../client-gone.js';

const ClusterParams = Type.Object({ cluster: Type.String() });
const GroupParams = Type.Object({ cluster: Type.String(), group: Type.String() });
const MemberParams = Type.Object({ cluster: Type.String(), group: Type.String(), member: Type.String() });
type G = { cluster: string; group: string };
type M = G & { member: string };
const err = { $ref: 'Error#' };
const tags = ['groups'];

function int(raw: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new WebkaError('INVALID_REQUEST', `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export async function groupRoutes(app: FastifyInstance): Promise<void> {
  const { broker, config, shutdown } = app.webka;
  const coordinator = app.webka.groups ?? new GroupCoordinator(broker, { maxMembers: config.maxGroupMembers });
  provideGroupCoordinator(app.webka, coordinator);
  app.webka.groups = coordinator;
  const admin = new GroupAdmin(coordinator);
  app.addHook('onClose', async () => coordinator.close());

  // In a cluster a group's calls are the coordinator's: another broker forwards them there.
  app.addHook('preHandler', routeToGroupCoordinator(app, coordinator));

  // A member belongs to the principal that joined it: every route that names a member id is
  // refused to other principals as if the member did not exist, before it can renew a lease,
  // read, commit or rebalance anything. Removing another principal's member is an admin action
  // on the group (docs/security.md, "Ownership").
  app.addHook('preHandler', async (request) => {
    const { cluster, group, member } = request.params as { cluster?: string; group?: string; member?: string };
    if (cluster === undefined || group === undefined || member === undefined) return;
    const actForOthers = request.method === 'DELETE' && app.security.authorize(request.principal, 'admin', { type: 'group', cluster, name: group });
    coordinator.checkOwner(cluster, group, member, request.principal.name, actForOthers);
  });

  app.get<{ Params: { cluster: string } }>(
    '/clusters/:cluster/groups',
    { schema: { tags, summary: 'List consumer groups (with members or committed offsets)', params: ClusterParams, response: { 200: Type.Object({ groups: Type.Array(GroupSummary) }), 404: err } } },
    async (request) => {
      const cluster = request.params.cluster;
      // in a cluster each broker lists the groups it coordinates, and the one asked gathers them
      const mine = admin.list(cluster).filter((g) => coordinatesGroup(app, cluster, g.group));
      const others = await fromOtherBrokers(app, request, (body) => (body as { groups: typeof mine }).groups);
      return { groups: [...mine, ...others].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0)) };
    },
  );

  app.get<{ Params: G }>(
    '/clusters/:cluster/groups/:group',
    { schema: { tags, summary: 'Describe a group: state, members and assignments, committed offsets and lag', params: GroupParams, response: { 200: GroupDescription, 404: err } } },
    async (request) => {
      const { cluster, group } = request.params;
      return { ...admin.describe(cluster, group, groupView(app, request)), authorizedOperations: authorizedOperations(app, request, { type: 'group', cluster, name: group }) };
    },
  );

  app.delete<{ Params: G }>(
    '/clusters/:cluster/groups/:group',
    { schema: { tags, summary: 'Delete an empty group and its committed offsets', params: GroupParams, response: { 204: Type.Null(), 404: err, 409: err } } },
    async (request, reply) => {
      await admin.deleteGroup(request.params.cluster, request.params.group);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: G; Body: JoinGroupBody }>(
    '/clusters/:cluster/groups/:group/members',
    {
      schema: {
        tags,
        summary: 'Join a group: answers at once with the member id, generation and assignment',
        description: 'Subscribe with "topics" or "pattern". The member stays while polls, commits or heartbeats arrive within sessionTimeoutMs, from any connection.',
        params: GroupParams,
        body: JoinGroupBody,
        response: { 201: MembershipResponse, 400: err, 404: err, 409: err },
      },
    },
    async (request, reply) => {
      const ua = request.headers['user-agent'];
      const m = coordinator.join(request.params.cluster, request.params.group, {
        ...request.body,
        clientHost: request.ip,
        userAgent: typeof ua === 'string' ? ua.slice(0, 256) : null,
        principal: request.principal.name,
        canRead: topicReader(app, request),
      });
      return reply.code(201).send(m);
    },
  );

  app.get<{ Params: M; Querystring: PollQuery }>(
    '/clusters/:cluster/groups/:group/members/:member/records',
    {
      schema: {
        tags,
        summary: 'Poll: records from this member\'s partitions, with its generation and assignment',
        description: 'With maxWaitMs, waits for records (and for an assignment while the group forms), woken by appends and rebalances.',
        params: MemberParams,
        querystring: PollQuery,
        response: { 200: PollResponse, 400: err, 404: err, 409: err, 503: err },
      },
    },
    async (request, reply) => {
      const q = request.query;
      // Accept: text/event-stream: the member's records as a stream (streaming/sse-group.ts).
      if (wantsEventStream(request)) return streamGroupMember(app.webka, coordinator, request, reply, q);
      const gone = clientGone(request, reply, shutdown);
      try {
        const r = await coordinator.poll(request.params.cluster, request.params.group, request.params.member, {
          maxRecords: int(q.maxRecords, 'maxRecords', 1, config.maxFetchRecords, -1),
          maxBytes: int(q.maxBytes, 'maxBytes', 1, config.maxFetchBytes, config.defaultFetchBytes),
          maxWaitMs: Math.min(int(q.maxWaitMs, 'maxWaitMs', 0, 1e9, 0), config.maxLongPollMs),
          generation: q.generation === undefined ? undefined : Number(q.generation),
          signal: gone.signal,
          isolation: q.isolation,
        });
        const keyFormat = (q.keyFormat ?? 'text') as KeyFormat;
        const valueFormat = readFormat(q.valueFormat);
        let hint = 128;
        for (const { record } of r.records) hint += 128 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
        const out = new JsonBytes(hint);
        out.ascii('{"records":[');
        // a poll's records come partition by partition: each run's "topic" and "partition" fields are encoded once
        let prefix: Buffer | undefined;
        for (let i = 0; i < r.records.length; i++) {
          const { topic, partition, record } = r.records[i];
          if (i > 0) out.ascii(',');
          if (prefix === undefined || topic !== r.records[i - 1].topic || partition !== r.records[i - 1].partition) {
            prefix = Buffer.from(`"topic":${JSON.stringify(topic)},"partition":${partition},`);
          }
          writeRecord(out, record, keyFormat, valueFormat, prefix);
        }
        out.text(`],"generation":${r.generation},"assignment":${JSON.stringify(r.assignment)}}`);
        const body = out.finish();
        if (r.records.length > 0) {
          // an answer that did not reach the client (its connection closed first) is not a
          // delivery: the member reads those records again on its next poll
          // ('finish': the whole answer went to the operating system; a connection reset first
          // closes the response without it)
          const { cluster, group, member } = request.params;
          let delivered = false;
          reply.raw.once('finish', () => (delivered = true));
          reply.raw.once('close', () => {
            if (!delivered) coordinator.unread(cluster, group, member, r);
          });
        }
        return reply.type('application/json; charset=utf-8').send(body);
      } finally {
        gone.release();
      }
    },
  );

  app.post<{ Params: M }>(
    '/clusters/:cluster/groups/:group/members/:member/heartbeat',
    { schema: { tags, summary: 'Renew the member\'s session; answers the current generation and assignment', params: MemberParams, response: { 200: MembershipResponse, 404: err } } },
    async (request) => coordinator.heartbeat(request.params.cluster, request.params.group, request.params.member),
  );

  app.put<{ Params: M; Body: SubscriptionBody }>(
    '/clusters/:cluster/groups/:group/members/:member/subscription',
    { schema: { tags, summary: 'Change the member\'s subscription (the group rebalances)', params: MemberParams, body: SubscriptionBody, response: { 200: MembershipResponse, 400: err, 404: err } } },
    async (request) => coordinator.updateSubscription(request.params.cluster, request.params.group, request.params.member, request.body),
  );

  app.delete<{ Params: M }>(
    '/clusters/:cluster/groups/:group/members/:member',
    {
      schema: {
        tags,
        summary: 'Leave the group now (with autoCommit, what was delivered is committed first; when that commit fails the member still leaves, and a 200 answer says why)',
        params: MemberParams,
        response: { 200: Type.Object({ left: Type.Literal(true), finalCommitError: Type.Object({ code: Type.String(), message: Type.String() }) }), 204: Type.Null(), 404: err },
      },
    },
    async (request, reply) => {
      const r = await coordinator.leave(request.params.cluster, request.params.group, request.params.member);
      if (r.finalCommitError === undefined) return reply.code(204).send();
      const e = r.finalCommitError;
      return reply.code(200).send({ left: true, finalCommitError: { code: e.code, message: e.message } });
    },
  );

  app.post<{ Params: M; Body: CommitBody | undefined }>(
    '/clusters/:cluster/groups/:group/members/:member/offsets',
    {
      schema: {
        tags,
        summary: 'Commit offsets (the next offset to read); without "offsets", everything delivered to this member so far',
        params: MemberParams,
        body: CommitBody,
        response: { 200: Type.Object({ ...CommitResponse.properties, generation: Type.Integer() }), 400: err, 404: err, 409: err },
      },
      // a POST without a body means "commit everything delivered"
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
    },
    async (request) => {
      const b = request.body ?? {};
      const r = await coordinator.commit(request.params.cluster, request.params.group, request.params.member, b.offsets, b.generation);
      return { offsets: r.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null })), generation: r.generation };
    },
  );

  app.post<{ Params: G; Body: { offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }> } }>(
    '/clusters/:cluster/groups/:group/offsets',
    {
      schema: {
        tags,
        summary: 'Commit offsets under a group id without joining (refused while the group has members)',
        params: GroupParams,
        body: StandaloneCommitBody,
        response: { 200: CommitResponse, 400: err, 404: err, 409: err },
      },
    },
    async (request) => {
      const offsets = await coordinator.commitStandalone(request.params.cluster, request.params.group, request.body.offsets);
      return { offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null })) };
    },
  );

  app.get<{ Params: G }>(
    '/clusters/:cluster/groups/:group/offsets',
    { schema: { tags, summary: 'The group\'s committed offsets with lag (empty when it has none)', params: GroupParams, response: { 200: Type.Object({ offsets: Type.Array(GroupOffsetSchema) }), 404: err } } },
    async (request) => {
      broker.catalog.getCluster(request.params.cluster);
      const view = groupView(app, request);
      return { offsets: admin.offsets(request.params.cluster, request.params.group).filter((o) => view.topic(o.topic)) };
    },
  );

  app.post<{ Params: G; Body: ResetOffsetsBody }>(
    '/clusters/:cluster/groups/:group/offsets/reset',
    {
      schema: {
        tags,
        summary: 'Reset the offsets of an empty group to earliest, latest, a timestamp or given offsets (dryRun to preview)',
        params: GroupParams,
        body: ResetOffsetsBody,
        response: { 200: ResetOffsetsResponse, 400: err, 404: err, 409: err },
      },
    },
    async (request) => admin.resetOffsets(request.params.cluster, request.params.group, request.body),
  );
}

/** The caller's read right on topics of the group's cluster, or undefined when auth is off. */
/**
 * What a describe shows the caller: the members of every principal only to a caller with admin
 * on the group (or a superuser), otherwise its own; offsets, lag and assignments only for topics
 * the caller may describe. A group read right is the right to consume in the group, not to see
 * who else does or what they read.
 */
export function groupView(app: FastifyInstance, request: FastifyRequest<{ Params: { cluster: string; group: string } }>): GroupView {
  const { security } = app;
  const principal = request.principal;
  const { cluster, group } = request.params;
  if (!security.enabled || security.isAdmin(principal)) return { member: () => true, topic: () => true };
  const allMembers = security.authorize(principal, 'admin', { type: 'group', cluster, name: group });
  return {
    member: (m) => allMembers || m.client.principal === principal.name,
    topic: (topic) => security.authorize(principal, 'describe', { type: 'topic', cluster, name: topic }),
  };
}
