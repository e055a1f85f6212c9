/** API key → handler, for the APIs the broker advertises. */
import { ApiKey } from '../../shared/kafka/api-keys';
import { alterConfigs, createPartitions, createTopics, deleteRecords, deleteTopics, describeConfigs } from './handlers/admin';
import { apiVersions } from './handlers/api-versions';
import { fetch } from './handlers/fetch';
import { listOffsets } from './handlers/list-offsets';
import { metadata } from './handlers/metadata';
import { produce } from './handlers/produce';
import type { Handler } from './handlers/types';

export const HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [ApiKey.ApiVersions, apiVersions],
  [ApiKey.Metadata, metadata],
  [ApiKey.Produce, produce],
  [ApiKey.Fetch, fetch],
  [ApiKey.ListOffsets, listOffsets],
  [ApiKey.CreateTopics, createTopics],
  [ApiKey.DeleteTopics, deleteTopics],
  [ApiKey.CreatePartitions, createPartitions],
  [ApiKey.DescribeConfigs, describeConfigs],
  [ApiKey.AlterConfigs, alterConfigs],
  [ApiKey.DeleteRecords, deleteRecords],
]);
