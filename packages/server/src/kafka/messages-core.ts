/**
 * The message table, part 1: the APIs a producer and a plain consumer use. Each entry is
 * written from Kafka's published message definitions (the specification's facts: field names,
 * types and the versions each exists in); api() records the versions Webka serves and where
 * flexible versions start. Field names are Kafka's, in camelCase.
 */
import { api, arr, f, struct } from './schema.js';

export const ApiVersions = api(18, 'ApiVersions', '0-3', '3+', [
  f('clientSoftwareName', 'string', '3+'),
  f('clientSoftwareVersion', 'string', '3+'),
], [
  f('errorCode', 'int16'),
  arr('apiKeys', '0+', [f('apiKey', 'int16'), f('minVersion', 'int16'), f('maxVersion', 'int16')]),
  f('throttleTimeMs', 'int32', '1+'),
]);

export const Metadata = api(3, 'Metadata', '0-12', '9+', [
  arr('topics', '0+', [
    f('topicId', 'uuid', '10+'),
    f('name', 'string', '0+', { nullable: '10+' }),
  ], { nullable: '1+' }),
  f('allowAutoTopicCreation', 'bool', '4+', { default: true }),
  f('includeClusterAuthorizedOperations', 'bool', '8-10'),
  f('includeTopicAuthorizedOperations', 'bool', '8+'),
], [
  f('throttleTimeMs', 'int32', '3+'),
  arr('brokers', '0+', [
    f('nodeId', 'int32'),
    f('host', 'string'),
    f('port', 'int32'),
    f('rack', 'string', '1+', { nullable: '1+', default: null }),
  ]),
  f('clusterId', 'string', '2+', { nullable: '2+', default: null }),
  f('controllerId', 'int32', '1+', { default: -1 }),
  arr('topics', '0+', [
    f('errorCode', 'int16'),
    f('name', 'string', '0+', { nullable: '12+' }),
    f('topicId', 'uuid', '10+'),
    f('isInternal', 'bool', '1+'),
    arr('partitions', '0+', [
      f('errorCode', 'int16'),
      f('partitionIndex', 'int32'),
      f('leaderId', 'int32'),
      f('leaderEpoch', 'int32', '7+', { default: -1 }),
      f('replicaNodes', '[]int32'),
      f('isrNodes', '[]int32'),
      f('offlineReplicas', '[]int32', '5+'),
    ]),
    f('topicAuthorizedOperations', 'int32', '8+', { default: -2147483648 }),
  ]),
  f('clusterAuthorizedOperations', 'int32', '8-10', { default: -2147483648 }),
]);

export const Produce = api(0, 'Produce', '0-9', '9+', [
  f('transactionalId', 'string', '3+', { nullable: '3+', default: null }),
  f('acks', 'int16'),
  f('timeoutMs', 'int32'),
  arr('topicData', '0+', [
    f('name', 'string'),
    arr('partitionData', '0+', [f('index', 'int32'), f('records', 'records', '0+', { nullable: '0+' })]),
  ]),
], [
  arr('responses', '0+', [
    f('name', 'string'),
    arr('partitionResponses', '0+', [
      f('index', 'int32'),
      f('errorCode', 'int16'),
      f('baseOffset', 'int64'),
      f('logAppendTimeMs', 'int64', '2+', { default: -1 }),
      f('logStartOffset', 'int64', '5+', { default: -1 }),
      arr('recordErrors', '8+', [f('batchIndex', 'int32', '8+'), f('batchIndexErrorMessage', 'string', '8+', { nullable: '8+', default: null })]),
      f('errorMessage', 'string', '8+', { nullable: '8+', default: null }),
    ]),
  ]),
  f('throttleTimeMs', 'int32', '1+'),
]);

