/**
 * The Coordinator on etcd 3.4, spoken through etcd's JSON gateway (`POST /v3/...`, keys and values
 * base64, 64-bit numbers as strings) with Node's own fetch: no client library (see
 * docs/decisions/0007-etcd-through-its-json-gateway.md).
 *
 * Keys, under the cluster's prefix P:
 *   P/brokers/<nodeId>             {"nodeId","url"}, attached to the session's lease
 *   P/controller                   {"nodeId","epoch"}, attached to the controller's lease
 *   P/controller_epoch             the current controller epoch, in decimal
 *   P/topics/<topicId>             ClusterTopic as JSON, written once by the controller
 *   P/partitions/<topicId>/<n>     PartitionState as JSON
 *   P/documents/<name>             a document every broker shares (principals, keys, ACLs: "auth";
 *                                  producer ids: cluster/cluster-producer-ids.ts), name URI-encoded
 * One lease per Coordinator (a session), renewed every third of its TTL.
 */
import {
  CoordinatorError,
  FencedError,
  type BrokerRegistration,
  type CasResult,
  type ClusterMetadata,
  type ClusterTopic,
  type Coordinator,
  type ControllerTerm,
  type PartitionState,
  type Versioned,
} from './coordinator.js';

export interface EtcdCoordinatorOptions {
  /** Client URLs of the etcd members, e.g. ['http://127.0.0.1:2379']; tried in turn. */
  endpoints: string[];
  /** Key prefix of this cluster, e.g. '/my-cluster'; one etcd serves several clusters. */
  prefix: string;
  /** Lease TTL in seconds: a broker that stops renewing is gone this long after (default 10). */
  leaseTtlSeconds?: number;
  /** Time limit of one request to etcd, in ms (default 5000). */
  requestTimeoutMs?: number;
}

interface EtcdKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

interface EtcdEvent {
  type?: 'PUT' | 'DELETE';
  kv: EtcdKv;
}

interface EtcdHeader {
  revision?: string;
}

interface TxnResponse {
  header: EtcdHeader;
  succeeded?: boolean;
  responses?: { response_range?: { kvs?: EtcdKv[] } }[];
}

