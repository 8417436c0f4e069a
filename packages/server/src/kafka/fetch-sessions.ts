/**
 * Fetch sessions (KIP-227): a consumer fetching many partitions names them once; later requests
 * carry only the partitions whose fetch position changed (and the ones to forget), and the answer
 * carries only the partitions with something new: records, a changed high watermark, last stable
 * offset or log start, or an error.
 *
 * Request (sessionId, sessionEpoch):
 *   (0, -1)   a full fetch without a session (every client that knows no sessions)
 *   (x, -1)   closes session x, then a full fetch without one
 *   (x, 0)    closes session x if any, full fetch, opens a new session (answered with its id, or
 *             0 when the cache is full: the client then stays sessionless)
 *   (x, n>0)  an incremental fetch in session x; n must be the session's next epoch
 *             (unknown session: FETCH_SESSION_ID_NOT_FOUND, 70; wrong epoch:
 *             INVALID_FETCH_SESSION_EPOCH, 71; the session is unchanged by a refused request)
 * A session belongs to the principal that opened it: another principal naming its id gets
 * FETCH_SESSION_ID_NOT_FOUND. The cache is the listener's, shared by its connections (a client may
 * reconnect and go on), at most `slots` sessions; when full, the least recently used session that
 * has been idle for `evictAfterMs` makes room, else no session is opened.
 */
import { randomInt } from 'node:crypto';

export interface SessionPartition {
  topic: string;
  /** The topic's id when the session's requests name topics by id (Fetch version 13+). */
  topicId: Buffer | null;
  unknownId?: boolean;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  /** What the client was last told (-2: nothing yet), to answer only what changed. */
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

export interface FetchSession {
  readonly id: number;
  readonly owner: string;
  /** The epoch the next incremental request must carry. */
  epoch: number;
  lastUsed: number;
  /** In the order the client named them. */
  partitions: Map<string, SessionPartition>;
}

export const partitionKey = (topic: string, partition: number): string => `${partition}:${topic}`;

export class FetchSessionCache {
  readonly #sessions = new Map<number, FetchSession>();
  readonly #slots: number;
  readonly #evictAfterMs: number;

  constructor(slots = 1000, evictAfterMs = 120_000) {
    this.#slots = slots;
    this.#evictAfterMs = evictAfterMs;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The session, if it exists and belongs to owner; marks it used. */
  get(id: number, owner: string, now = Date.now()): FetchSession | undefined {
    const s = this.#sessions.get(id);
    if (s === undefined || s.owner !== owner) return undefined;
    s.lastUsed = now;
    // keep the map in least-recently-used order
    this.#sessions.delete(id);
    this.#sessions.set(id, s);
    return s;
  }

  remove(id: number, owner: string): void {
    if (this.#sessions.get(id)?.owner === owner) this.#sessions.delete(id);
  }

  /** A new session over the partitions (epoch 1 next), or null when every slot is busy. */
  open(owner: string, partitions: SessionPartition[], now = Date.now()): FetchSession | null {
    if (this.#sessions.size >= this.#slots) {
      const [oldestId, oldest] = this.#sessions.entries().next().value as [number, FetchSession];
      if (now - oldest.lastUsed < this.#evictAfterMs) return null;
      this.#sessions.delete(oldestId);
    }
    let id: number;
    do id = randomInt(1, 0x7fffffff);
    while (this.#sessions.has(id));
    const session: FetchSession = { id, owner, epoch: 1, lastUsed: now, partitions: new Map(partitions.map((p) => [partitionKey(p.topic, p.partition), p])) };
    this.#sessions.set(id, session);
    return session;
  }
}

/** The epoch after `epoch` (Kafka's wraps to 1 after int32's maximum). */
export function nextEpoch(epoch: number): number {
  return epoch === 0x7fffffff ? 1 : epoch + 1;
}
