/** FindCoordinator: this broker coordinates every group (and, later, transaction). */
import { FindCoordinator } from '../messages-groups.js';
import type { ApiHandler } from '../context.js';
import { advertised } from './metadata.js';

export const findCoordinatorHandler: ApiHandler = {
  def: FindCoordinator,
  handle(ctx, req, version) {
    const { host, port } = advertised(ctx);
    const nodeId = ctx.settings.nodeId;
    if (version >= 4) {
      return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys as string[]).map((key) => ({ key, nodeId, host, port, errorCode: 0, errorMessage: null })) };
    }
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId, host, port };
  },
};
