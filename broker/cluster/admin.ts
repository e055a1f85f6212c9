/**
 * Topic administration (CreateTopics, DeleteTopics, CreatePartitions, configs), done on any
 * broker by writing the tree: the assignment and the config overrides in one multi, so a
 * topic is never half-created; deletion by a marker the controller carries out. The
 * controller writes the partition states; these calls wait until the brokers' view shows
 * the result (or time out with REQUEST_TIMED_OUT).
 */
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { hasCode } from '../../shared/coordinator/protocol';
import { KafkaError } from '../../shared/kafka/errors';
import type { Logger } from '../../shared/logging';
import type { AdminOperations, AdminResult, CreateTopicSpec, TopicConfig } from '../context';
import { AssignmentError, assignReplicas } from '../controller/assignment';
import { ClusterSnapshot, MetadataCache, PATHS, topicPath } from './metadata-cache';
import { effectiveConfig, topicNameProblem, validateOverrides } from './topic-config';

export interface AdminSettings {
  numPartitions: number;
  defaultReplicationFactor: number;
  topicDefaults: TopicConfig;
}

/** Most partitions one topic may have (a bound on the work one request can ask for). */
const PARTITIONS_MAX = 10_000;
const AUTO_CREATE_WAIT_MS = 5000;

const ok = (name: string): AdminResult => ({ name, errorCode: KafkaError.NONE, errorMessage: null });
const fail = (name: string, errorCode: number, errorMessage: string): AdminResult => ({ name, errorCode, errorMessage });

function allLed(view: ClusterSnapshot, topic: string): boolean {
  const entry = view.topics.get(topic);
  return entry !== undefined && entry.partitions.length > 0 && entry.partitions.every((p) => p.leader >= 0);
}

export class Admin implements AdminOperations {
  private readonly autoCreating = new Map<string, Promise<void>>();

