/**
 * @webka/client: Webka's isomorphic SDK. It uses only fetch, streams, AbortController and
 * TextEncoder/TextDecoder, so it runs in browsers, Node 20+, Deno, Bun and edge runtimes.
 * docs/sdk.md is the guide.
 */
export { Webka, type WebkaOptions, type FetchedRecords, type FetchRecordsOptions } from './webka.js';
export { TopicFollower, type TopicFollowerOptions } from './topic-follower.js';
export { DurableStream, DurableStreamFollower, STREAM_START, type StreamChunk, type StreamFollowerOptions } from './durable-stream.js';
export { Producer, type ProducerOptions } from './producer.js';
export { TransactionalProducer, type TransactionalProducerOptions, type TransactionState, type TransactionDescription, type GroupPosition, type OffsetsSource } from './transactional-producer.js';
export { Consumer, type ConsumerOptions } from './consumer.js';
export { PartitionConsumer, type PartitionConsumerOptions, type StartPosition } from './partition-consumer.js';
export { Admin, type ClusterInfo, type TopicInfo, type TopicDescription, type PartitionInfo, type CreateTopic, type GroupDescription, type GroupSummary, type GroupOffset, type GroupState, type ResetOffsets, type ResetOffsetsResult, type BrokerInfo, type TopicConfigDoc, type Operation, type StreamInfo, type Reassignment, type PreferredLeaderResult, type DrainStatus } from './admin.js';
export { SecurityAdmin, type Principal, type ApiKeyInfo, type NewApiKey, type Acl, type AclOperation, type ResourcePattern, type TokenGrant, type MintedToken, type WhoAmI } from './security-admin.js';
export { WebkaError, CLIENT_ERROR_CODES, type ClientErrorCode, type WebkaErrorCode } from './errors.js';
export { HttpClient, type FetchFn } from './http-client.js';
export { readSse, type SseMessage } from './sse-reader.js';
export type { ProducerRecord, RecordMetadata, ConsumerRecord, TopicPartition, TopicPartitionOffset, ValueFormat, Headers, Isolation } from './types.js';
export { ERROR_CODES, type ErrorCode } from '@webka/protocol/errors';
