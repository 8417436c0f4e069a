/** DescribeCluster: this broker, as Metadata describes it. */
import { DescribeCluster } from '../messages-admin.js';
import type { ApiHandler } from '../context.js';
import { KafkaErrors } from '../error-codes.js';
import { advertised } from './metadata.js';

export const describeClusterHandler: ApiHandler = {
  def: DescribeCluster,
  handle(ctx) {
    const { host, port } = advertised(ctx);
    const nodeId = ctx.settings.nodeId;
    if (!ctx.may('describe', 'cluster')) return { throttleTimeMs: 0, errorCode: KafkaErrors.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'may not describe the cluster', clusterId: '', brokers: [] };
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, clusterId: `webka-${ctx.settings.cluster}`, controllerId: nodeId, brokers: [{ brokerId: nodeId, host, port, rack: null }] };
  },
};