  constructor(
    private readonly client: () => CoordinatorClient,
    private readonly cache: MetadataCache,
    private readonly settings: AdminSettings,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  async createTopics(specs: CreateTopicSpec[], timeoutMs: number, validateOnly: boolean): Promise<AdminResult[]> {
    const results: AdminResult[] = [];
    const created: string[] = [];
    for (const spec of specs) {
      const result = await this.createOne(spec, validateOnly);
      results.push(result);
      if (result.errorCode === KafkaError.NONE && !validateOnly) created.push(spec.name);
    }
    for (const name of created) {
      const done = await this.cache.waitFor((view) => allLed(view, name), Math.max(0, timeoutMs));
      if (!done) {
        const index = results.findIndex((r) => r.name === name);
        results[index] = fail(name, KafkaError.REQUEST_TIMED_OUT, 'topic created; partition leaders not elected yet');
      }
    }
    return results;
  }

  private async createOne(spec: CreateTopicSpec, validateOnly: boolean): Promise<AdminResult> {
    const problem = topicNameProblem(spec.name);
    if (problem !== null) return fail(spec.name, KafkaError.INVALID_TOPIC_EXCEPTION, problem);
    const view = this.cache.view;
    if (view.topics.has(spec.name)) return fail(spec.name, KafkaError.TOPIC_ALREADY_EXISTS, `topic '${spec.name}' already exists`);
    const validated = validateOverrides(spec.configs);
    if ('problem' in validated) return fail(spec.name, KafkaError.INVALID_CONFIG, validated.problem);
    let partitions: number[][];
    if (spec.assignments.length > 0) {
      if (spec.numPartitions !== -1 || spec.replicationFactor !== -1) return fail(spec.name, KafkaError.INVALID_REQUEST, 'give either an assignment or partitions/replication factor');
      const sorted = [...spec.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
      if (sorted.some((a, i) => a.partitionIndex !== i)) return fail(spec.name, KafkaError.INVALID_REPLICA_ASSIGNMENT, 'partitions must be numbered 0..n-1');
      const live = new Set(view.brokers.map((b) => b.id));
      for (const a of sorted) {
        if (a.brokerIds.length === 0 || new Set(a.brokerIds).size !== a.brokerIds.length || a.brokerIds.some((id) => !live.has(id))) {
          return fail(spec.name, KafkaError.INVALID_REPLICA_ASSIGNMENT, `partition ${a.partitionIndex}: replicas must be distinct live brokers`);
        }
      }
      partitions = sorted.map((a) => a.brokerIds);
    } else {
      const count = spec.numPartitions === -1 ? this.settings.numPartitions : spec.numPartitions;
      const factor = spec.replicationFactor === -1 ? this.settings.defaultReplicationFactor : spec.replicationFactor;
      if (count < 1 || count > PARTITIONS_MAX) return fail(spec.name, KafkaError.INVALID_PARTITIONS, `partitions must be between 1 and ${PARTITIONS_MAX}, got ${count}`);
      if (factor < 1) return fail(spec.name, KafkaError.INVALID_REPLICATION_FACTOR, `replication factor must be at least 1, got ${factor}`);
      try {
        const n = Math.max(1, view.brokers.length);
        partitions = assignReplicas(view.brokers.map((b) => b.id), count, factor, Math.floor(this.random() * n), 0, Math.floor(this.random() * n));
      } catch (error) {
        if (error instanceof AssignmentError) return fail(spec.name, KafkaError.INVALID_REPLICATION_FACTOR, error.message);
        throw error;
      }
    }
    if (validateOnly) return ok(spec.name);
    const assignment = JSON.stringify({ partitions: Object.fromEntries(partitions.map((replicas, p) => [String(p), replicas])) });
    try {
      await this.client().multi([
        { op: 'create', path: `${PATHS.configTopics}/${spec.name}`, data: JSON.stringify(validated.overrides), mode: 'persistent' },
        { op: 'create', path: topicPath(spec.name), data: assignment, mode: 'persistent' },
      ]);
    } catch (error) {
      if (hasCode(error, 'NodeExists')) return fail(spec.name, KafkaError.TOPIC_ALREADY_EXISTS, `topic '${spec.name}' already exists`);
      throw error;
    }
    this.logger.info({ topic: spec.name, partitions: partitions.length, replicationFactor: partitions[0]!.length }, 'topic.created');
    await this.cache.refresh();
    return ok(spec.name);
  }

  async deleteTopics(names: string[], timeoutMs: number): Promise<AdminResult[]> {
    const results: AdminResult[] = [];
    const marked: string[] = [];
    for (const name of names) {
      if (!this.cache.view.topics.has(name)) {
        results.push(fail(name, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `topic '${name}' does not exist`));
        continue;
      }
      await this.client().ensurePath(`${PATHS.deleteTopics}/${name}`);
      marked.push(name);
      results.push(ok(name));
    }
    for (const name of marked) {
      const gone = await this.cache.waitFor((view) => !view.topics.has(name), Math.max(0, timeoutMs));
      if (!gone) results[results.findIndex((r) => r.name === name)] = fail(name, KafkaError.REQUEST_TIMED_OUT, 'deletion pending');
    }
    return results;
  }

  async createPartitions(specs: Array<{ name: string; count: number; assignments: number[][] | null }>, timeoutMs: number, validateOnly: boolean): Promise<AdminResult[]> {
    const results: AdminResult[] = [];
    for (const spec of specs) {
      const current = this.cache.view.assignments.get(spec.name);
      if (current === undefined) {
        results.push(fail(spec.name, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `topic '${spec.name}' does not exist`));
        continue;
      }
      const existing = current.partitions.length;
      if (spec.count <= existing || spec.count > PARTITIONS_MAX) {
        results.push(fail(spec.name, KafkaError.INVALID_PARTITIONS, `topic has ${existing} partitions; the new count must be larger (and at most ${PARTITIONS_MAX}), got ${spec.count}`));
        continue;
      }
      let added: number[][];
      try {
        const brokers = this.cache.view.brokers.map((b) => b.id);
        added = spec.assignments ?? assignReplicas(brokers, spec.count - existing, current.partitions[0]!.length, Math.floor(this.random() * brokers.length), existing);
      } catch (error) {
        if (error instanceof AssignmentError) {
          results.push(fail(spec.name, KafkaError.INVALID_REPLICATION_FACTOR, error.message));
          continue;
        }
        throw error;
      }
      if (validateOnly) {
        results.push(ok(spec.name));
        continue;
      }
      const partitions = [...current.partitions, ...added];
      try {
        await this.client().setData(topicPath(spec.name), JSON.stringify({ partitions: Object.fromEntries(partitions.map((r, p) => [String(p), r])) }), current.version);
      } catch (error) {
        if (hasCode(error, 'BadVersion')) {
          results.push(fail(spec.name, KafkaError.REASSIGNMENT_IN_PROGRESS, 'the topic changed meanwhile; retry'));
          continue;
        }
        throw error;
      }
      await this.cache.refresh();
      const done = await this.cache.waitFor((view) => (view.topics.get(spec.name)?.partitions.length ?? 0) === spec.count && allLed(view, spec.name), timeoutMs);
      results.push(done ? ok(spec.name) : fail(spec.name, KafkaError.REQUEST_TIMED_OUT, 'partitions added; leaders not elected yet'));
    }
    return results;
  }

  async alterTopicConfigs(name: string, configs: Array<{ name: string; value: string | null }>, validateOnly: boolean): Promise<AdminResult> {
    if (!this.cache.view.topics.has(name)) return fail(name, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `topic '${name}' does not exist`);
    const validated = validateOverrides(configs);
    if ('problem' in validated) return fail(name, KafkaError.INVALID_CONFIG, validated.problem);
    if (validateOnly) return ok(name);
    const path = `${PATHS.configTopics}/${name}`;
    try {
      await this.client().setData(path, JSON.stringify(validated.overrides));
    } catch (error) {
      if (!hasCode(error, 'NoNode')) throw error;
      await this.client().create(path, JSON.stringify(validated.overrides), { createParents: true });
    }
    this.logger.info({ topic: name, overrides: validated.overrides }, 'topic.config_altered');
    await this.cache.refresh();
    return ok(name);
  }

  describeTopicConfig(name: string): { config: TopicConfig; overrides: Set<string> } | null {
    if (!this.cache.view.topics.has(name)) return null;
    const overrides = this.cache.view.overrides.get(name) ?? {};
    return { config: effectiveConfig(this.settings.topicDefaults, overrides), overrides: new Set(Object.keys(overrides)) };
  }

  /** auto.create.topics.enable: one creation per topic at a time, with broker defaults. */
  autoCreateTopic(name: string): Promise<void> {
    const pending = this.autoCreating.get(name);
    if (pending !== undefined) return pending;
    const creating = this.createTopics([{ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] }], AUTO_CREATE_WAIT_MS, false)
      .then(([result]) => {
        if (result!.errorCode !== KafkaError.NONE && result!.errorCode !== KafkaError.TOPIC_ALREADY_EXISTS) {
          this.logger.warn({ topic: name, errorCode: result!.errorCode, message: result!.errorMessage }, 'topic.auto_create_failed');
        }
      })
      .finally(() => this.autoCreating.delete(name));
    this.autoCreating.set(name, creating);
    return creating;
  }
}
