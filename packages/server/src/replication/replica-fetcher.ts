/**
 * This broker following one partition's leader in one leader epoch: it fetches from the leader's
 * end of its copy (on the replica channel to the leader, replica-channel.ts), appends the leader's batches as they are
 * (same offsets, same bytes, so the same CRCs), fsyncs them, and reports its durable end with the
 * next fetch; the leader's high watermark, sent with every answer, bounds what readers of this
 * copy see.
 *
 *   loop: fetch {offset: LEO, durableEnd, leaderEpoch: E} on the channel to the leader
 *         -> append bytes -> fsync -> log.setReplicaLimit(leader's high watermark) -> loop
 *
 * Created by the ReplicaManager when the partition state names this broker a follower; stop()ped
 * when the state moves on. One fetch is in flight at a time.
 */
import type { Partition, ReplicaHooks } from '../partitions/partition.js';
import { WebkaError } from '../errors.js';
import { writtenNotCommitted } from './partition-leader.js';
import { brokerGet, jsonOf } from './broker-http.js';
import { ChannelFetchError, type ChannelAnswer, type ReplicaChannels } from './replica-channel.js';

export const REPLICA_FETCH_MAX_WAIT_MS = 500;
/** What one fetch answers at most (the leader's default for its HTTP fetch route too). */
const REPLICA_FETCH_MAX_BYTES = 1 << 20;
const RETRY_MS = 200;

export interface FetcherContext {
  nodeId: number;
  /** The URL of a live broker, or undefined while it is not registered. */
  brokerUrl(nodeId: number): Promise<string | undefined>;
  onWarning(message: string, details?: Record<string, unknown>): void;
  /** Headers that authenticate this broker to the leader (the inter-broker credential). */
  headers: Record<string, string>;
  /** This broker's channels to the leaders it follows: the fetches go there. */
  channels: ReplicaChannels;
}

export class ReplicaFetcher implements ReplicaHooks {
  readonly #stop = new AbortController();
  #running: Promise<void> | null = null;

  constructor(
    readonly partition: Partition,
    readonly topicId: string,
    readonly leader: number,
    readonly leaderEpoch: number,
    readonly ctx: FetcherContext,
  ) {}

  readonly leads = false;

  checkAppend(): void {
    throw new WebkaError('NOT_LEADER', `broker ${this.ctx.nodeId} follows partition ${this.partition.index}; its leader is broker ${this.leader}`, { leader: this.leader });
  }

  /** Only asked after an append that this broker took while it led: it now follows. */
  awaitCommitted(): Promise<void> {
    return Promise.reject(writtenNotCommitted(this.ctx.nodeId, this.partition.index, this.leader));
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const log = this.partition.log;
    let warned = false;
    let url: string | undefined;
    let reconciled = false;
    while (!signal.aborted && !this.partition.closed) {
      try {
        url ??= await this.ctx.brokerUrl(this.leader);
        if (url === undefined) throw new Error(`leader ${this.leader} is not registered`);
        if (!reconciled) {
          await this.#truncateToLeader(url, signal);
          reconciled = true;
        }
        let a: ChannelAnswer;
        try {
          a = await this.ctx.channels.fetch(url, { topicId: this.topicId, partition: this.partition.index, offset: log.nextOffset, durableEnd: log.durableOffset, leaderEpoch: this.leaderEpoch, maxWaitMs: REPLICA_FETCH_MAX_WAIT_MS, maxBytes: REPLICA_FETCH_MAX_BYTES }, signal, REPLICA_FETCH_MAX_WAIT_MS + 10_000);
        } catch (err) {
          // past the leader's end: this copy holds batches the leader does not; reconcile again
          if (err instanceof ChannelFetchError) {
            if (err.code === 'OFFSET_OUT_OF_RANGE') reconciled = false;
            throw new Error(`leader ${this.leader} answered ${err.code}: ${err.message}`);
          }
          throw err;
        }
        const highWatermark = a.highWatermark;
        const bytes = a.data;
        if (signal.aborted) return;
        if (bytes.length > 0) {
          this.partition.appendReplicated(bytes);
          await log.flush();
        }
        if (Number.isSafeInteger(highWatermark)) log.setReplicaLimit(highWatermark);
        warned = false;
      } catch (err) {
        if (signal.aborted || this.partition.closed) return;
        url = undefined;
        if (!warned) this.ctx.onWarning('fetching from the partition leader failed; retrying', { topicId: this.topicId, partition: this.partition.index, leader: this.leader, error: (err as Error).message });
        warned = true;
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  }

  /**
   * KIP-101: asks the leader where this copy's last epoch ends on its side and cuts this copy
   * there, so that batches an old leader wrote and the new one never had are gone before
   * fetching (the replicas never diverge).
   */
  async #truncateToLeader(url: string, signal: AbortSignal): Promise<void> {
    const log = this.partition.log;
    if (log.nextOffset === log.logStartOffset) return;
    const epoch = log.lastLeaderEpoch();
    const q = new URLSearchParams({ epoch: String(epoch), leaderEpoch: String(this.leaderEpoch) });
    const res = await brokerGet(`${url}/v1/internal/replicas/${this.topicId}/${this.partition.index}/epoch-end?${q}`, this.ctx.headers, signal, 10_000);
    const body = jsonOf<{ endOffset?: number; error?: { code?: string; message?: string } }>(res);
    if (res.status !== 200 || typeof body?.endOffset !== 'number') throw new Error(`leader ${this.leader} answered ${res.status} to the epoch query: ${body?.error?.message ?? ''}`);
    if (body.endOffset < log.nextOffset) {
      this.ctx.onWarning('truncating a follower copy to its leader\'s end of its last epoch', { topicId: this.topicId, partition: this.partition.index, epoch, from: log.nextOffset, to: body.endOffset });
      await this.partition.truncateTo(Math.max(body.endOffset, log.logStartOffset));
    }
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }
}
