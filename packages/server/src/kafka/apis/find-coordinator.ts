/**
 * FindCoordinator: a single broker coordinates every group (and transaction) itself. In a
 * cluster every broker names the same one, the controller, so that all members of a group meet
 * on one broker (groups live in the memory of the broker that coordinates them); while the
 * office is vacant the answer is COORDINATOR_NOT_AVAILABLE, which clients retry.
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

/** The coordinating broker, or null while a cluster has no controller reachable over Kafka. */
async function coordinator(ctx: KafkaContext): Promise<KafkaNode | null> {
  const { brokers, controllerId } = await kafkaNodes(ctx);
  return brokers.find((b) => b.nodeId === controllerId) ?? null;
}

const VACANT = { errorCode: KafkaErrors.COORDINATOR_NOT_AVAILABLE, errorMessage: 'the cluster has no controller right now (an election is under way); retry', nodeId: -1, host: '', port: -1 };

export const findCoordinatorHandler: ApiHandler = {
  def: FindCoordinator,
  async handle(ctx, req, version) {
    const node = await coordinator(ctx);
    const one = (key: string): Record<string, unknown> => {
      const access = allowed(ctx, req.keyType, key);
      const found = node === null ? VACANT : { nodeId: node.nodeId, host: node.host, port: node.port, ...access };
      return access.errorCode !== 0 ? { ...found, ...access } : found;
    };
    if (version >= 4) return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys as string[]).map((key) => ({ key, ...one(key) })) };
    return { throttleTimeMs: 0, ...one(req.key) };
  },
};
