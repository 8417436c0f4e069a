/** DescribeCluster: this broker, as Metadata describes it. */
import { DescribeCluster } from '../messages-admin.js';
import type { ApiHandler } from '../context.js';
import { advertised } from './metadata.js';

export const describeClusterHandler: ApiHandler = {
  def: DescribeCluster,
  handle(ctx) {
    const { host, port } = advertised(ctx);
    const nodeId = ctx.settings.nodeId;
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, clusterId: `webka-${ctx.settings.cluster}`, controllerId: nodeId, brokers: [{ brokerId: nodeId, host, port, rack: null }] };
  },
};
