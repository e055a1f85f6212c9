/**
 * The topics API: the list with health, sizes and record counts; one topic's partitions
 * (leader, epoch, replicas, ISR, offsets, size) and configs; create, delete and alter configs
 * through the controller as `samsa topic` does (cli/topic-admin.ts). Partition placement comes
 * from the console's live picture (its watches), offsets from the leaders (ListOffsets), sizes
 * from the brokers' last /metrics scrape.
 */
import type { ClusterSnapshot } from '../../../broker/cluster/metadata-cache';
import type { TopicView } from '../../../broker/context';
import { CliError } from '../../../cli/kafka-admin';
import { alterTopicConfigs, createTopic, deleteTopic, describeTopicConfigs, SOURCE_DYNAMIC_TOPIC, TopicAdminError } from '../../../cli/topic-admin';
import { KafkaError } from '../../../shared/kafka/errors';
import { partitionOffsets } from '../partition-offsets';
import { INTERNAL_TOPICS, partitionHealth, partitionKey, partitionSize, summarizeTopic } from '../topic-stats';
import { ApiError, ConsoleContext, Route } from '../types';
import type { TopicDetail } from '../../web/src/api-types';

/** How long a create or delete waits for the console's own picture to show it, so the page that reloads next sees it. */
export const VIEW_UPDATE_WAIT_MS = 5000;

/** A Kafka or connection failure as the HTTP answer a page can show. */
export function toApiError(error: unknown): unknown {
  if (error instanceof TopicAdminError) return new ApiError(error.errorCode === KafkaError.UNKNOWN_TOPIC_OR_PARTITION ? 404 : 400, error.message);
  // No controller, no reachable broker: the request was fine, the cluster cannot take it now.
  if (error instanceof CliError) return new ApiError(503, error.message);
  return error;
}

async function admin<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw toApiError(error);
  }
}

/** Resolves once `done(view)` holds for the console's picture, or after `ms` (the answer does not depend on it). */
function waitForView(context: ConsoleContext, done: (view: ClusterSnapshot) => boolean, ms = VIEW_UPDATE_WAIT_MS): Promise<void> {
  if (done(context.cluster.view)) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      context.cluster.off('change', onChange);
      resolve();
    };
    const onChange = (): void => {
      if (done(context.cluster.view)) finish();
    };
    const timer = setTimeout(finish, ms);
    context.cluster.on('change', onChange);
  });
}

function liveBrokers(view: ClusterSnapshot): Set<number> {
  return new Set(view.brokers.map((b) => b.id));
}

function findTopic(context: ConsoleContext, name: string): TopicView {
  const topic = context.cluster.view.topics.get(name);
  if (topic === undefined) throw new ApiError(404, `UNKNOWN_TOPIC_OR_PARTITION: no topic named '${name}'`);
  return topic;
}

/** `{k: v}` from a request body, values as strings (numbers allowed); null values only where `allowNull`. */
export function parseConfigMap(raw: unknown, allowNull: boolean): Map<string, string | null> {
  if (raw === undefined || raw === null) return new Map();
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ApiError(400, 'configs must be an object of name: value');
  const out = new Map<string, string | null>();
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name.trim() === '') throw new ApiError(400, 'a config name is empty');
    if (value === null && allowNull) out.set(name.trim(), null);
    else if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) out.set(name.trim(), String(value).trim());
    else throw new ApiError(400, `config ${name}: the value must be a string or a number${allowNull ? ' (or null to remove the override)' : ''}`);
  }
  return out;
}

/** A positive integer, or -1 (the broker default) when absent or empty. */
function countField(body: Record<string, unknown>, field: string): number {
  const raw = body[field];
  if (raw === undefined || raw === null || raw === '') return -1;
  const value = typeof raw === 'string' ? Number(raw.trim()) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ApiError(400, `${field} must be a whole number of at least 1 (or left out for the broker default)`);
  return value;
}

export interface NewTopicRequest {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Array<{ name: string; value: string }>;
}

export function parseNewTopic(body: unknown): NewTopicRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'expected a JSON object {name, partitions, replicationFactor, configs}');
  const fields = body as Record<string, unknown>;
  if (typeof fields.name !== 'string' || fields.name.trim() === '') throw new ApiError(400, 'name is required');
  const configs = [...parseConfigMap(fields.configs, false)].map(([name, value]) => ({ name, value: value! }));
  return { name: fields.name.trim(), partitions: countField(fields, 'partitions'), replicationFactor: countField(fields, 'replicationFactor'), configs };
}

