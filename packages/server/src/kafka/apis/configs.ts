/**
 * DescribeConfigs, AlterConfigs and IncrementalAlterConfigs over Webka's topic configs
 * (catalog/topic-config.ts, the same keys as `PATCH /v1/clusters/{c}/topics/{t}`). Only topic
 * resources (type 2) are served: a broker's or a broker logger's configs are not Webka settings
 * a client may read or change, and are answered INVALID_REQUEST. AlterConfigs replaces the
 * topic's overrides with those given (Kafka's rule: a key left out returns to its default);
 * IncrementalAlterConfigs sets (0) or deletes (1) single keys; APPEND and SUBTRACT (2, 3), for
 * list-valued keys, are refused since every Webka key holds one value. validateOnly checks
 * without changing anything.
 */
import { AlterConfigs, DescribeConfigs, IncrementalAlterConfigs } from '../messages-configs.js';
import { KafkaError, kafkaErrorCode } from '../error-codes.js';
import type { ApiHandler, KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import { TOPIC_CONFIGS, type ConfigValue, type EffectiveConfig } from '../../catalog/topic-config.js';
import type { Operation } from '../../auth/types.js';

const TOPIC = 2;
/** Kafka's ConfigSource: DYNAMIC_TOPIC_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG (the cluster's defaults), DEFAULT_CONFIG. */
const SOURCE: Record<EffectiveConfig['source'], number> = { topic: 1, cluster: 4, default: 5 };
/** Kafka's ConfigType: LONG, STRING. */
const TYPE = { long: 5, enum: 2 } as const;

/** Resolves a resource to a topic the principal may act on, or throws. */
function topicResource(ctx: KafkaContext, r: Message, op: Operation): string {
  if (r.resourceType !== TOPIC) throw new KafkaError('INVALID_REQUEST', `resource type ${r.resourceType} is not served: Webka has topic configs only (resource type 2)`);
  ctx.require(op, 'topic', r.resourceName);
  return r.resourceName;
}

const answer = (r: Message, err?: unknown): Message => ({
  errorCode: err === undefined ? 0 : kafkaErrorCode(err),
  errorMessage: err === undefined ? null : (err as Error).message,
  resourceType: r.resourceType,
  resourceName: r.resourceName,
});

export const describeConfigsHandler: ApiHandler = {
  def: DescribeConfigs,
  handle(ctx, req) {
    const results = (req.resources as Message[]).map((r) => {
      try {
        const topic = topicResource(ctx, r, 'describe');
        const effective = ctx.broker.describeTopic(ctx.settings.cluster, topic).configs;
        // Kafka answers only the keys it knows among those asked for
        const keys = ((r.configurationKeys as string[] | null) ?? Object.keys(effective)).filter((k) => k in effective);
        const configs = keys.map((name) => {
          const c = effective[name];
          const value = String(c.value);
          const source = SOURCE[c.source];
          return {
            name,
            value,
            readOnly: false,
            isDefault: c.source !== 'topic',
            configSource: source,
            isSensitive: false,
            synonyms: req.includeSynonyms ? [{ name, value, source }] : [],
            configType: TYPE[TOPIC_CONFIGS[name].type],
            documentation: req.includeDocumentation ? TOPIC_CONFIGS[name].doc : null,
          };
        });
        return { ...answer(r), configs };
      } catch (err) {
        return { ...answer(r, err), configs: [] };
      }
    });
    return { throttleTimeMs: 0, results };
  },
};

/** Applies (or, validateOnly, checks) one resource's changes: a key to its value, or null to drop the override. */
async function alterTopic(ctx: KafkaContext, r: Message, validateOnly: boolean, changes: (current: Record<string, ConfigValue>) => Record<string, string | null>): Promise<Message> {
  try {
    const topic = topicResource(ctx, r, 'alter');
    const names = (r.configs as Message[]).map((c) => c.name as string);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new KafkaError('INVALID_REQUEST', `config "${twice}" is given twice for topic "${topic}"`);
    const cluster = ctx.settings.cluster;
    const configs = changes(ctx.broker.describeTopic(cluster, topic).topic.configs);
    if (validateOnly) ctx.broker.catalog.checkAlterTopic(cluster, topic, { configs });
    else {
      const view = ctx.settings.clusterView;
      await (view == null ? ctx.broker.alterTopic(cluster, topic, { configs }) : view.alterTopic(cluster, topic, { configs }));
    }
    return answer(r);
  } catch (err) {
    return answer(r, err);
  }
}

export const alterConfigsHandler: ApiHandler = {
  def: AlterConfigs,
  async handle(ctx, req) {
    const responses = await Promise.all((req.resources as Message[]).map((r) =>
      alterTopic(ctx, r, req.validateOnly, (current) => {
        // the request is the whole set of overrides: those left out go back to their defaults
        const out: Record<string, string | null> = Object.fromEntries(Object.keys(current).map((k) => [k, null]));
        for (const c of r.configs as Message[]) out[c.name] = c.value;
        return out;
      }),
    ));
    return { throttleTimeMs: 0, responses };
  },
};

export const incrementalAlterConfigsHandler: ApiHandler = {
  def: IncrementalAlterConfigs,
  async handle(ctx, req) {
    const responses = await Promise.all((req.resources as Message[]).map((r) =>
      alterTopic(ctx, r, req.validateOnly, () => {
        const out: Record<string, string | null> = {};
        for (const c of r.configs as Message[]) {
          if (c.configOperation === 0) out[c.name] = c.value;
          else if (c.configOperation === 1) out[c.name] = null;
          else if (c.configOperation === 2 || c.configOperation === 3) throw new KafkaError('INVALID_CONFIG', `config "${c.name}" holds one value: APPEND and SUBTRACT apply to list configs only; use SET`);
          else throw new KafkaError('INVALID_REQUEST', `config operation ${c.configOperation} is unknown; use 0 (SET) or 1 (DELETE)`);
        }
        return out;
      }),
    ));
    return { throttleTimeMs: 0, responses };
  },
};
