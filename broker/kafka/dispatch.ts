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
import { deleteRecords } from './handlers/delete-records';
import { deleteTopics } from './handlers/delete-topics';
import { describeConfigs } from './handlers/describe-configs';
import { fetch } from './handlers/fetch';
import { listOffsets } from './handlers/list-offsets';
import { metadata } from './handlers/metadata';
import { offsetForLeaderEpoch } from './handlers/offset-for-leader-epoch';
import { produce } from './handlers/produce';
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
  CreatePartitions: createPartitions,
  OffsetForLeaderEpoch: offsetForLeaderEpoch,
};

/**
 * By API key, as the server looks them up. The cast is sound where it is used: the server calls
 * a handler only for an advertised version of its API, with the body the codec decoded from that
 * API's schema at that version, which is the HandlerInput<K> the handler declares.
 */
export const HANDLERS: ReadonlyMap<number, LooseHandler> = new Map(
  (Object.keys(TABLE) as AdvertisedApi[]).map((name) => [ApiKey[name], TABLE[name] as LooseHandler]),
);
