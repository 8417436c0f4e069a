/**
 * The message table, part 3: administration (topics, groups, the cluster), written from Kafka's
 * published message definitions like parts 1 and 2.
 */
import { api, arr, f } from './schema.js';

export const CreateTopics = api(19, 'CreateTopics', '0-7', '5+', [
  arr('topics', '0+', [
    f('name', 'string'),
    f('numPartitions', 'int32'),
    f('replicationFactor', 'int16'),
    arr('assignments', '0+', [f('partitionIndex', 'int32'), f('brokerIds', '[]int32')]),
    arr('configs', '0+', [f('name', 'string'), f('value', 'string', '0+', { nullable: '0+' })]),
  ]),
  f('timeoutMs', 'int32'),
  f('validateOnly', 'bool', '1+'),
], [
  f('throttleTimeMs', 'int32', '2+'),
  arr('topics', '0+', [
    f('name', 'string'),
    f('topicId', 'uuid', '7+'),
    f('errorCode', 'int16'),
    f('errorMessage', 'string', '1+', { nullable: '1+', default: null }),
    f('topicConfigErrorCode', 'int16', '5+', { tag: 0, default: 0 }),
    f('numPartitions', 'int32', '5+', { default: -1 }),
    f('replicationFactor', 'int16', '5+', { default: -1 }),
    arr('configs', '5+', [
      f('name', 'string', '5+'),
      f('value', 'string', '5+', { nullable: '5+' }),
      f('readOnly', 'bool', '5+'),
      f('configSource', 'int8', '5+', { default: -1 }),
      f('isSensitive', 'bool', '5+'),
    ], { nullable: '5+', default: null }),
  ]),
]);

export const DeleteTopics = api(20, 'DeleteTopics', '0-5', '4+', [
  f('topicNames', '[]string'),
  f('timeoutMs', 'int32'),
], [
  f('throttleTimeMs', 'int32', '1+'),
  arr('responses', '0+', [f('name', 'string'), f('errorCode', 'int16'), f('errorMessage', 'string', '5+', { nullable: '5+', default: null })]),
]);

export const CreatePartitions = api(37, 'CreatePartitions', '0-3', '2+', [
  arr('topics', '0+', [
    f('name', 'string'),
    f('count', 'int32'),
    arr('assignments', '0+', [f('brokerIds', '[]int32')], { nullable: '0+', default: null }),
  ]),
  f('timeoutMs', 'int32'),
  f('validateOnly', 'bool'),
], [
  f('throttleTimeMs', 'int32'),
  arr('results', '0+', [f('name', 'string'), f('errorCode', 'int16'), f('errorMessage', 'string', '0+', { nullable: '0+', default: null })]),
]);

export const ListGroups = api(16, 'ListGroups', '0-4', '3+', [
  f('statesFilter', '[]string', '4+'),
], [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16'),
  arr('groups', '0+', [f('groupId', 'string'), f('protocolType', 'string'), f('groupState', 'string', '4+')]),
]);

export const DescribeGroups = api(15, 'DescribeGroups', '0-5', '5+', [
  f('groups', '[]string'),
  f('includeAuthorizedOperations', 'bool', '3+'),
], [
  f('throttleTimeMs', 'int32', '1+'),
  arr('groups', '0+', [
    f('errorCode', 'int16'),
    f('groupId', 'string'),
    f('groupState', 'string'),
    f('protocolType', 'string'),
    f('protocolData', 'string'),
    arr('members', '0+', [
      f('memberId', 'string'),
      f('groupInstanceId', 'string', '4+', { nullable: '4+', default: null }),
      f('clientId', 'string'),
      f('clientHost', 'string'),
      f('memberMetadata', 'bytes'),
      f('memberAssignment', 'bytes'),
    ]),
    f('authorizedOperations', 'int32', '3+', { default: -2147483648 }),
  ]),
]);

export const DeleteGroups = api(42, 'DeleteGroups', '0-2', '2+', [
  f('groupsNames', '[]string'),
], [
  f('throttleTimeMs', 'int32'),
  arr('results', '0+', [f('groupId', 'string'), f('errorCode', 'int16')]),
]);

export const DescribeCluster = api(60, 'DescribeCluster', '0-0', '0+', [
  f('includeClusterAuthorizedOperations', 'bool'),
], [
  f('throttleTimeMs', 'int32'),
  f('errorCode', 'int16'),
  f('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
  f('clusterId', 'string'),
  f('controllerId', 'int32', '0+', { default: -1 }),
  arr('brokers', '0+', [f('brokerId', 'int32'), f('host', 'string'), f('port', 'int32'), f('rack', 'string', '0+', { nullable: '0+', default: null })]),
  f('clusterAuthorizedOperations', 'int32', '0+', { default: -2147483648 }),
]);

export const SaslHandshake = api(17, 'SaslHandshake', '0-1', null, [
  f('mechanism', 'string'),
], [
  f('errorCode', 'int16'),
  f('mechanisms', '[]string'),
]);

export const SaslAuthenticate = api(36, 'SaslAuthenticate', '0-2', '2+', [
  f('authBytes', 'bytes'),
], [
  f('errorCode', 'int16'),
  f('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
  f('authBytes', 'bytes', '0+', { default: Buffer.alloc(0) }),
  f('sessionLifetimeMs', 'int64', '1+'),
]);
