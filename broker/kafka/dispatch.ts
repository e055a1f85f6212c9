/**
 * API → handler, for every API the broker advertises (shared/kafka/versions.ts): a missing
 * handler, or a handler typed for another API, does not compile.
 */
import { ApiKey } from '../../shared/kafka/api-keys';
import type { AdvertisedApi } from '../../shared/kafka/versions';
import { alterConfigs } from './handlers/alter-configs';
import { apiVersions } from './handlers/api-versions';
import { createPartitions } from './handlers/create-partitions';
import { createTopics } from './handlers/create-topics';
import { deleteGroups } from './handlers/delete-groups';
import { deleteRecords } from './handlers/delete-records';
import { deleteTopics } from './handlers/delete-topics';
import { describeCluster } from './handlers/describe-cluster';
import { describeConfigs } from './handlers/describe-configs';
import { describeGroups } from './handlers/describe-groups';
import { fetch } from './handlers/fetch';
import { incrementalAlterConfigs } from './handlers/incremental-alter-configs';
import { findCoordinator } from './handlers/find-coordinator';
import { heartbeat } from './handlers/heartbeat';
import { joinGroup } from './handlers/join-group';
import { leaveGroup } from './handlers/leave-group';
import { listGroups } from './handlers/list-groups';
import { listOffsets } from './handlers/list-offsets';
import { metadata } from './handlers/metadata';
import { offsetCommit } from './handlers/offset-commit';
import { offsetDelete } from './handlers/offset-delete';
import { offsetFetch } from './handlers/offset-fetch';
import { offsetForLeaderEpoch } from './handlers/offset-for-leader-epoch';
import { produce } from './handlers/produce';
import { syncGroup } from './handlers/sync-group';
import type { Handler, LooseHandler } from './handlers/types';

const TABLE: { [K in AdvertisedApi]: Handler<K> | LooseHandler } = {
  Produce: produce,
  Fetch: fetch,
  ListOffsets: listOffsets,
  Metadata: metadata,
  ApiVersions: apiVersions,
  CreateTopics: createTopics,
  DeleteTopics: deleteTopics,
  DeleteRecords: deleteRecords,
  DescribeConfigs: describeConfigs,
  AlterConfigs: alterConfigs,
  IncrementalAlterConfigs: incrementalAlterConfigs,
  CreatePartitions: createPartitions,
  OffsetForLeaderEpoch: offsetForLeaderEpoch,
  FindCoordinator: findCoordinator,
  JoinGroup: joinGroup,
  SyncGroup: syncGroup,
  Heartbeat: heartbeat,
  LeaveGroup: leaveGroup,
  OffsetCommit: offsetCommit,
  OffsetFetch: offsetFetch,
  DescribeGroups: describeGroups,
  ListGroups: listGroups,
  DeleteGroups: deleteGroups,
  OffsetDelete: offsetDelete,
  DescribeCluster: describeCluster,
};

/**
 * By API key, as the server looks them up. The cast is sound where it is used: the server calls
 * a handler only for an advertised version of its API, with the body the codec decoded from that
 * API's schema at that version, which is the HandlerInput<K> the handler declares.
 */
export const HANDLERS: ReadonlyMap<number, LooseHandler> = new Map(
  (Object.keys(TABLE) as AdvertisedApi[]).map((name) => [ApiKey[name], TABLE[name] as LooseHandler]),
);
