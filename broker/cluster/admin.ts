/**
 * Topic administration (CreateTopics, DeleteTopics, CreatePartitions, configs), done on any
 * broker by writing the tree: the assignment and the config overrides in one multi, so a
 * topic is never half-created; deletion by a marker the controller carries out. The
 * controller writes the partition states; these calls wait until the brokers' view shows
 * the result (or time out with REQUEST_TIMED_OUT).
 */
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { CreateOp, hasCode } from '../../shared/coordinator/protocol';
import { KafkaError } from '../../shared/kafka/errors';
import type { Logger } from '../../shared/logging';
import type { AdminOperations, AdminResult, CreateTopicSpec, TopicConfig } from '../context';
import { AssignmentError, assignReplicas } from '../controller/assignment';
import { randomTopicId } from '../../shared/kafka/uuid';
import { ClusterSnapshot, MetadataCache, PATHS, topicNodeData, topicPath } from './metadata-cache';
import { effectiveConfig, topicNameProblem, validateOverrides } from './topic-config';

export interface AdminSettings {
  numPartitions: number;
  defaultReplicationFactor: number;
  topicDefaults: TopicConfig;
}

/** Most partitions one topic may have (a bound on the work one request can ask for). */
const PARTITIONS_MAX = 10_000;
/** Topics per multi when auto-creating (two znodes each; the coordinator allows 1000 ops per multi). */
const AUTO_CREATE_BATCH_MAX = 200;

const ok = (name: string): AdminResult => ({ name, errorCode: KafkaError.NONE, errorMessage: null });
const fail = (name: string, errorCode: number, errorMessage: string): AdminResult => ({ name, errorCode, errorMessage });

function allLed(view: ClusterSnapshot, topic: string): boolean {
  const entry = view.topics.get(topic);
  return entry !== undefined && entry.partitions.length > 0 && entry.partitions.every((p) => p.leader >= 0);
}

export class Admin implements AdminOperations {
  /** Names asked for since the last batch started, each with the promise its caller holds. */
  private autoCreateQueue = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  /** Names in the batch being written (a second request for one of them shares its promise). */
  private readonly autoCreating = new Map<string, Promise<void>>();
  private autoCreateScheduled = false;

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

