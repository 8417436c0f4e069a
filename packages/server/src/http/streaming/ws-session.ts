/**
 * One WebSocket at /v1/ws: reads client frames, answers each request with its id, and pushes the
 * records of its subscriptions. Created by ws-route.ts when a socket opens; ends when the socket
 * closes (every subscription closes with it) or the broker shuts down (close code 1001).
 *
 * Backpressure, both ways:
 * - out: a subscription stops reading the log while the socket's bufferedAmount is above
 *   wsBufferHighWaterBytes; the send callback of the frames in that buffer resumes it.
 * - in: at most MAX_IN_FLIGHT requests are worked on at once (a produce waits for fsync), and
 *   answers count against the send buffer like pushed records: while either is full the session
 *   stops reading the socket, so a client that sends (even invalid frames) without reading what it
 *   is sent cannot queue work or answers without bound.
 */
import type { WebSocket, RawData } from 'ws';
import type { FastifyBaseLogger } from 'fastify';
import {
  WS_CLOSE_GOING_AWAY,
  type ClientFrame,
  type CommitFrame,
  type AckFrame,
  type RequestId,
  type SubscribeGroupFrame,
  type SubscribeTopicFrame,
} from '@webka/protocol';
import type { AppContext } from '../app.js';
import type { Acks } from '../../broker.js';
import { WebkaError } from '../../errors.js';
import { toWebkaError } from '../error-handler.js';
import { redactSecrets } from '../../auth/secrets.js';
import { parseFrame, produceRecords, readProduceFrame, type ProduceRequest } from './ws-frames.js';
import { subscribeTopic, type Subscription, type SubscriptionOutlet } from './ws-subscription.js';
import type { StreamingHub } from './streaming-hub.js';
import type { FrameAccess } from '../plugins/frame-access.js';

const MAX_IN_FLIGHT = 64;

/** Group subscriptions (ws-group.ts over the group coordinator; see streaming-hub.ts). */
export interface GroupSubscriber {
  subscribe(id: string, frame: SubscribeGroupFrame, outlet: SubscriptionOutlet, caller: GroupCaller): Promise<GroupSubscription>;
}
/** Who subscribes: the member joined belongs to principal; a member followed by id must be its. */
export interface GroupCaller {
  host: string;
  principal: string;
  /** Leaves out topics the socket's principal may not read (a pattern's matches, later revocations). */
  canRead?: (topic: string) => boolean;
}
export interface GroupSubscription extends Subscription {
  commit(frame: CommitFrame): Promise<void>;
  ack(frame: AckFrame): Promise<void>;
}

function errorFrame(id: RequestId | null | undefined, err: WebkaError, subscription?: string): string {
  return JSON.stringify({ type: 'error', id: id ?? null, ...(subscription === undefined ? {} : { subscription }), error: { code: err.code, message: redactSecrets(err.message), ...err.details } });
}

