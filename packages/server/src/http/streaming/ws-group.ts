/**
 * WebSocket group subscriptions: a `subscribe` frame with `group` joins the group (or follows a
 * member that joined over REST, with memberId) and pushes the member's records as `records`
 * frames (one per partition run, with the generation they were read in), each rebalance as a
 * `rebalance` frame first. Commits follow the member's delivery setting: at-most-once members are
 * committed as records are read for sending; at-least-once members (the default) when the
 * client sends `ack` (everything up to and including an offset) or `commit`.
 *
 * A member this socket joined leaves the group when the subscription or the socket ends (without
 * committing: unacknowledged records go to the next owner); a member given by memberId stays.
 * A member belongs to the principal that joined it: a memberId of another principal's member is
 * answered MEMBER_NOT_FOUND, as if it did not exist.
 */
import type { AckFrame, CommitFrame, SubscribeGroupFrame } from '@webka/protocol';
import type { GroupCoordinator } from '../../groups/group-coordinator.js';
import { readFormat, renderRecord, type KeyFormat } from '../record-json.js';
import { GroupFollower } from './group-follower.js';
import type { GroupCaller, GroupSubscriber, GroupSubscription } from './ws-session.js';
import type { SubscriptionOutlet } from './ws-subscription.js';

export interface GroupReadOptions {
  maxBytes: number;
  maxWaitMs: number;
}

export function groupSubscriber(coordinator: GroupCoordinator, opts: GroupReadOptions): GroupSubscriber {
  return {
    async subscribe(id: string, frame: SubscribeGroupFrame, outlet: SubscriptionOutlet, caller: GroupCaller): Promise<GroupSubscription> {
      const { cluster, group } = frame;
      let memberId = frame.memberId;
      const joined = memberId === undefined;
      // following a member joined elsewhere: only its own principal may (docs/security.md)
      if (memberId !== undefined) coordinator.checkOwner(cluster, group, memberId, caller.principal);
      if (memberId === undefined) {
        memberId = coordinator.join(cluster, group, {
          topics: frame.topics,
          pattern: frame.pattern,
          clientId: frame.clientId ?? 'websocket',
          clientHost: caller.host,
          principal: caller.principal,
          autoOffsetReset: frame.autoOffsetReset,
          sessionTimeoutMs: frame.sessionTimeoutMs,
          assignmentStrategy: frame.assignmentStrategy,
          delivery: frame.delivery,
          // the socket commits on ack (at-least-once) or as it reads (at-most-once), never on a timer
          autoCommit: false,
          canRead: caller.canRead,
        }).memberId;
      }
      const member = memberId;
      const keyFormat = (frame.keyFormat ?? 'text') as KeyFormat;
      const valueFormat = readFormat(frame.valueFormat);
      const sub = JSON.stringify(id);
      const follower = new GroupFollower(coordinator, cluster, group, member, {
        rebalance(m) {
          outlet.push(JSON.stringify({ type: 'rebalance', subscription: id, memberId: m.memberId, generation: m.generation, assignment: m.assignment }));
        },
        deliver(records, generation) {
          let ok = true;
          // one frame per run of records from the same partition
          for (let i = 0; i < records.length; ) {
            const { topic, partition } = records[i];
            let body = '';
            let j = i;
            for (; j < records.length && records[j].topic === topic && records[j].partition === partition; j++) {
              if (j > i) body += ',';
              body += renderRecord(records[j].record, keyFormat, valueFormat);
            }
            const next = records[j - 1].record.offset + 1;
            ok = outlet.push(`{"type":"records","subscription":${sub},"topic":${JSON.stringify(topic)},"partition":${partition},"generation":${generation},"position":"${next}","records":[${body}]}`) && ok;
            i = j;
          }
          if (!ok) outlet.whenWritable(() => follower.resume());
          return ok;
        },
        fail: (err) => outlet.failed(id, err),
      }, { maxRecords: 0, maxBytes: opts.maxBytes, maxWaitMs: opts.maxWaitMs, isolation: frame.isolation });
      follower.member();
      follower.start();
      const generationOf = (): number => follower.generation;
      return {
        id,
        close() {
          follower.close();
          if (joined) coordinator.leave(cluster, group, member).catch(() => undefined);
        },
        async commit(f: CommitFrame) {
          await coordinator.commit(cluster, group, member, f.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })), generationOf());
        },
        async ack(f: AckFrame) {
          await coordinator.commit(cluster, group, member, [{ topic: f.topic, partition: f.partition, offset: f.offset + 1 }], generationOf());
        },
      };
    },
  };
}
