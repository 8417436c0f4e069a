/** FindCoordinator: this broker coordinates every group (and, later, transaction). */
import { FindCoordinator } from '../messages-groups.js';
import type { ApiHandler, KafkaContext } from '../context.js';
import { KafkaErrors } from '../error-codes.js';
import { advertised } from './metadata.js';

/** Kafka asks for Describe on the group (key type 0) before naming its coordinator. */
function allowed(ctx: KafkaContext, keyType: number, key: string): { errorCode: number; errorMessage: string | null } {
  if (keyType !== 0 || ctx.may('describe', 'group', key)) return { errorCode: 0, errorMessage: null };
  return { errorCode: KafkaErrors.GROUP_AUTHORIZATION_FAILED, errorMessage: `may not describe group ${key}` };
}

export const findCoordinatorHandler: ApiHandler = {
  def: FindCoordinator,
  handle(ctx, req, version) {
    const { host, port } = advertised(ctx);
    const nodeId = ctx.settings.nodeId;
    if (version >= 4) {
      return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys as string[]).map((key) => ({ key, nodeId, host, port, ...allowed(ctx, req.keyType, key) })) };
    }
    return { throttleTimeMs: 0, nodeId, host, port, ...allowed(ctx, req.keyType, req.key) };
  },
};