export class WsSession implements SubscriptionOutlet {
  #socket: WebSocket;
  #ctx: AppContext;
  #hub: StreamingHub;
  #log: FastifyBaseLogger;
  #clientHost: string;
  #subs = new Map<string, Subscription>();
  /** Subscriptions counted against the limit while they are being set up (a group join waits). */
  #reservedSubs = 0;
  #nextSub = 1;
  #inFlight = 0;
  #readPaused = false;
  #writableWaiters: Array<() => void> = [];
  #closed = false;
  #forget: () => void;
  #afterSend = (): void => {
    this.#checkWritable();
    this.#updateReading();
  };
  #access: FrameAccess | undefined;

  constructor(socket: WebSocket, ctx: AppContext, hub: StreamingHub, log: FastifyBaseLogger, clientHost: string, access?: FrameAccess) {
    this.#access = access;
    this.#socket = socket;
    this.#ctx = ctx;
    this.#hub = hub;
    this.#log = log;
    this.#clientHost = clientHost;
    this.#forget = hub.addClosable(this);
    socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    socket.on('close', () => this.#onClose());
    this.#send(JSON.stringify({ type: 'hello', limits: { maxFrameBytes: hub.config.maxFrameBytes, maxSubscriptions: hub.config.maxSubscriptionsPerSocket } }));
  }

  /** Characters of pushed frames handed to the socket (for tests and metrics). */
  pushedChars = 0;

  /** Bytes waiting to be sent on the socket. */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  get subscriptions(): number {
    return this.#subs.size;
  }

  shutdown(): void {
    this.#socket.close(WS_CLOSE_GOING_AWAY, 'the broker is shutting down');
    this.#onClose();
  }

  // ---- SubscriptionOutlet

  push(text: string): boolean {
    if (this.#closed) return false;
    this.pushedChars += text.length;
    this.#socket.send(text, this.#afterSend);
    return this.#socket.bufferedAmount <= this.#hub.config.wsBufferHighWaterBytes;
  }

  whenWritable(resume: () => void): void {
    this.#writableWaiters.push(resume);
  }

  failed(subscription: string, err: WebkaError): void {
    const sub = this.#subs.get(subscription);
    if (sub === undefined) return;
    this.#subs.delete(subscription);
    sub.close();
    this.#send(errorFrame(null, err, subscription));
  }

  // ---- internals

  #send(text: string): void {
    if (!this.#closed) this.#socket.send(text, this.#afterSend);
  }

  /** Every frame's send callback: once the buffer is under the threshold, paused subscriptions go on. */
  #checkWritable(): void {
    if (this.#writableWaiters.length === 0 || this.#closed) return;
    if (this.#socket.bufferedAmount > this.#hub.config.wsBufferHighWaterBytes) return;
    const waiters = this.#writableWaiters;
    this.#writableWaiters = [];
    for (const w of waiters) w();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forget();
    for (const s of this.#subs.values()) s.close();
    this.#subs.clear();
    this.#writableWaiters.length = 0;
  }

  /**
   * Stops reading the socket while MAX_IN_FLIGHT requests are being worked on or more than
   * wsBufferHighWaterBytes wait to be sent; reads again once both have fallen (in flight to half).
   */
  #updateReading(): void {
    if (this.#closed) return;
    const full = this.#socket.bufferedAmount > this.#hub.config.wsBufferHighWaterBytes;
    if (!this.#readPaused && (full || this.#inFlight >= MAX_IN_FLIGHT)) {
      this.#readPaused = true;
      this.#socket.pause();
    } else if (this.#readPaused && !full && this.#inFlight < MAX_IN_FLIGHT / 2) {
      this.#readPaused = false;
      this.#socket.resume();
    }
  }

  /** Sends the answer to a client frame (or its error frame), then checks the reading budget. */
  #answer(text: string): void {
    this.#send(text);
    this.#updateReading();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    if (isBinary) {
      this.#answer(errorFrame(null, new WebkaError('INVALID_REQUEST', 'frames are JSON text; binary frames are not accepted')));
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    // a produce frame is read in one pass over its bytes where it can be (ws-frames.ts)
    const scanned = readProduceFrame(bytes, this.#ctx.config.maxRecordsPerRequest);
    let frame: ClientFrame;
    if (scanned !== null) frame = scanned.frame;
    else {
      const parsed = parseFrame(bytes.toString('utf8'));
      if (!parsed.ok) {
        this.#answer(errorFrame(parsed.id, parsed.error));
        return;
      }
      frame = parsed.frame;
    }
    this.#inFlight++;
    this.#updateReading();
    this.#handle(frame, scanned ?? undefined)
      .then(
        (answer) => answer,
        (e: unknown) => {
          const err = toWebkaError(e);
          if (err.code === 'INTERNAL') this.#log.error({ err: e, frame: frame.type }, 'websocket request failed');
          return errorFrame(frame.id, err);
        },
      )
      .then((answer) => {
        this.#inFlight--;
        this.#answer(answer);
      });
  }

  /** Runs one request; resolves to the answer frame's text, or rejects with the error to send. */
  async #handle(frame: ClientFrame, scanned?: ProduceRequest): Promise<string> {
    if (this.#hub.stopping) throw new WebkaError('SHUTTING_DOWN', 'the broker is shutting down');
    // Each frame names its own topic or group: authorised like the REST route that does the same.
    this.#access?.check(frame as Parameters<FrameAccess['check']>[0]);
    switch (frame.type) {
      case 'ping':
        return JSON.stringify({ type: 'pong', id: frame.id });
      case 'produce':
        return this.#produce(scanned ?? produceRecords(frame, this.#ctx.config.maxRecordsPerRequest));
      case 'subscribe':
        return 'group' in frame ? this.#subscribeGroup(frame) : this.#subscribeTopic(frame);
      case 'unsubscribe': {
        const sub = this.#subs.get(frame.subscription);
        if (sub === undefined) throw new WebkaError('NOT_FOUND', `this socket has no subscription ${JSON.stringify(frame.subscription)}`);
        this.#subs.delete(frame.subscription);
        sub.close();
        return JSON.stringify({ type: 'unsubscribed', id: frame.id, subscription: frame.subscription });
      }
      case 'commit':
        await this.#group(frame.subscription).commit(frame);
        return JSON.stringify({ type: 'committed', id: frame.id });
      case 'ack':
        await this.#group(frame.subscription).ack(frame);
        return JSON.stringify({ type: 'acked', id: frame.id });
    }
  }

  async #produce({ frame, records, producer }: ProduceRequest): Promise<string> {
    const results = await this.#ctx.broker.produce(frame.cluster, frame.topic, records, { acks: (frame.acks ?? 'all') as Acks, producer, caller: this.#access?.caller });
    return JSON.stringify({ type: 'produced', id: frame.id, records: results });
  }

  /**
   * Takes one place under maxSubscriptionsPerSocket and runs `open` for it. The place is held from
   * the check until the subscription is in the map or has failed, so subscribe frames that arrive
   * while a group join waits cannot pass the limit together.
   */
  async #withSubscriptionPlace(open: (id: string) => Subscription | Promise<Subscription>): Promise<string> {
    const max = this.#hub.config.maxSubscriptionsPerSocket;
    const held = this.#subs.size + this.#reservedSubs;
    if (held >= max) {
      throw new WebkaError('TOO_MANY_REQUESTS', `this socket already has ${held} subscriptions, the limit (maxSubscriptionsPerSocket); unsubscribe first`, { limit: max });
    }
    const id = `s${this.#nextSub++}`;
    this.#reservedSubs++;
    try {
      const sub = await open(id);
      if (this.#closed) {
        sub.close();
        throw new WebkaError('SHUTTING_DOWN', 'the socket closed');
      }
      this.#subs.set(id, sub);
      return id;
    } finally {
      this.#reservedSubs--;
    }
  }

  async #subscribeTopic(frame: SubscribeTopicFrame): Promise<string> {
    // Answer before the first records frame: the subscription's reads start on a later turn.
    const id = await this.#withSubscriptionPlace((place) => subscribeTopic(this.#ctx.broker, place, frame, this, this.#hub.config.streamReadBytes, this.#access?.topicReader(frame.cluster)));
    return JSON.stringify({ type: 'subscribed', id: frame.id, subscription: id });
  }

  async #subscribeGroup(frame: SubscribeGroupFrame): Promise<string> {
    const groups = this.#hub.groups;
    if (groups === null) throw new WebkaError('NOT_FOUND', 'group subscriptions are not available on this broker');
    const id = await this.#withSubscriptionPlace((place) => groups.subscribe(place, frame, this, { host: this.#clientHost, principal: this.#access?.principal ?? 'anonymous', canRead: this.#access?.topicReader(frame.cluster) }));
    return JSON.stringify({ type: 'subscribed', id: frame.id, subscription: id });
  }

  #group(subscription: string): GroupSubscription {
    const sub = this.#subs.get(subscription);
    if (sub === undefined || !('commit' in sub)) throw new WebkaError('NOT_FOUND', `this socket has no group subscription ${JSON.stringify(subscription)}`);
    return sub as GroupSubscription;
  }
}
