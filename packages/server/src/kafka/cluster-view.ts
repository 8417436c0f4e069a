/**
 * The Kafka listener's view of a cluster of brokers, read from the replica manager: the live
 * brokers' Kafka listeners as they registered them in etcd, the controller, and each partition's
 * leader, leader epoch, replicas and ISR as the controller last wrote them.
 */
import type { ReplicaManager } from '../replication/replica-manager.js';
import type { KafkaClusterView } from './context.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS, OFFSETS_TOPIC_PARTITIONS, groupPartition } from '../groups/offset-store.js';
import { TXN_TOPIC, TXN_TOPIC_CONFIGS, TXN_TOPIC_PARTITIONS } from '../transactions/txn-state-log.js';

export function clusterView(replication: ReplicaManager): KafkaClusterView {
  return {
    brokers: () => replication.liveBrokers().flatMap((b) => (b.kafka === undefined ? [] : [{ nodeId: b.nodeId, host: b.kafka.host, port: b.kafka.port }])),
    controllerId: async () => {
      if (replication.member.term !== null) return replication.nodeId;
      const c = await replication.member.coordinator.controller().catch(() => null);
      return c?.nodeId ?? -1;
    },
    partition: (topicId, index) => replication.partitionState(topicId, index),
    createTopic: (cluster, input) => replication.createTopic(cluster, input),
    deleteTopic: (cluster, name) => replication.deleteTopic(cluster, name),
    alterTopic: (cluster, name, changes) => replication.alterTopic(cluster, name, changes),
    groupCoordinator: async (cluster, group) => {
      await replication.ensureInternalTopic(cluster, OFFSETS_TOPIC, OFFSETS_TOPIC_PARTITIONS, OFFSETS_TOPIC_CONFIGS);
      return replication.leaderOf(cluster, OFFSETS_TOPIC, groupPartition(group, OFFSETS_TOPIC_PARTITIONS)) ?? -1;
    },
    txnCoordinator: async (cluster, transactionalId) => {
      await replication.ensureInternalTopic(cluster, TXN_TOPIC, TXN_TOPIC_PARTITIONS, TXN_TOPIC_CONFIGS);
      return replication.leaderOf(cluster, TXN_TOPIC, groupPartition(transactionalId, TXN_TOPIC_PARTITIONS)) ?? -1;
    },
  };
}
