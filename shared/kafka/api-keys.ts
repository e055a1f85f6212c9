/**
 * API keys and the version ranges Samsa's brokers advertise (../shared/kafka-protocol's guide,
 * section 4): every range ends below the API's first flexible version, except ApiVersions v3,
 * which librdkafka sends first.
 */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  DeleteGroups: 42,
} as const;

export interface VersionRangeEntry {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** What the broker serves today (group APIs come with consumer groups). */
export const ADVERTISED_VERSIONS: readonly VersionRangeEntry[] = Object.freeze([
  { apiKey: ApiKey.Produce, minVersion: 3, maxVersion: 7 },
  { apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 11 },
  { apiKey: ApiKey.ListOffsets, minVersion: 1, maxVersion: 3 },
  { apiKey: ApiKey.Metadata, minVersion: 1, maxVersion: 4 },
  { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.CreateTopics, minVersion: 2, maxVersion: 4 },
  { apiKey: ApiKey.DeleteTopics, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.DeleteRecords, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.DescribeConfigs, minVersion: 1, maxVersion: 2 },
  { apiKey: ApiKey.AlterConfigs, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.CreatePartitions, minVersion: 0, maxVersion: 1 },
]);

/**
 * The guide's full recommended table (section 4), group APIs included, SASL excluded. The
 * broker advertises ADVERTISED_VERSIONS, the subset it implements; move an entry there when
 * its handler lands. The codec is tested against every range in both tables.
 */
export const PROTOCOL_VERSIONS: readonly VersionRangeEntry[] = Object.freeze([
  { apiKey: ApiKey.Produce, minVersion: 3, maxVersion: 7 },
  { apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 11 },
  { apiKey: ApiKey.ListOffsets, minVersion: 1, maxVersion: 3 },
  { apiKey: ApiKey.Metadata, minVersion: 1, maxVersion: 4 },
  { apiKey: ApiKey.OffsetCommit, minVersion: 2, maxVersion: 5 },
  { apiKey: ApiKey.OffsetFetch, minVersion: 1, maxVersion: 4 },
  { apiKey: ApiKey.FindCoordinator, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.JoinGroup, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.Heartbeat, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.LeaveGroup, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.SyncGroup, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.DescribeGroups, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.ListGroups, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.CreateTopics, minVersion: 2, maxVersion: 4 },
  { apiKey: ApiKey.DeleteTopics, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.DeleteRecords, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.DescribeConfigs, minVersion: 1, maxVersion: 2 },
  { apiKey: ApiKey.AlterConfigs, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.CreatePartitions, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.DeleteGroups, minVersion: 0, maxVersion: 1 },
]);

/** Only if SASL is ever offered (guide section 4). */
export const SASL_VERSIONS: readonly VersionRangeEntry[] = Object.freeze([
  { apiKey: ApiKey.SaslHandshake, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.SaslAuthenticate, minVersion: 0, maxVersion: 1 },
]);

export function advertisedRange(apiKey: number): VersionRangeEntry | undefined {
  return ADVERTISED_VERSIONS.find((entry) => entry.apiKey === apiKey);
}