type Compare = { key: string; result: 'EQUAL' | 'GREATER'; target: 'CREATE' | 'MOD' | 'VALUE'; create_revision?: string; mod_revision?: string; value?: string };
type Op = { request_put: { key: string; value: string; lease?: string } } | { request_range: { key: string } } | { request_delete_range: { key: string; range_end?: string } };

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** The end of the key range that holds every key starting with `prefix` (etcd's range_end). */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      bytes[i]++;
      return bytes.subarray(0, i + 1).toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

export class EtcdCoordinator implements Coordinator {
  readonly #endpoints: string[];
  readonly #prefix: string;
  readonly #ttl: number;
  readonly #timeoutMs: number;
  #next = 0;
  #lease: Promise<string> | null = null;
  #keepAlive: NodeJS.Timeout | null = null;
  #lastContact: number | null = null;
  /** The lease the keep-alive renews, once granted. */
  #leaseId: string | null = null;
  #leaseLost: () => void = () => {};
  /** Resolves when this session's lease is gone (lapsed or revoked); a new session gets a new one. */
  #leaseGone: Promise<void>;
  /** What registerBroker registered: registered again under the next session's lease when one lapses. */
  #registration: BrokerRegistration | null = null;
  /** Called when a lapsed session was replaced and the broker registered again. */
  onSessionRenewed: (() => void) | null = null;
  readonly #closing = new AbortController();

  constructor(options: EtcdCoordinatorOptions) {
    if (options.endpoints.length === 0) throw new CoordinatorError('etcd: at least one endpoint is required');
    this.#endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ''));
    this.#prefix = '/' + options.prefix.replace(/^\/+|\/+$/g, '');
    this.#ttl = options.leaseTtlSeconds ?? 10;
    this.#timeoutMs = options.requestTimeoutMs ?? 5000;
    if (!Number.isInteger(this.#ttl) || this.#ttl < 1) throw new CoordinatorError(`etcd: leaseTtlSeconds must be a whole number >= 1, got ${this.#ttl}`);
    this.#leaseGone = new Promise((resolve) => (this.#leaseLost = resolve));
  }

  #key(...parts: string[]): string {
    return [this.#prefix, ...parts].join('/');
  }

  async #call<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    let lastError: unknown;
    for (let tried = 0; tried < this.#endpoints.length; tried++) {
      const endpoint = this.#endpoints[this.#next];
      let res: Response;
      try {
        res = await fetch(`${endpoint}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: signal ?? AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        lastError = err;
        this.#next = (this.#next + 1) % this.#endpoints.length;
        continue;
      }
      this.#lastContact = Date.now();
      if (!res.ok) {
        const text = await res.text();
        let message = text;
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          // not JSON: keep the text
        }
        throw new CoordinatorError(`etcd ${path} answered ${res.status}: ${message}`);
      }
      return (path === '/v3/watch' ? res : await res.json()) as T;
    }
    throw new CoordinatorError(`etcd unreachable at ${this.#endpoints.join(', ')}: ${(lastError as Error)?.message}`, { cause: lastError });
  }

  lastContactMs(): number | null {
    return this.#lastContact;
  }

  async #range(key: string): Promise<{ kvs: EtcdKv[]; revision: string }> {
    const r = await this.#call<{ header: EtcdHeader; kvs?: EtcdKv[] }>('/v3/kv/range', { key: b64(key) });
    return { kvs: r.kvs ?? [], revision: r.header.revision ?? '0' };
  }

  async #rangePrefix(prefix: string): Promise<{ kvs: EtcdKv[]; revision: string }> {
    const r = await this.#call<{ header: EtcdHeader; kvs?: EtcdKv[] }>('/v3/kv/range', { key: b64(prefix), range_end: prefixEnd(prefix) });
    return { kvs: r.kvs ?? [], revision: r.header.revision ?? '0' };
  }

  #txn(compare: Compare[], success: Op[], failure: Op[]): Promise<TxnResponse> {
    return this.#call<TxnResponse>('/v3/kv/txn', { compare, success, failure });
  }

  /** This session's lease, granted on first use and renewed until close() or until it lapses. */
  #session(): Promise<string> {
    this.#lease ??= this.#call<{ ID: string }>('/v3/lease/grant', { TTL: String(this.#ttl) }).then((r) => {
      const id = r.ID;
      this.#leaseId = id;
      const renew = async (): Promise<void> => {
        try {
          const k = await this.#call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: id });
          if (Number(k.result?.TTL ?? 0) <= 0) this.#expire(id);
        } catch (err) {
          if (err instanceof CoordinatorError && /lease not found/.test(err.message)) this.#expire(id);
          // unreachable: keep trying; etcd lets the lease lapse on its own if this lasts
        }
      };
      this.#keepAlive = setInterval(() => void renew(), Math.max(1, Math.floor((this.#ttl * 1000) / 3)));
      this.#keepAlive.unref();
      return id;
    });
    return this.#lease;
  }

  /**
   * The lease `id` lapsed (the process was stopped, or etcd unreachable, for longer than its TTL):
   * its registration and any controller term are gone. A new session is granted and the broker
   * registers again, so that it rejoins the cluster instead of running on unseen by the others.
   */
  #expire(id: string): void {
    if (this.#leaseId !== id) return; // a late answer about a lease already replaced
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
    this.#leaseId = null;
    this.#lease = null;
    const lost = this.#leaseLost;
    this.#leaseGone = new Promise((resolve) => (this.#leaseLost = resolve));
    lost();
    const registration = this.#registration;
    if (registration === null || this.#closing.signal.aborted) return;
    void (async () => {
      while (!this.#closing.signal.aborted) {
        try {
          await this.registerBroker(registration);
          this.onSessionRenewed?.();
          return;
        } catch {
          // etcd unreachable, or the old registration not yet gone: try again
          await new Promise((r) => setTimeout(r, 500).unref());
        }
      }
    })();
  }

  /**
   * Streams events for [key, rangeEnd) from `startRevision` until `onEvents` returns true, the
   * stream ends, or close(). Resolves with whether `onEvents` asked to stop.
   */
  async #watch(key: string, rangeEnd: string | undefined, startRevision: string, onEvents: (events: EtcdEvent[]) => boolean, signal: AbortSignal): Promise<boolean> {
    const create = { key: b64(key), start_revision: startRevision, ...(rangeEnd === undefined ? {} : { range_end: rangeEnd }) };
    const res = await this.#call<Response>('/v3/watch', { create_request: create }, signal);
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          const msg = JSON.parse(line) as { result?: { events?: EtcdEvent[]; canceled?: boolean }; error?: unknown };
          if (msg.error !== undefined || msg.result?.canceled) return false;
          if (msg.result?.events && onEvents(msg.result.events)) return true;
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
    return false;
  }

  async registerBroker(broker: BrokerRegistration): Promise<void> {
    this.#registration = broker;
    const lease = await this.#session();
    const key = b64(this.#key('brokers', String(broker.nodeId)));
    const put: Op = { request_put: { key, value: b64(JSON.stringify(broker)), lease } };
    const r = await this.#txn([{ key, result: 'EQUAL', target: 'CREATE', create_revision: '0' }], [put], [{ request_range: { key } }]);
    if (r.succeeded) return;
    const held = r.responses?.[0]?.response_range?.kvs?.[0];
    if (held?.lease !== lease) throw new CoordinatorError(`node id ${broker.nodeId} is already registered by a live broker (${unb64(held?.value)}); give each broker its own --node-id`);
    await this.#call('/v3/kv/put', put.request_put);
  }

  async brokers(): Promise<BrokerRegistration[]> {
    return this.#decodeBrokers((await this.#rangePrefix(this.#key('brokers', ''))).kvs);
  }

  #decodeBrokers(kvs: Iterable<EtcdKv>): BrokerRegistration[] {
    return [...kvs].map((kv) => JSON.parse(unb64(kv.value)) as BrokerRegistration).sort((a, b) => a.nodeId - b.nodeId);
  }

  watchBrokers(onChange: (brokers: BrokerRegistration[]) => void): () => void {
    return this.#watchPrefix([this.#key('brokers', '')], ([live]) => onChange(this.#decodeBrokers(live.values())));
  }

  watchMetadata(onChange: (metadata: ClusterMetadata) => void): () => void {
    const topics = this.#key('topics', '');
    const partitions = this.#key('partitions', '');
    const deleted = this.#key('deleted_topics', '');
    return this.#watchPrefix([topics, partitions, deleted], ([t, p, d]) => {
      const states = new Map<string, Versioned<PartitionState>>();
      for (const kv of p.values()) states.set(unb64(kv.key).slice(partitions.length), { value: JSON.parse(unb64(kv.value)) as PartitionState, revision: kv.mod_revision ?? '0' });
      const deletedTopics = new Set([...d.values()].map((kv) => (JSON.parse(unb64(kv.value)) as ClusterTopic).id));
      onChange({ topics: [...t.values()].map((kv) => JSON.parse(unb64(kv.value)) as ClusterTopic), partitions: states, deletedTopics });
    });
  }

  /**
   * Calls `onChange` with the keys under each prefix now and after every change (one watch per
   * prefix; each pass starts with a fresh read), until the returned function is called.
   */
  #watchPrefix(prefixes: string[], onChange: (live: Map<string, EtcdKv>[]) => void): () => void {
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.#closing.signal]);
    const live = prefixes.map(() => new Map<string, EtcdKv>());
    const loaded = prefixes.map(() => false);
    const report = (): void => {
      if (!signal.aborted && loaded.every(Boolean)) onChange(live);
    };
    prefixes.forEach((prefix, i) => {
      // each pass reports the state afresh
      this.#repeat(signal, async () => {
        const { kvs, revision } = await this.#rangePrefix(prefix);
        live[i].clear();
        for (const kv of kvs) live[i].set(kv.key, kv);
        loaded[i] = true;
        report();
        await this.#watch(prefix, prefixEnd(prefix), String(BigInt(revision) + 1n), (events) => {
          for (const e of events) {
            if (e.type === 'DELETE') live[i].delete(e.kv.key);
            else live[i].set(e.kv.key, e.kv);
          }
          report();
          return false;
        }, signal);
      });
    });
    return () => stop.abort();
  }

  /** Runs `pass` again and again until `signal` aborts; after a failure (etcd unreachable), 500 ms later. */
  #repeat(signal: AbortSignal, pass: () => Promise<void>): void {
    void (async () => {
      while (!signal.aborted) {
        try {
          await pass();
        } catch {
          if (signal.aborted) return;
          await new Promise((r) => setTimeout(r, 500).unref());
        }
      }
    })();
  }

  async campaign(nodeId: number): Promise<ControllerTerm> {
    const controllerKey = this.#key('controller');
    const epochKey = this.#key('controller_epoch');
    for (;;) {
      if (this.#closing.signal.aborted) throw new CoordinatorError('etcd coordinator closed while campaigning');
      // the current session's lease (a new one after a lapse)
      const lease = await this.#session();
      const current = await this.#range(epochKey);
      const epochKv = current.kvs[0];
      const epoch = Number(unb64(epochKv?.value) || '0') + 1;
      const r = await this.#txn(
        [
          { key: b64(controllerKey), result: 'EQUAL', target: 'CREATE', create_revision: '0' },
          { key: b64(epochKey), result: 'EQUAL', target: 'MOD', mod_revision: epochKv?.mod_revision ?? '0' },
        ],
        [
          { request_put: { key: b64(controllerKey), value: b64(JSON.stringify({ nodeId, epoch })), lease } },
          { request_put: { key: b64(epochKey), value: b64(String(epoch)) } },
        ],
        [{ request_range: { key: b64(controllerKey) } }],
      );
      const revision = r.header.revision ?? '0';
      if (r.succeeded) return this.#term(nodeId, epoch, revision);
      if ((r.responses?.[0]?.response_range?.kvs ?? []).length === 0) continue; // the epoch moved under us: read it again
      // someone holds the office: wait until the key is deleted (resigned or lease lapsed)
      await this.#watch(controllerKey, undefined, String(BigInt(revision) + 1n), (events) => events.some((e) => e.type === 'DELETE'), this.#closing.signal);
    }
  }

  #term(nodeId: number, epoch: number, revision: string): ControllerTerm {
    const controllerKey = this.#key('controller');
    const stop = new AbortController();
    const watched = this.#watch(controllerKey, undefined, String(BigInt(revision) + 1n), () => true, AbortSignal.any([stop.signal, this.#closing.signal])).catch(() => true);
    const ended = Promise.race([watched, this.#leaseGone]).then(() => stop.abort());
    return {
      nodeId,
      epoch,
      ended,
      resign: async () => {
        stop.abort();
        await this.#txn([{ key: b64(controllerKey), result: 'EQUAL', target: 'MOD', mod_revision: revision }], [{ request_delete_range: { key: b64(controllerKey) } }], []);
      },
    };
  }

  async controller(): Promise<{ nodeId: number; epoch: number } | null> {
    const kv = (await this.#range(this.#key('controller'))).kvs[0];
    return kv === undefined ? null : (JSON.parse(unb64(kv.value)) as { nodeId: number; epoch: number });
  }

  async partitionState(topic: string, partition: number): Promise<Versioned<PartitionState> | null> {
    const kv = (await this.#range(this.#partitionKey(topic, partition))).kvs[0];
    return kv === undefined ? null : { value: JSON.parse(unb64(kv.value)) as PartitionState, revision: kv.mod_revision ?? '0' };
  }

  #partitionKey(topic: string, partition: number): string {
    return this.#key('partitions', encodeURIComponent(topic), String(partition));
  }

  async writePartitionState(topic: string, partition: number, state: PartitionState, expectedRevision: string | null): Promise<CasResult> {
    const key = b64(this.#partitionKey(topic, partition));
    const epochKey = b64(this.#key('controller_epoch'));
    const r = await this.#txn(
      [
        { key: epochKey, result: 'EQUAL', target: 'VALUE', value: b64(String(state.controllerEpoch)) },
        expectedRevision === null ? { key, result: 'EQUAL', target: 'CREATE', create_revision: '0' } : { key, result: 'EQUAL', target: 'MOD', mod_revision: expectedRevision },
      ],
      [{ request_put: { key, value: b64(JSON.stringify(state)) } }],
      [{ request_range: { key: epochKey } }, { request_range: { key } }],
    );
    if (r.succeeded) return { ok: true, revision: r.header.revision ?? '0' };
    const currentEpoch = Number(unb64(r.responses?.[0]?.response_range?.kvs?.[0]?.value) || '0');
    if (currentEpoch !== state.controllerEpoch) throw new FencedError(state.controllerEpoch, currentEpoch);
    const kv = r.responses?.[1]?.response_range?.kvs?.[0];
    return { ok: false, reason: 'conflict', current: kv === undefined ? null : { value: JSON.parse(unb64(kv.value)) as PartitionState, revision: kv.mod_revision ?? '0' } };
  }

  writeTopic(topic: ClusterTopic, controllerEpoch: number): Promise<boolean> {
    const key = b64(this.#key('topics', topic.id));
    return this.#fenced(controllerEpoch, { key, result: 'EQUAL', target: 'CREATE', create_revision: '0' }, [{ request_put: { key, value: b64(JSON.stringify(topic)) } }]);
  }

  updateTopic(topic: ClusterTopic, controllerEpoch: number): Promise<boolean> {
    const key = b64(this.#key('topics', topic.id));
    return this.#fenced(controllerEpoch, { key, result: 'GREATER', target: 'CREATE', create_revision: '0' }, [{ request_put: { key, value: b64(JSON.stringify(topic)) } }]);
  }

  deleteTopic(topic: ClusterTopic, controllerEpoch: number): Promise<boolean> {
    const key = b64(this.#key('topics', topic.id));
    const states = this.#key('partitions', encodeURIComponent(topic.id), '');
    return this.#fenced(controllerEpoch, { key, result: 'GREATER', target: 'CREATE', create_revision: '0' }, [
      { request_put: { key: b64(this.#key('deleted_topics', topic.id)), value: b64(JSON.stringify({ ...topic, deletedAt: Date.now() })) } },
      { request_delete_range: { key } },
      { request_delete_range: { key: b64(states), range_end: prefixEnd(states) } },
    ]);
  }

  /** Runs `success` if `condition` holds and `controllerEpoch` is current: true when it ran, false when the condition failed, FencedError for a stale epoch. */
  async #fenced(controllerEpoch: number, condition: Compare, success: Op[]): Promise<boolean> {
    const epochKey = b64(this.#key('controller_epoch'));
    const r = await this.#txn([{ key: epochKey, result: 'EQUAL', target: 'VALUE', value: b64(String(controllerEpoch)) }, condition], success, [{ request_range: { key: epochKey } }]);
    if (r.succeeded) return true;
    const currentEpoch = Number(unb64(r.responses?.[0]?.response_range?.kvs?.[0]?.value) || '0');
    if (currentEpoch !== controllerEpoch) throw new FencedError(controllerEpoch, currentEpoch);
    return false;
  }

  #documentKey(name: string): string {
    return this.#key('documents', encodeURIComponent(name));
  }

  #decodeDocument(kv: EtcdKv | undefined): Versioned<unknown> | null {
    return kv === undefined ? null : { value: JSON.parse(unb64(kv.value)) as unknown, revision: kv.mod_revision ?? '0' };
  }

  async readDocument(name: string): Promise<Versioned<unknown> | null> {
    return this.#decodeDocument((await this.#range(this.#documentKey(name))).kvs[0]);
  }

  async writeDocument(name: string, value: unknown, expectedRevision: string | null): Promise<{ ok: true; revision: string } | { ok: false; current: Versioned<unknown> | null }> {
    const key = b64(this.#documentKey(name));
    const r = await this.#txn(
      [expectedRevision === null ? { key, result: 'EQUAL', target: 'CREATE', create_revision: '0' } : { key, result: 'EQUAL', target: 'MOD', mod_revision: expectedRevision }],
      [{ request_put: { key, value: b64(JSON.stringify(value)) } }],
      [{ request_range: { key } }],
    );
    if (r.succeeded) return { ok: true, revision: r.header.revision ?? '0' };
    return { ok: false, current: this.#decodeDocument(r.responses?.[0]?.response_range?.kvs?.[0]) };
  }

  async deleteDocument(name: string, expectedRevision: string | null): Promise<boolean> {
    const key = b64(this.#documentKey(name));
    const r = await this.#txn(
      [expectedRevision === null ? { key, result: 'GREATER', target: 'CREATE', create_revision: '0' } : { key, result: 'EQUAL', target: 'MOD', mod_revision: expectedRevision }],
      [{ request_delete_range: { key } }],
      [],
    );
    return r.succeeded === true;
  }

  watchDocuments(prefix: string, onChange: (docs: Map<string, Versioned<unknown>>) => void): () => void {
    const keys = this.#documentKey(prefix);
    const names = this.#documentKey('');
    return this.#watchPrefix([keys], ([live]) => {
      const docs = new Map<string, Versioned<unknown>>();
      for (const [key, kv] of live) docs.set(decodeURIComponent(unb64(key).slice(names.length)), this.#decodeDocument(kv)!);
      onChange(docs);
    });
  }

  watchDocument(name: string, onChange: (doc: Versioned<unknown> | null) => void): () => void {
    const key = this.#documentKey(name);
    // a prefix watch over exactly this key (the key with no suffix is the only one)
    return this.#watchPrefix([key], ([live]) => onChange(this.#decodeDocument(live.get(b64(key)))));
  }

  watchDocumentChanges(prefix: string, onChange: (name: string, doc: Versioned<unknown> | null) => void, onReset: () => void): () => void {
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.#closing.signal]);
    const keys = this.#documentKey(prefix);
    const names = this.#documentKey('');
    this.#repeat(signal, async () => {
      // the revision now, without reading the documents themselves
      const now = await this.#call<{ header: EtcdHeader }>('/v3/kv/range', { key: b64(keys), range_end: prefixEnd(keys), count_only: true });
      onReset();
      await this.#watch(keys, prefixEnd(keys), String(BigInt(now.header.revision ?? '0') + 1n), (events) => {
        for (const e of events) {
          const name = decodeURIComponent(unb64(e.kv.key).slice(names.length));
          onChange(name, e.type === 'DELETE' ? null : this.#decodeDocument(e.kv));
        }
        return false;
      }, signal);
    });
    return () => stop.abort();
  }

  async controllerEpoch(): Promise<number> {
    return Number(unb64((await this.#range(this.#key('controller_epoch'))).kvs[0]?.value) || '0');
  }

  async close(): Promise<void> {
    this.#closing.abort();
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
    const lease = this.#lease;
    this.#lease = null;
    if (lease !== null) {
      try {
        await this.#call('/v3/lease/revoke', { ID: await lease });
      } catch {
        // unreachable or already lapsed: the lease ends on its own within its TTL
      }
    }
    this.#leaseLost();
  }
}
