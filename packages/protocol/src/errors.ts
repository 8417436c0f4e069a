/**
 * The one table of Webka's error codes. Every error the broker returns has the shape
 * `{ "error": { "code": "...", "message": "...", ...details } }`; the SDK raises typed errors
 * carrying the same codes. Codes never change once released; add new ones, never rename.
 *
 * `status` is the HTTP status, `retriable` says whether repeating the same request can help
 * (after a wait), and `hint` is the "how to solve" line used by docs/errors.md.
 */
export interface ErrorCodeInfo {
  status: number;
  retriable: boolean;
  hint: string;
}

export const ERROR_CODES = {
  // 400: the request itself is malformed
  INVALID_JSON: { status: 400, retriable: false, hint: 'Send a body that is valid JSON (RFC 8259).' },
  INVALID_REQUEST: { status: 400, retriable: false, hint: 'Fix the field named in the message; see /openapi.json for the schema.' },
  INVALID_NAME: { status: 400, retriable: false, hint: 'Names use [a-zA-Z0-9._-], at most 249 characters, and are not "." or "..".' },
  INVALID_CONFIG: { status: 400, retriable: false, hint: 'Use a known config key with a value of the right type and range (docs/http-api.md#topic-configs).' },
  INVALID_OFFSET: { status: 400, retriable: false, hint: 'Give offset as a non-negative integer, "earliest" or "latest".' },
  INVALID_ACKS: { status: 400, retriable: false, hint: 'acks is 0, 1 or all.' },
  INVALID_RECORD_BATCH: { status: 400, retriable: false, hint: 'Send frames of a 4-byte partition number and one Kafka RecordBatch v2 each (magic 2, CRC-32C, recordsCount records numbered 0, 1, ...); build them with RecordBatchBuilder of @webka/protocol (docs/http-api.md#binary-produce).' },
  // 401/403: who you are and what you may do
  UNAUTHENTICATED: { status: 401, retriable: false, hint: 'Send Authorization: Bearer <api key or token>.' },
  FORBIDDEN: { status: 403, retriable: false, hint: 'Ask an admin for an ACL that allows this operation.' },
  BROKER_ONLY: { status: 403, retriable: false, hint: 'Only the brokers of a cluster, with the inter-broker secret, call this route or send x-webka-principal; clients use the public routes with their own credentials.' },
  // 404: the thing named does not exist
  NOT_FOUND: { status: 404, retriable: false, hint: 'Check the URL; see /openapi.json for the routes.' },
  CLUSTER_NOT_FOUND: { status: 404, retriable: false, hint: 'Create the cluster first, or check its name (GET /v1/clusters).' },
  TOPIC_NOT_FOUND: { status: 404, retriable: false, hint: 'Create the topic first, or check its name (GET /v1/clusters/{cluster}/topics).' },
  PARTITION_NOT_FOUND: { status: 404, retriable: false, hint: 'Partitions are numbered from 0 to partitions-1 (GET the topic to see the count).' },
  PRODUCER_NOT_FOUND: { status: 404, retriable: false, hint: 'Obtain a producer id from POST /v1/clusters/{cluster}/producers.' },
  TRANSACTION_NOT_FOUND: { status: 404, retriable: false, hint: 'Initialise the transactional id first: POST /v1/clusters/{cluster}/transactions.' },
  GROUP_NOT_FOUND: { status: 404, retriable: false, hint: 'Check the group id (GET /v1/clusters/{cluster}/groups).' },
  BROKER_NOT_FOUND: { status: 404, retriable: false, hint: 'Name a live broker of the cluster by its node id (GET /v1/brokers lists them).' },
  MEMBER_NOT_FOUND: { status: 404, retriable: false, hint: 'The member left or its session expired: join the group again.' },
  // 405
  METHOD_NOT_ALLOWED: { status: 405, retriable: false, hint: 'Use one of the methods listed in the Allow header.' },
  NOT_ACCEPTABLE: { status: 406, retriable: false, hint: 'Ask for a media type the route serves in Accept (text/event-stream for streams, application/json otherwise).' },
  // 409: conflicts with the current state
  CLUSTER_EXISTS: { status: 409, retriable: false, hint: 'Pick another name, or use the existing cluster.' },
  CLUSTER_NOT_EMPTY: { status: 409, retriable: false, hint: 'Delete the cluster\'s topics first.' },
  PRINCIPAL_EXISTS: { status: 409, retriable: false, hint: 'Pick another principal name, or add a key to the existing principal.' },
  TOPIC_EXISTS: { status: 409, retriable: false, hint: 'Pick another name (names differing only by case or by "." versus "_" collide).' },
  PRODUCER_FENCED: { status: 409, retriable: false, hint: 'A newer epoch of this producer exists: stop this instance, or obtain a new epoch.' },
  OUT_OF_ORDER_SEQUENCE: { status: 409, retriable: false, hint: 'Send sequences in order, one request at a time per producer and topic, starting at 0 for a new epoch.' },
  SEQUENCE_REUSED: { status: 409, retriable: false, hint: 'A retry must carry the records of its first attempt (the same count to each partition): send different records with the next sequence.' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, retriable: false, hint: 'An Idempotency-Key names one request: use a new key for a different body or URL.' },
  CONCURRENT_REQUEST: { status: 409, retriable: true, hint: 'A request with the same Idempotency-Key or producer sequence is still in flight; retry when it answers.' },
  CONCURRENT_TRANSACTIONS: { status: 409, retriable: true, hint: 'The transaction is being committed or aborted: retry when that has finished (describe it to see its state).' },
  INVALID_TXN_STATE: { status: 409, retriable: false, hint: 'The transaction already ended the other way: start a new one (produce again) instead of ending this one twice.' },
  GROUP_NOT_EMPTY: { status: 409, retriable: false, hint: 'Stop the group\'s members (or wait for their sessions to expire) first.' },
  STALE_GENERATION: { status: 409, retriable: true, hint: 'The group rebalanced: poll or heartbeat to learn the new generation and assignment.' },
  REBALANCE_IN_PROGRESS: { status: 409, retriable: true, hint: 'Poll or heartbeat to learn your new assignment, then retry.' },
  NOT_ASSIGNED: { status: 409, retriable: true, hint: 'This member does not own that partition in the current generation.' },
  INCONSISTENT_GROUP_PROTOCOL: { status: 409, retriable: false, hint: 'Join with the assignment strategy the group already uses (describe the group to see it), or wait until the group is empty.' },
  NO_OFFSET_FOR_PARTITION: { status: 409, retriable: false, hint: 'The group has no committed offset for the partition and autoOffsetReset is none: commit or reset an offset, or join with earliest or latest.' },
  REASSIGNMENT_IN_PROGRESS: { status: 409, retriable: true, hint: 'The partition is being reassigned to another replica set: wait until it has finished (GET its reassignment), then ask again.' },
  // 410
  OFFSET_OUT_OF_RANGE: { status: 416, retriable: false, hint: 'Read from an offset between the log start offset and the high watermark (both are in the message).' },
  // 413/415/422
  PAYLOAD_TOO_LARGE: { status: 413, retriable: false, hint: 'Split the request or raise the broker\'s bodyLimit.' },
  HEADERS_TOO_LARGE: { status: 431, retriable: false, hint: 'Send at most 16 KB of request line and headers (long tokens belong in the body or a cookie-free header set).' },
  RECORD_TOO_LARGE: { status: 413, retriable: false, hint: 'Keep each record under the topic\'s max.message.bytes, or raise it.' },
  TOO_MANY_RECORDS: { status: 413, retriable: false, hint: 'Send at most maxRecordsPerRequest records per request (split the batch).' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, hint: 'Send Content-Type: application/json (or, to produce, application/vnd.webka.recordbatch).' },
  INVALID_REPLICATION_FACTOR: { status: 422, retriable: false, hint: 'The replication factor cannot exceed the number of brokers.' },
  INVALID_REPLICAS: { status: 422, retriable: false, hint: 'Name each broker of a replica list once (the first is the preferred leader).' },
  INVALID_PARTITIONS: { status: 422, retriable: false, hint: 'Partition counts are between 1 and the broker\'s maxPartitionsPerTopic, and can only grow.' },
  INVALID_TIMESTAMP: { status: 422, retriable: false, hint: 'Timestamps are milliseconds since the epoch, 0 to 8640000000000000.' },
  // 429
  TOO_MANY_REQUESTS: { status: 429, retriable: true, hint: 'Slow down; retry after the number of seconds in Retry-After.' },
  // 5xx: the broker cannot serve this now
  PARTITION_OFFLINE: { status: 503, retriable: true, hint: 'The partition is offline (see the message: corruption or a failed fsync). An operator must inspect the data directory and restart.' },
  CORRUPT_RECORD: { status: 500, retriable: false, hint: 'A stored batch failed its CRC check; the partition was taken offline. Inspect the segment named in the message.' },
  STORAGE_ERROR: { status: 507, retriable: true, hint: 'The disk refused the write (full or failing). Free space or fix the disk; nothing was acknowledged.' },
  SHUTTING_DOWN: { status: 503, retriable: true, hint: 'The broker is stopping; retry against a running broker.' },
  NOT_CONTROLLER: { status: 503, retriable: true, hint: 'The cluster is electing its controller (or the controller moved while the request was forwarded); retry in a moment.' },
  NOT_LEADER: { status: 503, retriable: true, hint: 'This broker does not lead the partition, or leads it with another leader epoch: send the request to the leader named in the answer (leaderUrl), or to any broker, which forwards it. With "written": true, the broker had appended the records before it stopped leading and they are not acknowledged: they may or may not be kept, and a retry that is not idempotent may store them twice.' },
  NOT_COORDINATOR: { status: 503, retriable: true, hint: 'The coordinator of the group (the leader of its __consumer_offsets partition) or of the transactional id (the leader of its __transaction_state partition) is moving or was not reached: retry in a moment; any broker forwards group and transaction calls to the coordinator.' },
  TOO_MANY_MEMBERS: { status: 429, retriable: true, hint: 'The broker coordinates as many group members as its maxGroupMembers allows (all groups together): retry later, as members that stop polling leave after their session timeout; an operator may raise the setting.' },
  UNSUPPORTED_IN_CLUSTER: { status: 501, retriable: false, hint: 'A broker that is part of a cluster does not serve this yet (a fork of a Durable Stream): serve it from a single broker (started without --coordinator), or create the stream without Stream-Forked-From.' },
  COORDINATION_UNAVAILABLE: { status: 503, retriable: true, hint: 'The cluster\'s coordination service (etcd), where producer ids and partition state are kept, did not answer or was too contended: retry in a moment; if it lasts, an operator checks etcd (its endpoints are the broker\'s --coordinator setting).' },
  NOT_ENOUGH_REPLICAS: { status: 503, retriable: true, hint: 'Fewer in-sync replicas than the topic\'s min.insync.replicas: nothing was written. Bring the missing brokers back (or produce with acks=1); the message names the ISR.' },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { status: 503, retriable: true, hint: 'The leader wrote the batch but the in-sync replicas fell below min.insync.replicas before they all held it: it is not acknowledged and may or may not be kept. Retry with an idempotent producer, which writes it once.' },
  REQUEST_TIMEOUT: { status: 408, retriable: true, hint: 'The request took too long; retry.' },
  INTERNAL: { status: 500, retriable: true, hint: 'A bug in Webka: report it with the request id from the logs.' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode | string; message: string; [detail: string]: unknown };
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}