  /** Validates a creation and chooses its assignment: the two znodes to create, or why not. */
  private planCreate(spec: CreateTopicSpec): { failure: AdminResult } | { ops: CreateOp[]; partitions: number[][]; topicId: string } {
    const refuse = (errorCode: number, message: string): { failure: AdminResult } => ({ failure: fail(spec.name, errorCode, message) });
    const problem = topicNameProblem(spec.name);
    if (problem !== null) return refuse(KafkaError.INVALID_TOPIC_EXCEPTION, problem);
    const view = this.cache.view;
    if (view.pendingDeletions.has(spec.name)) return refuse(KafkaError.TOPIC_ALREADY_EXISTS, `topic '${spec.name}' is marked for deletion; it can be created again once every replica broker has deleted its logs`);
    if (view.topics.has(spec.name)) return refuse(KafkaError.TOPIC_ALREADY_EXISTS, `topic '${spec.name}' already exists`);
    const validated = validateOverrides(spec.configs);
    if ('problem' in validated) return refuse(KafkaError.INVALID_CONFIG, validated.problem);
    let partitions: number[][];
    if (spec.assignments.length > 0) {
      if (spec.numPartitions !== -1 || spec.replicationFactor !== -1) return refuse(KafkaError.INVALID_REQUEST, 'give either an assignment or partitions/replication factor');
      const sorted = [...spec.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
      if (sorted.some((a, i) => a.partitionIndex !== i)) return refuse(KafkaError.INVALID_REPLICA_ASSIGNMENT, 'partitions must be numbered 0..n-1');
      const live = new Set(view.brokers.map((b) => b.id));
      for (const a of sorted) {
        if (a.brokerIds.length === 0 || new Set(a.brokerIds).size !== a.brokerIds.length || a.brokerIds.some((id) => !live.has(id))) {
          return refuse(KafkaError.INVALID_REPLICA_ASSIGNMENT, `partition ${a.partitionIndex}: replicas must be distinct live brokers`);
        }
      }
      partitions = sorted.map((a) => a.brokerIds);
    } else {
      const count = spec.numPartitions === -1 ? this.settings.numPartitions : spec.numPartitions;
      const factor = spec.replicationFactor === -1 ? this.settings.defaultReplicationFactor : spec.replicationFactor;
      if (count < 1 || count > PARTITIONS_MAX) return refuse(KafkaError.INVALID_PARTITIONS, `partitions must be between 1 and ${PARTITIONS_MAX}, got ${count}`);
      if (factor < 1) return refuse(KafkaError.INVALID_REPLICATION_FACTOR, `replication factor must be at least 1, got ${factor}`);
      try {
        const n = Math.max(1, view.brokers.length);
        partitions = assignReplicas(view.brokers.map((b) => b.id), count, factor, Math.floor(this.random() * n), 0, Math.floor(this.random() * n));
      } catch (error) {
        if (error instanceof AssignmentError) return refuse(KafkaError.INVALID_REPLICATION_FACTOR, error.message);
        throw error;
      }
    }
    // A new id on every creation: a topic deleted and created again under its name is another topic to clients holding the old id.
    const topicId = randomTopicId();
    const assignment = topicNodeData(partitions, topicId);
    return {
      partitions,
      topicId,
      ops: [
        { op: 'create', path: `${PATHS.configTopics}/${spec.name}`, data: JSON.stringify(validated.overrides), mode: 'persistent' },
        { op: 'create', path: topicPath(spec.name), data: assignment, mode: 'persistent' },
      ],
    };
  }

  private async createOne(spec: CreateTopicSpec, validateOnly: boolean): Promise<AdminResult> {
    const plan = this.planCreate(spec);
    if ('failure' in plan) return plan.failure;
    if (validateOnly) return ok(spec.name);
    const { ops, partitions, topicId } = plan;
    try {
      await this.client().multi(ops);
    } catch (error) {
      if (hasCode(error, 'NodeExists')) return fail(spec.name, KafkaError.TOPIC_ALREADY_EXISTS, `topic '${spec.name}' already exists`);
      throw error;
    }
    this.logger.info({ topic: spec.name, topicId, partitions: partitions.length, replicationFactor: partitions[0]!.length }, 'topic.created');
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
      // Complete only once every replica broker has deleted its logs and the controller removed the topic (broker/cluster/deletion.ts).
      const gone = await this.cache.waitFor((view) => !view.topics.has(name), Math.max(0, timeoutMs));
      if (!gone) {
        const acks = this.cache.view.deletionAcks.get(name) ?? new Set<number>();
        const missing = [...new Set((this.cache.view.assignments.get(name)?.partitions ?? []).flat())].filter((id) => !acks.has(id)).sort((x, y) => x - y);
        const waiting = missing.length > 0 ? `; waiting for broker(s) ${missing.join(', ')} to delete their replicas` : '';
        results[results.findIndex((r) => r.name === name)] = fail(name, KafkaError.REQUEST_TIMED_OUT, `topic '${name}' is marked for deletion${waiting}`);
      }
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
        await this.client().setData(topicPath(spec.name), topicNodeData(partitions, current.topicId), current.version);
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

  /**
   * auto.create.topics.enable. Does not wait for the creation: names asked for in the same turn
   * of the event loop (one Metadata request, or several) are created together, in one multi per
   * AUTO_CREATE_BATCH_MAX topics, with broker defaults. The promise settles once the batch is
   * written (never rejects: failures are logged); the controller then elects leaders, and the
   * client, answered LEADER_NOT_AVAILABLE meanwhile, asks again.
   */
  autoCreateTopic(name: string): Promise<void> {
    const pending = this.autoCreateQueue.get(name)?.promise ?? this.autoCreating.get(name);
    if (pending !== undefined) return pending;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    this.autoCreateQueue.set(name, { promise, resolve });
    if (!this.autoCreateScheduled) {
      this.autoCreateScheduled = true;
      setImmediate(() => void this.autoCreateBatch());
    }
    return promise;
  }

  private async autoCreateBatch(): Promise<void> {
    this.autoCreateScheduled = false;
    const queued = this.autoCreateQueue;
    this.autoCreateQueue = new Map();
    for (const [name, { promise }] of queued) this.autoCreating.set(name, promise);
    const names = [...queued.keys()];
    try {
      for (let i = 0; i < names.length; i += AUTO_CREATE_BATCH_MAX) await this.autoCreateChunk(names.slice(i, i + AUTO_CREATE_BATCH_MAX));
      await this.cache.refresh();
    } catch (error) {
      this.logger.warn({ topics: names.length, err: error instanceof Error ? error.message : String(error) }, 'topic.auto_create_failed');
    } finally {
      for (const [name, { resolve }] of queued) {
        this.autoCreating.delete(name);
        resolve();
      }
    }
  }

  private async autoCreateChunk(names: string[]): Promise<void> {
    const ops: CreateOp[] = [];
    const created: string[] = [];
    for (const name of names) {
      const plan = this.planCreate({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] });
      if ('failure' in plan) {
        if (plan.failure.errorCode !== KafkaError.TOPIC_ALREADY_EXISTS) this.logger.warn({ topic: name, errorCode: plan.failure.errorCode, message: plan.failure.errorMessage }, 'topic.auto_create_refused');
        continue;
      }
      ops.push(...plan.ops);
      created.push(name);
    }
    if (ops.length === 0) return;
    try {
      await this.client().multi(ops);
    } catch (error) {
      if (!hasCode(error, 'NodeExists')) throw error;
      // Another broker created one of them meanwhile: the multi did nothing; create one by one.
      for (const name of created) await this.createOne({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] }, false);
      return;
    }
    this.logger.info({ topics: created.length, first: created[0], partitions: this.settings.numPartitions, replicationFactor: this.settings.defaultReplicationFactor }, 'topic.auto_created');
  }
}
