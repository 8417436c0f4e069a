/**
 * The message table, part 2: consumer groups (Kafka's classic protocol) and committed offsets,
 * written from Kafka's published message definitions like part 1.
 */
import { api, arr, f } from './schema.js';

export const FindCoordinator = api(10, 'FindCoordinator', '0-4', '3+', [
  f('key', 'string', '0-3'),
  f('keyType', 'int8', '1+'),
  f('coordinatorKeys', '[]string', '4+'),
], [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16', '0-3'),
  f('errorMessage', 'string', '1-3', { nullable: '1-3', default: null }),
  f('nodeId', 'int32', '0-3'),
  f('host', 'string', '0-3'),
  f('port', 'int32', '0-3'),
  arr('coordinators', '4+', [
    f('key', 'string', '4+'),
    f('nodeId', 'int32', '4+'),
    f('host', 'string', '4+'),
    f('port', 'int32', '4+'),
    f('errorCode', 'int16', '4+'),
    f('errorMessage', 'string', '4+', { nullable: '4+', default: null }),
  ]),
]);

export const JoinGroup = api(11, 'JoinGroup', '0-7', '6+', [
  f('groupId', 'string'),
  f('sessionTimeoutMs', 'int32'),
  f('rebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
  f('memberId', 'string'),
  f('groupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
  f('protocolType', 'string'),
  arr('protocols', '0+', [f('name', 'string'), f('metadata', 'bytes')]),
], [
  f('throttleTimeMs', 'int32', '2+'),
  f('errorCode', 'int16'),
  f('generationId', 'int32', '0+', { default: -1 }),
  f('protocolType', 'string', '7+', { nullable: '7+', default: null }),
  f('protocolName', 'string', '0+', { nullable: '7+' }),
  f('leader', 'string'),
  f('memberId', 'string'),
  arr('members', '0+', [
    f('memberId', 'string'),
    f('groupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
    f('metadata', 'bytes'),
  ]),
]);

export const SyncGroup = api(14, 'SyncGroup', '0-5', '4+', [
  f('groupId', 'string'),
  f('generationId', 'int32'),
  f('memberId', 'string'),
  f('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
  f('protocolType', 'string', '5+', { nullable: '5+', default: null }),
  f('protocolName', 'string', '5+', { nullable: '5+', default: null }),
  arr('assignments', '0+', [f('memberId', 'string'), f('assignment', 'bytes')]),
], [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16'),
  f('protocolType', 'string', '5+', { nullable: '5+', default: null }),
  f('protocolName', 'string', '5+', { nullable: '5+', default: null }),
  f('assignment', 'bytes'),
]);

export const Heartbeat = api(12, 'Heartbeat', '0-4', '4+', [
  f('groupId', 'string'),
  f('generationId', 'int32'),
  f('memberId', 'string'),
  f('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
], [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16'),
]);

export const LeaveGroup = api(13, 'LeaveGroup', '0-4', '4+', [
  f('groupId', 'string'),
  f('memberId', 'string', '0-2'),
  arr('members', '3+', [
    f('memberId', 'string', '3+'),
    f('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
  ]),
], [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16'),
  arr('members', '3+', [
    f('memberId', 'string', '3+'),
    f('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
    f('errorCode', 'int16', '3+'),
  ]),
]);

export const OffsetCommit = api(8, 'OffsetCommit', '0-8', '8+', [
  f('groupId', 'string'),
  f('generationId', 'int32', '1+', { default: -1 }),
  f('memberId', 'string', '1+'),
  f('groupInstanceId', 'string', '7+', { nullable: '7+', default: null }),
  f('retentionTimeMs', 'int64', '2-4', { default: -1 }),
  arr('topics', '0+', [
    f('name', 'string'),
    arr('partitions', '0+', [
      f('partitionIndex', 'int32'),
      f('committedOffset', 'int64'),
      f('committedLeaderEpoch', 'int32', '6+', { default: -1 }),
      f('commitTimestamp', 'int64', '1-1', { default: -1 }),
      f('committedMetadata', 'string', '0+', { nullable: '0+' }),
    ]),
  ]),
], [
  f('throttleTimeMs', 'int32', '3+'),
  arr('topics', '0+', [
    f('name', 'string'),
    arr('partitions', '0+', [f('partitionIndex', 'int32'), f('errorCode', 'int16')]),
  ]),
]);

const offsetFetchPartition = (v: string) => [
  f('partitionIndex', 'int32', v),
  f('committedOffset', 'int64', v),
  f('committedLeaderEpoch', 'int32', v === '0-7' ? '5-7' : v, { default: -1 }),
  f('metadata', 'string', v, { nullable: v }),
  f('errorCode', 'int16', v),
];

export const OffsetFetch = api(9, 'OffsetFetch', '0-8', '6+', [
  f('groupId', 'string', '0-7'),
  arr('topics', '0-7', [f('name', 'string', '0-7'), f('partitionIndexes', '[]int32', '0-7')], { nullable: '2-7' }),
  arr('groups', '8+', [
    f('groupId', 'string', '8+'),
    arr('topics', '8+', [f('name', 'string', '8+'), f('partitionIndexes', '[]int32', '8+')], { nullable: '8+' }),
  ]),
  f('requireStable', 'bool', '7+'),
], [
  f('throttleTimeMs', 'int32', '3+'),
  arr('topics', '0-7', [f('name', 'string', '0-7'), arr('partitions', '0-7', offsetFetchPartition('0-7'))]),
  f('errorCode', 'int16', '2-7'),
  arr('groups', '8+', [
    f('groupId', 'string', '8+'),
    arr('topics', '8+', [f('name', 'string', '8+'), arr('partitions', '8+', offsetFetchPartition('8+'))]),
    f('errorCode', 'int16', '8+'),
  ]),
]);