export const routes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/topics',
    handler: async (_request, context) => {
      const view = context.cluster.view;
      const live = liveBrokers(view);
      const topics = [...view.topics.values()].sort((a, b) => a.name.localeCompare(b.name));
      const offsets = await partitionOffsets(context.kafka, topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, leader: p.leader }))));
      const latest = context.rates.latest();
      return { body: { topics: topics.map((t) => summarizeTopic(t, live, latest, offsets)) } };
    },
  },
  {
    method: 'GET',
    pattern: '/api/topics/:name',
    handler: async (request, context) => {
      const topic = findTopic(context, request.params.name!);
      const view = context.cluster.view;
      const live = liveBrokers(view);
      const latest = context.rates.latest();
      const [offsets, configs] = await Promise.all([
        partitionOffsets(context.kafka, topic.partitions.map((p) => ({ topic: topic.name, partition: p.partition, leader: p.leader }))),
        // The partitions are worth showing even while no controller answers: the configs' failure goes in the answer instead.
        describeTopicConfigs(context.kafka, topic.name).then(
          (entries) => ({ entries, error: null }),
          (error: unknown) => ({ entries: null, error: error instanceof Error ? error.message : String(error) }),
        ),
      ]);
      const summary = summarizeTopic(topic, live, latest, offsets);
      const body: TopicDetail & { controllerId: number } = {
        ...summary,
        topicId: topic.topicId,
        controllerId: view.controllerId,
        partitions: topic.partitions.map((p) => {
          const o = offsets.get(partitionKey(topic.name, p.partition));
          return {
            partition: p.partition,
            leader: p.leader,
            leaderEpoch: p.leaderEpoch,
            replicas: p.replicas,
            isr: p.isr,
            ...partitionHealth(p, live),
            earliest: o?.earliest ?? null,
            latest: o?.latest ?? null,
            sizeBytes: partitionSize(latest, topic.name, p),
          };
        }),
        configs:
          configs.entries === null
            ? null
            : configs.entries
                .map((c) => ({ name: c.name, value: c.isSensitive ? null : c.value, isDefault: c.configSource !== SOURCE_DYNAMIC_TOPIC, readOnly: c.readOnly, sensitive: c.isSensitive }))
                .sort((a, b) => a.name.localeCompare(b.name)),
        configsError: configs.error,
      };
      return { body };
    },
  },
  {
    method: 'POST',
    pattern: '/api/topics',
    handler: async (request, context) => {
      const topic = parseNewTopic(request.body);
      await admin(() => createTopic(context.kafka, topic));
      context.logger.info({ topic: topic.name, partitions: topic.partitions, replicationFactor: topic.replicationFactor }, 'console.topic_created');
      // Until its partitions have leaders: the page shown next lists the topic as it is meant to be, not as offline.
      await waitForView(context, (view) => {
        const created = view.topics.get(topic.name);
        return created !== undefined && created.partitions.length > 0 && created.partitions.every((p) => p.leader >= 0);
      });
      return { status: 201, body: { created: topic.name } };
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/topics/:name',
    handler: async (request, context) => {
      const name = request.params.name!;
      if (INTERNAL_TOPICS.has(name)) throw new ApiError(400, `${name} is internal to Kafka's consumer groups: not deleted from the console`);
      await admin(() => deleteTopic(context.kafka, name));
      context.logger.info({ topic: name }, 'console.topic_deleted');
      await waitForView(context, (view) => view.topics.get(name)?.markedForDeletion !== false);
      return { body: { deleted: name } };
    },
  },
  {
    method: 'PUT',
    pattern: '/api/topics/:name/configs',
    handler: async (request, context) => {
      const name = request.params.name!;
      const body = request.body;
      if (body === null || typeof body !== 'object' || !('configs' in body)) throw new ApiError(400, 'expected a JSON object {configs: {name: value, or null to remove}}');
      const changes = parseConfigMap((body as { configs: unknown }).configs, true);
      if (changes.size === 0) throw new ApiError(400, 'no config given');
      const overrides = await admin(() => alterTopicConfigs(context.kafka, name, changes));
      context.logger.info({ topic: name, changes: Object.fromEntries(changes) }, 'console.topic_configs_altered');
      return { body: { overrides: Object.fromEntries(overrides) } };
    },
  },
];
