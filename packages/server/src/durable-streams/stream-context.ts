/** What the Durable Streams routes share: the store, limits and the app's shutdown signal. */
import type { StreamStore } from './stream-store.js';
import type { ProducerBounds } from './stream-producer-id.js';

export interface StreamContext {
  store: StreamStore;
  /** How long a long-poll read waits before answering 204 (config streamLongPollMs). */
  longPollMs: number;
  /** About how many bytes one read response or SSE data event carries. */
  readBytes: number;
  /** SSE connections are closed after this long, so CDNs can collapse clients (protocol 8.2). */
  sseMaxMs: number;
  shutdown: AbortSignal;
  /** Producer state kept per stream (config streamMaxProducers, streamProducerExpiryMs). */
  producers: ProducerBounds;
}
