/**
 * The console's JSON API as both sides see it: the server builds these (console/server/) and
 * the pages read them (console/web/src/pages/). A declaration file, so that neither build emits
 * it and each imports it with `import type`.
 */

/** Per-second traffic between two scrapes (Kafka's MessagesInPerSec, BytesInPerSec, BytesOutPerSec). */
export interface TrafficRates {
  recordsInPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
}

/** One second of the cluster's traffic: per live broker and per topic (summed over brokers). */
export interface RatesSample {
  /** Epoch ms of the scrape. */
  at: number;
  brokers: Array<TrafficRates & { id: number; produceP99Ms: number | null; fetchP99Ms: number | null }>;
  topics: Array<TrafficRates & { name: string }>;
}

export interface OverviewBroker {
  id: number;
  live: boolean;
  /** Last known address (from its registration, now or earlier in the console's life). */
  host: string | null;
  port: number | null;
  metricsUrl: string | null;
  controller: boolean;
  /** Partitions it leads now. */
  leaderCount: number;
  /** Partition replicas assigned to it. */
  replicaCount: number;
}

export interface OverviewPartition {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: boolean;
  underReplicated: boolean;
}

export interface OverviewTopic {
  name: string;
  topicId: string | null;
  internal: boolean;
  markedForDeletion: boolean;
  partitions: OverviewPartition[];
}

export interface Overview {
  /** False until the first read of the tree: nothing may be concluded from an empty picture. */
  loaded: boolean;
  clusterId: string;
  controller: number;
  brokers: OverviewBroker[];
  topics: OverviewTopic[];
  counts: { brokersLive: number; brokersDead: number; partitions: number; offline: number; underReplicated: number };
}

export interface ClientSoftwareRow {
  broker: number;
  name: string;
  version: string;
  connections: number;
}

export interface TopicSummary {
  name: string;
  internal: boolean;
  markedForDeletion: boolean;
  partitions: number;
  replicationFactor: number;
  underReplicatedPartitions: number;
  offlinePartitions: number;
  /** Sum of the partitions' log sizes; null when any partition's is unknown. */
  sizeBytes: number | null;
  /** Sum over partitions of latest − earliest offset; null when any partition's offsets are unknown. */
  records: number | null;
}

export interface RenderedBytes {
  base64: string;
  /** The bytes as text; null when they are not valid UTF-8. */
  text: string | null;
  /** The text re-indented as JSON; null when it is not JSON. */
  json: string | null;
}

export interface RecordView {
  offset: number;
  timestamp: number;
  /** The batch's codec: none, gzip, snappy, lz4 or zstd. */
  codec: string;
  key: RenderedBytes | null;
  value: RenderedBytes | null;
  headers: Array<{ key: string; value: RenderedBytes | null }>;
}

export interface MessagePage {
  topic: string;
  partition: number;
  leader: number;
  /** The partition's earliest offset and high watermark when the page was read. */
  earliest: number;
  latest: number;
  /** Where the page started (the resolved offset, time or end). */
  startOffset: number;
  records: RecordView[];
  /** The offset to ask for the next page from. */
  nextOffset: number;
}

export interface MemberView {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  host: string;
  /** topic → partitions (sorted), or null when the bytes are not a consumer assignment. */
  assignment: Array<{ topic: string; partitions: number[] }> | null;
  assignmentBytes: number;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number | null;
  end: number | null;
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
}

export interface GroupDetail {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  coordinator: number;
  members: MemberView[];
  offsets: PartitionLag[];
  /** The sum of the known lags; null when no partition's lag is known. */
  totalLag: number | null;
}

export interface GroupSummary {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
  coordinator: number;
  totalLag: number | null;
}

export interface GroupList {
  groups: GroupSummary[];
  /** Brokers that did not answer ListGroups: their groups are missing from the list. */
  unreachableBrokers: number[];
}

/** A znode's Stat as the console sends it (shared/coordinator/protocol.ts's Stat). */
export interface ZnodeStat {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
  /** setACL count. */
  aversion: number;
}

export interface ZnodeBody {
  path: string;
  /** The data as text, or as hex when its bytes are not UTF-8 (then `format` is 'hex'). */
  data: string;
  /** Present when `data` is not the text itself: the bytes are not UTF-8, so they are shown as hex. */
  format?: 'hex';
  /** The data parsed, when it is JSON. */
  json?: unknown;
  stat: ZnodeStat;
  /** True when the znode belongs to a session (stat.ephemeralOwner is not '0'). */
  ephemeral: boolean;
  children: string[];
}

export interface DeletedBody {
  path: string;
  deleted: true;
}

/** `GET /api/topics/<name>`: one partition. */
export interface PartitionDetail {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: boolean;
  underReplicated: boolean;
  earliest: number | null;
  latest: number | null;
  sizeBytes: number | null;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
}

/** `GET /api/topics/<name>`. */
export interface TopicDetail extends Omit<TopicSummary, 'partitions'> {
  topicId: string;
  partitions: PartitionDetail[];
  configs: ConfigEntry[] | null;
  configsError: string | null;
}
