/** DescribeCluster: the brokers and the controller, as Metadata describes them. */
import { DescribeCluster } from '../messages-admin.js';
import type { ApiHandler } from '../context.js';
import { KafkaErrors } from '../error-codes.js';
import { kafkaNodes } from './metadata.js';

export const describeClusterHandler: ApiHandler = {
  def: DescribeCluster,
  async handle(ctx) {
    if (!ctx.may('describe', 'cluster')) return { throttleTimeMs: 0, errorCode: KafkaErrors.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'may not describe the cluster', clusterId: '', brokers: [] };
    const { brokers, controllerId } = await kafkaNodes(ctx);
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, clusterId: `webka-${ctx.settings.cluster}`, controllerId, brokers: brokers.map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: null })) };
  },
};
