/**
 * Which versions of each Kafka API Samsa speaks, keyed by the API's name (the names and keys
 * themselves are generated from the schemas into messages.ts; this file imports nothing so
 * that the generator, scripts/gen-kafka-types.ts, can read it before messages.ts exists).
 *
 * `protocol`: the guide's recommended range (../shared/kafka-protocol, section 4): every range
 * ends below the API's first flexible version, except ApiVersions v3, which librdkafka sends
 * first. The codec is tested against all of them and messages.ts has a type per version.
 * ADVERTISED_APIS: the subset the broker serves today (ApiVersions answers it). Add an API's
 * name there when its handler lands.
 */
export const PROTOCOL_RANGES = {
  Produce: { min: 3, max: 7 },
  Fetch: { min: 4, max: 11 },
  ListOffsets: { min: 1, max: 3 },
  Metadata: { min: 1, max: 4 },
  OffsetCommit: { min: 2, max: 5 },
  OffsetFetch: { min: 1, max: 4 },
  FindCoordinator: { min: 0, max: 2 },
  JoinGroup: { min: 0, max: 5 },
  Heartbeat: { min: 0, max: 3 },
  LeaveGroup: { min: 0, max: 1 },
  SyncGroup: { min: 0, max: 3 },
  DescribeGroups: { min: 0, max: 2 },
  ListGroups: { min: 0, max: 2 },
  ApiVersions: { min: 0, max: 3 },
  CreateTopics: { min: 2, max: 4 },
  DeleteTopics: { min: 0, max: 1 },
  DeleteRecords: { min: 0, max: 1 },
  InitProducerId: { min: 0, max: 1 },
  DescribeConfigs: { min: 1, max: 2 },
  AlterConfigs: { min: 0, max: 1 },
  CreatePartitions: { min: 0, max: 1 },
  DeleteGroups: { min: 0, max: 1 },
  // Deletes committed offsets of partitions a group no longer consumes (KIP-496); v0 only, not flexible.
  OffsetDelete: { min: 0, max: 0 },
  // Followers ask where their latest epoch ends on a new leader (KIP-101); v4 is flexible.
  OffsetForLeaderEpoch: { min: 0, max: 3 },
} as const;

/** Only if SASL is ever offered (guide section 4). */
export const SASL_RANGES = {
  SaslHandshake: { min: 0, max: 1 },
  SaslAuthenticate: { min: 0, max: 1 },
} as const;

/** What the broker serves today (at the full protocol range), in the order ApiVersions lists them. */
export const ADVERTISED_APIS = ['Produce', 'Fetch', 'ListOffsets', 'Metadata', 'ApiVersions', 'CreateTopics', 'DeleteTopics', 'DeleteRecords', 'DescribeConfigs', 'AlterConfigs', 'CreatePartitions', 'OffsetForLeaderEpoch', 'FindCoordinator', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'LeaveGroup', 'OffsetCommit', 'OffsetFetch', 'DescribeGroups', 'ListGroups', 'DeleteGroups', 'OffsetDelete'] as const;

export type AdvertisedApi = (typeof ADVERTISED_APIS)[number];
