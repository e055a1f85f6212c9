/**
 * Which versions of each Kafka API Samsa speaks, keyed by the API's name (the names and keys
 * themselves are generated from the schemas into messages.ts; this file imports nothing so
 * that the generator, scripts/gen-kafka-types.ts, can read it before messages.ts exists).
 *
 * PROTOCOL_RANGES: from the oldest version kafkajs 2.2.4 and librdkafka 2.0.2 use (the guide's
 * table, ../shared/kafka-protocol section 4) up to the newest flexible versions Kafka 3.7+
 * brokers serve and @platformatic/kafka asks for (issue 12). The codec is tested against all of
 * them and messages.ts has a type per version. Decoding fills a field a version lacks with its
 * default, so handlers tell versions apart by `version`, never by `'field' in request`.
 * ADVERTISED_APIS: the subset the broker serves today (ApiVersions answers it). Add an API's
 * name there when its handler lands.
 */
export const PROTOCOL_RANGES = {
  Produce: { min: 3, max: 11 },
  Fetch: { min: 4, max: 17 },
  ListOffsets: { min: 1, max: 8 },
  // v9+ flexible; v10+ topic ids in the answer; v12 topics asked for by id.
  Metadata: { min: 1, max: 12 },
  OffsetCommit: { min: 2, max: 9 },
  OffsetFetch: { min: 1, max: 9 },
  FindCoordinator: { min: 0, max: 6 },
  JoinGroup: { min: 0, max: 9 },
  Heartbeat: { min: 0, max: 4 },
  LeaveGroup: { min: 0, max: 5 },
  SyncGroup: { min: 0, max: 5 },
  DescribeGroups: { min: 0, max: 5 },
  ListGroups: { min: 0, max: 5 },
  // v3+ flexible; v3/v4 carry the client software name and version (recorded per connection).
  ApiVersions: { min: 0, max: 4 },
  // v5+ flexible, with configs, partitions and replication factor in the answer; v7 the topic id.
  CreateTopics: { min: 2, max: 7 },
  // v4+ flexible; v6 topics by name or by id.
  DeleteTopics: { min: 0, max: 6 },
  DeleteRecords: { min: 0, max: 2 },
  InitProducerId: { min: 0, max: 1 },
  // v1+ synonyms, v3+ config type and documentation, v4 flexible.
  DescribeConfigs: { min: 1, max: 4 },
  // v2 is flexible (same fields).
  AlterConfigs: { min: 0, max: 2 },
  // SET/DELETE/APPEND/SUBTRACT per config (KIP-339); v1 is flexible.
  IncrementalAlterConfigs: { min: 0, max: 1 },
  // v2+ flexible.
  CreatePartitions: { min: 0, max: 3 },
  DeleteGroups: { min: 0, max: 2 },
  // Deletes committed offsets of partitions a group no longer consumes (KIP-496); v0 only, not flexible.
  OffsetDelete: { min: 0, max: 0 },
  // Followers ask where their latest epoch ends on a new leader (KIP-101); v4 is flexible.
  OffsetForLeaderEpoch: { min: 0, max: 4 },
  // Brokers, controller and cluster id for admin clients (KIP-700); flexible from v0, v1 adds the endpoint type.
  DescribeCluster: { min: 0, max: 1 },
} as const;

/** Only if SASL is ever offered (guide section 4). */
export const SASL_RANGES = {
  SaslHandshake: { min: 0, max: 1 },
  SaslAuthenticate: { min: 0, max: 1 },
} as const;

/** What the broker serves today (at the full protocol range), in the order ApiVersions lists them. */
export const ADVERTISED_APIS = ['Produce', 'Fetch', 'ListOffsets', 'Metadata', 'ApiVersions', 'CreateTopics', 'DeleteTopics', 'DeleteRecords', 'DescribeConfigs', 'AlterConfigs', 'IncrementalAlterConfigs', 'CreatePartitions', 'OffsetForLeaderEpoch', 'FindCoordinator', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'LeaveGroup', 'OffsetCommit', 'OffsetFetch', 'DescribeGroups', 'ListGroups', 'DeleteGroups', 'OffsetDelete', 'DescribeCluster'] as const;

export type AdvertisedApi = (typeof ADVERTISED_APIS)[number];
