/**
 * FindCoordinator: a single broker coordinates every group (and transaction) itself. In a
 * cluster a group's coordinator is the leader of its __consumer_offsets partition (where its
 * offsets are committed, replicated), as in Kafka, and a transactional id's the leader of its
 * __transaction_state partition. While there is none the answer is
 * COORDINATOR_NOT_AVAILABLE, which clients retry.
 */
import { FindCoordinator } from '../messages-groups.js';
import type { ApiHandler, KafkaContext } from '../context.js';
import { KafkaErrors } from '../error-codes.js';
import { kafkaNodes, type KafkaNode } from './metadata.js';

/** Kafka asks for Describe on the group (key type 0) before naming its coordinator. */
function allowed(ctx: KafkaContext, keyType: number, key: string): { errorCode: number; errorMessage: string | null } {
  if (keyType !== 0 || ctx.may('describe', 'group', key)) return { errorCode: 0, errorMessage: null };
  return { errorCode: KafkaErrors.GROUP_AUTHORIZATION_FAILED, errorMessage: `may not describe group ${key}` };
}

/** The coordinating broker, or null while a cluster has none reachable over Kafka. */
async function coordinator(ctx: KafkaContext, keyType: number, key: string): Promise<KafkaNode | null> {
  const { brokers, controllerId } = await kafkaNodes(ctx);
  const view = ctx.settings.clusterView;
  const id = view == null ? controllerId : await (keyType === 0 ? view.groupCoordinator(ctx.settings.cluster, key) : view.txnCoordinator(ctx.settings.cluster, key)).catch(() => -1);
  return brokers.find((b) => b.nodeId === id) ?? null;
}

const VACANT = { errorCode: KafkaErrors.COORDINATOR_NOT_AVAILABLE, errorMessage: 'the cluster has no coordinator for this key right now (an election is under way); retry', nodeId: -1, host: '', port: -1 };

export const findCoordinatorHandler: ApiHandler = {
  def: FindCoordinator,
  async handle(ctx, req, version) {
    const one = async (key: string): Promise<Record<string, unknown>> => {
      const access = allowed(ctx, req.keyType, key);
      if (access.errorCode !== 0) return { ...VACANT, ...access };
      const node = await coordinator(ctx, req.keyType, key);
      return node === null ? VACANT : { nodeId: node.nodeId, host: node.host, port: node.port, ...access };
    };
    if (version >= 4) return { throttleTimeMs: 0, coordinators: await Promise.all((req.coordinatorKeys as string[]).map(async (key) => ({ key, ...(await one(key)) }))) };
    return { throttleTimeMs: 0, ...(await one(req.key)) };
  },
};
