/**
 * Kafka's authorized-operations bitfields (KIP-430), for Metadata, DescribeCluster and DescribeGroups. Samsa has
 * no authorizer, so every operation a resource supports is allowed, which is what a client that
 * asks for them is told (Kafka's AclOperation codes: bit n = operation n).
 */
const READ = 3;
const WRITE = 4;
const CREATE = 5;
const DELETE = 6;
const ALTER = 7;
const DESCRIBE = 8;
const CLUSTER_ACTION = 9;
const DESCRIBE_CONFIGS = 10;
const ALTER_CONFIGS = 11;
const IDEMPOTENT_WRITE = 12;

const bits = (operations: number[]): number => operations.reduce((field, op) => field | (1 << op), 0);

/** Kafka's "not asked for" value (Integer.MIN_VALUE). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
export const TOPIC_OPERATIONS = bits([READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS]);
export const CLUSTER_OPERATIONS = bits([CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE]);
/** What a GROUP resource supports (Kafka's AclEntry.supportedOperations). */
export const GROUP_OPERATIONS = bits([READ, DELETE, DESCRIBE]);
