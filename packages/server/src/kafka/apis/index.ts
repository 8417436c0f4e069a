/** The APIs this listener serves, by API key: one file per API maps it onto the broker's calls. */
import type { ApiHandler } from '../context.js';
import { apiVersionsHandler } from './api-versions.js';
import { metadataHandler } from './metadata.js';
import { produceHandler } from './produce.js';
import { fetchHandler } from './fetch.js';
import { listOffsetsHandler } from './list-offsets.js';
import { offsetForLeaderEpochHandler } from './offset-for-leader-epoch.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { findCoordinatorHandler } from './find-coordinator.js';
import { joinGroupHandler, syncGroupHandler, heartbeatHandler, leaveGroupHandler } from './group-membership.js';
import { offsetCommitHandler, offsetFetchHandler } from './offsets.js';
import { createTopicsHandler, deleteTopicsHandler, createPartitionsHandler } from './admin-topics.js';
import { listGroupsHandler, describeGroupsHandler, deleteGroupsHandler } from './admin-groups.js';
import { describeClusterHandler } from './describe-cluster.js';
import { saslHandshakeHandler, saslAuthenticateHandler } from './sasl.js';
import { describeConfigsHandler, alterConfigsHandler, incrementalAlterConfigsHandler } from './configs.js';
import { addPartitionsToTxnHandler, addOffsetsToTxnHandler, txnOffsetCommitHandler, endTxnHandler } from './transactions.js';

const handlers = new Map<number, ApiHandler>();
const register = (h: ApiHandler): void => {
  handlers.set(h.def.key, h);
};

register(apiVersionsHandler(() => [...handlers.values()].map((h) => h.def).sort((a, b) => a.key - b.key)));
for (const h of [metadataHandler, produceHandler, fetchHandler, listOffsetsHandler, offsetForLeaderEpochHandler, initProducerIdHandler]) register(h);
for (const h of [findCoordinatorHandler, joinGroupHandler, syncGroupHandler, heartbeatHandler, leaveGroupHandler, offsetCommitHandler, offsetFetchHandler]) register(h);
for (const h of [createTopicsHandler, deleteTopicsHandler, createPartitionsHandler, listGroupsHandler, describeGroupsHandler, deleteGroupsHandler, describeClusterHandler, saslHandshakeHandler, saslAuthenticateHandler]) register(h);
for (const h of [addPartitionsToTxnHandler, addOffsetsToTxnHandler, txnOffsetCommitHandler, endTxnHandler]) register(h);
for (const h of [describeConfigsHandler, alterConfigsHandler, incrementalAlterConfigsHandler]) register(h);

export const API_HANDLERS: ReadonlyMap<number, ApiHandler> = handlers;