export const Fetch = api(1, 'Fetch', '4-13', '12+', [
  f('clusterId', 'string', '12+', { nullable: '12+', tag: 0, default: null }),
  f('replicaId', 'int32'),
  f('maxWaitMs', 'int32'),
  f('minBytes', 'int32'),
  f('maxBytes', 'int32', '3+', { default: 0x7fffffff }),
  f('isolationLevel', 'int8', '4+'),
  f('sessionId', 'int32', '7+'),
  f('sessionEpoch', 'int32', '7+', { default: -1 }),
  arr('topics', '0+', [
    f('topic', 'string', '0-12'),
    f('topicId', 'uuid', '13+'),
    arr('partitions', '0+', [
      f('partition', 'int32'),
      f('currentLeaderEpoch', 'int32', '9+', { default: -1 }),
      f('fetchOffset', 'int64'),
      f('lastFetchedEpoch', 'int32', '12+', { default: -1 }),
      f('logStartOffset', 'int64', '5+', { default: -1 }),
      f('partitionMaxBytes', 'int32'),
    ]),
  ]),
  arr('forgottenTopicsData', '7+', [f('topic', 'string', '7-12'), f('topicId', 'uuid', '13+'), f('partitions', '[]int32', '7+')]),
  f('rackId', 'string', '11+'),
], [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16', '7+'),
  f('sessionId', 'int32', '7+'),
  arr('responses', '0+', [
    f('topic', 'string', '0-12'),
    f('topicId', 'uuid', '13+'),
    arr('partitions', '0+', [
      f('partitionIndex', 'int32'),
      f('errorCode', 'int16'),
      f('highWatermark', 'int64'),
      f('lastStableOffset', 'int64', '4+', { default: -1 }),
      f('logStartOffset', 'int64', '5+', { default: -1 }),
      struct('divergingEpoch', '12+', [f('epoch', 'int32', '12+', { default: -1 }), f('endOffset', 'int64', '12+', { default: -1 })], { tag: 0 }),
      struct('currentLeader', '12+', [f('leaderId', 'int32', '12+', { default: -1 }), f('leaderEpoch', 'int32', '12+', { default: -1 })], { tag: 1 }),
      arr('abortedTransactions', '4+', [f('producerId', 'int64', '4+'), f('firstOffset', 'int64', '4+')], { nullable: '4+', default: null }),
      f('preferredReadReplica', 'int32', '11+', { default: -1 }),
      f('records', 'records', '0+', { nullable: '0+' }),
    ]),
  ]),
]);

export const ListOffsets = api(2, 'ListOffsets', '0-7', '6+', [
  f('replicaId', 'int32'),
  f('isolationLevel', 'int8', '2+'),
  arr('topics', '0+', [
    f('name', 'string'),
    arr('partitions', '0+', [
      f('partitionIndex', 'int32'),
      f('currentLeaderEpoch', 'int32', '4+', { default: -1 }),
      f('timestamp', 'int64'),
      f('maxNumOffsets', 'int32', '0-0', { default: 1 }),
    ]),
  ]),
], [
  f('throttleTimeMs', 'int32', '2+'),
  arr('topics', '0+', [
    f('name', 'string'),
    arr('partitions', '0+', [
      f('partitionIndex', 'int32'),
      f('errorCode', 'int16'),
      f('oldStyleOffsets', '[]int64', '0-0'),
      f('timestamp', 'int64', '1+', { default: -1 }),
      f('offset', 'int64', '1+', { default: -1 }),
      f('leaderEpoch', 'int32', '4+', { default: -1 }),
    ]),
  ]),
]);

export const OffsetForLeaderEpoch = api(23, 'OffsetForLeaderEpoch', '0-4', '4+', [
  f('replicaId', 'int32', '3+', { default: -2 }),
  arr('topics', '0+', [
    f('topic', 'string'),
    arr('partitions', '0+', [
      f('partition', 'int32'),
      f('currentLeaderEpoch', 'int32', '2+', { default: -1 }),
      f('leaderEpoch', 'int32'),
    ]),
  ]),
], [
  f('throttleTimeMs', 'int32', '2+'),
  arr('topics', '0+', [
    f('topic', 'string'),
    arr('partitions', '0+', [
      f('errorCode', 'int16'),
      f('partition', 'int32'),
      f('leaderEpoch', 'int32', '1+', { default: -1 }),
      f('endOffset', 'int64', '0+', { default: -1 }),
    ]),
  ]),
]);

export const InitProducerId = api(22, 'InitProducerId', '0-4', '2+', [
  f('transactionalId', 'string', '0+', { nullable: '0+', default: null }),
  f('transactionTimeoutMs', 'int32'),
  f('producerId', 'int64', '3+', { default: -1 }),
  f('producerEpoch', 'int16', '3+', { default: -1 }),
], [
  f('throttleTimeMs', 'int32'),
  f('errorCode', 'int16'),
  f('producerId', 'int64', '0+', { default: -1 }),
  f('producerEpoch', 'int16', '0+', { default: -1 }),
]);
