/**
 * The message table, part 5: configs (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs),
 * written from Kafka's published message definitions like parts 1 to 4.
 */
import { api, arr, f } from './schema.js';

const resource = [f('resourceType', 'int8'), f('resourceName', 'string')];
const alterResponse = [
  f('throttleTimeMs', 'int32'),
  arr('responses', '0+', [f('errorCode', 'int16'), f('errorMessage', 'string', '0+', { nullable: '0+', default: null }), ...resource]),
];

export const DescribeConfigs = api(32, 'DescribeConfigs', '0-4', '4+', [
  arr('resources', '0+', [...resource, f('configurationKeys', '[]string', '0+', { nullable: '0+' })]),
  f('includeSynonyms', 'bool', '1+'),
  f('includeDocumentation', 'bool', '3+'),
], [
  f('throttleTimeMs', 'int32'),
  arr('results', '0+', [
    f('errorCode', 'int16'),
    f('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
    ...resource,
    arr('configs', '0+', [
      f('name', 'string'),
      f('value', 'string', '0+', { nullable: '0+' }),
      f('readOnly', 'bool'),
      f('isDefault', 'bool', '0'),
      f('configSource', 'int8', '1+', { default: -1 }),
      f('isSensitive', 'bool'),
      arr('synonyms', '1+', [f('name', 'string', '1+'), f('value', 'string', '1+', { nullable: '1+' }), f('source', 'int8', '1+')]),
      f('configType', 'int8', '3+', { default: 0 }),
      f('documentation', 'string', '3+', { nullable: '0+', default: null }),
    ]),
  ]),
]);

export const AlterConfigs = api(33, 'AlterConfigs', '0-2', '2+', [
  arr('resources', '0+', [...resource, arr('configs', '0+', [f('name', 'string'), f('value', 'string', '0+', { nullable: '0+' })])]),
  f('validateOnly', 'bool'),
], alterResponse);

export const IncrementalAlterConfigs = api(44, 'IncrementalAlterConfigs', '0-1', '1+', [
  arr('resources', '0+', [...resource, arr('configs', '0+', [f('name', 'string'), f('configOperation', 'int8'), f('value', 'string', '0+', { nullable: '0+' })])]),
  f('validateOnly', 'bool'),
], alterResponse);
