/**
 * The broker's picture of the cluster, read from the coordinator tree and kept fresh by
 * persistent watches (on /brokers recursively, /controller, /controller_epoch, /config/topics
 * and /admin/delete_topics recursively, /admin/controlled_shutdown and
 * /admin/preferred_replica_election).
 *
 * A watch event names the znode that changed; the cache re-reads only what that znode feeds
 * (one broker registration, one topic's assignment and states, one partition state, one
 * topic's config, one deletion marker with its acknowledgements), all reads of a batch in
 * parallel. Events arriving during a batch gather into the next one. The whole tree is read
 * again at start, after every reconnect (events that happened while disconnected are not all
 * replayed), after a failed read, and on refresh().
 *
 * Malformed znode data (hand-edited, truncated, another version's) is rejected and logged
 * (`metadata.malformed`, with the path and the reason): the node is left out of the picture
 * rather than read with invented defaults.
 *
 * Emits 'change' with a new ClusterSnapshot after each batch; snapshots are never mutated once
 * emitted.
 */
import { EventEmitter } from 'events';
import type { Logger } from '../../shared/logging';
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { hasCode, unlessCode, WatchEventFrame } from '../../shared/coordinator/protocol';
import { isUuidString, ZERO_UUID } from '../../shared/kafka/uuid';
import type { BrokerEndpoint, ClusterView, PartitionView, TopicView } from '../context';
import type { TopicOverrides } from './topic-config';

export const PATHS = {
  brokers: '/brokers',
  brokerIds: '/brokers/ids',
  topics: '/brokers/topics',
  controller: '/controller',
  controllerEpoch: '/controller_epoch',
  configTopics: '/config/topics',
  deleteTopics: '/admin/delete_topics',
  /** Ephemeral children named by broker id: brokers asking the controller to move their leaderships away before they stop. */
  controlledShutdown: '/admin/controlled_shutdown',
  /** Kafka's on-demand preferred leader election: {"version":1,"partitions":[{"topic","partition"}]}, deleted by the controller when done. */
  preferredElection: '/admin/preferred_replica_election',
  clusterId: '/cluster/id',
} as const;

export const topicPath = (topic: string): string => `${PATHS.topics}/${topic}`;
export const statePath = (topic: string, partition: number): string => `${PATHS.topics}/${topic}/partitions/${partition}/state`;
/** A replica broker's acknowledgement that it deleted its logs of a topic marked for deletion. */
export const deletionAckPath = (topic: string, brokerId: number): string => `${PATHS.deleteTopics}/${topic}/${brokerId}`;

export interface PartitionState {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  /** The epoch of the controller that wrote this state (see broker/controller/decisions.ts on how readers use it). */
  controllerEpoch: number;
}

/** /brokers/topics/<t> as read: the replica assignment, the topic id (absent on topics created before ids existed) and the znode version. */
export interface TopicAssignment {
  partitions: number[][];
  version: number;
  topicId?: string;
}

export interface ClusterSnapshot extends ClusterView {
  /** Replica assignment per topic (partition → broker ids), with its topic id and znode version. */
  assignments: Map<string, TopicAssignment>;
  /** Partition state znodes with their versions (key `topic/partition`); each carries the controllerEpoch that wrote it. */
  states: Map<string, { state: PartitionState; version: number }>;
  overrides: Map<string, TopicOverrides>;
  pendingDeletions: Set<string>;
  /** Per topic marked for deletion: the brokers that have deleted their logs of it (/admin/delete_topics/<t>/<id>). */
  deletionAcks: Map<string, Set<number>>;
  /** Brokers in a controlled shutdown (/admin/controlled_shutdown/<id>): no leadership or ISR place for them. */
  shuttingDown: Set<number>;
  /** An on-demand preferred leader election waiting for the controller; null when none. */
  preferredElection: Array<{ topic: string; partition: number }> | null;
  controllerEpoch: number;
  /** False for the empty picture before the first successful read: nothing may be concluded from it (such as "no topics"). */
  loaded: boolean;
}

/** What the cache holds, before the derived per-topic views are built. */
interface RawTree {
  clusterId: string;
  controllerId: number;
  controllerEpoch: number;
  brokers: Map<number, BrokerEndpoint>;
  assignments: Map<string, TopicAssignment>;
  states: Map<string, { state: PartitionState; version: number }>;
  overrides: Map<string, TopicOverrides>;
  deletions: Map<string, Set<number>>;
  shuttingDown: Set<number>;
  preferredElection: Array<{ topic: string; partition: number }> | null;
}

function emptyRaw(): RawTree {
  return { clusterId: '', controllerId: -1, controllerEpoch: 0, brokers: new Map(), assignments: new Map(), states: new Map(), overrides: new Map(), deletions: new Map(), shuttingDown: new Set(), preferredElection: null };
}

function cloneRaw(raw: RawTree): RawTree {
  return {
    ...raw,
    brokers: new Map(raw.brokers),
    assignments: new Map(raw.assignments),
    states: new Map(raw.states),
    overrides: new Map(raw.overrides),
    deletions: new Map(raw.deletions),
    shuttingDown: new Set(raw.shuttingDown),
  };
}

/** The snapshot handed to readers (pure). */
export function buildSnapshot(raw: RawTree, loaded: boolean): ClusterSnapshot {
  const topics = new Map<string, TopicView>();
  const topicsById = new Map<string, TopicView>();
  for (const [name, assignment] of [...raw.assignments].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const partitions: PartitionView[] = assignment.partitions.map((replicas, p) => {
      const state = raw.states.get(`${name}/${p}`)?.state;
      return { partition: p, replicas, leader: state?.leader ?? -1, leaderEpoch: state?.leaderEpoch ?? 0, isr: state?.isr ?? [] };
    });
    const view: TopicView = { name, topicId: assignment.topicId ?? ZERO_UUID, partitions, markedForDeletion: raw.deletions.has(name) };
    topics.set(name, view);
    if (assignment.topicId !== undefined) topicsById.set(assignment.topicId, view);
  }
  return {
    loaded,
    clusterId: raw.clusterId,
    controllerId: raw.controllerId,
    controllerEpoch: raw.controllerEpoch,
    brokers: [...raw.brokers.values()].sort((a, b) => a.id - b.id),
    topics,
    topicsById,
    assignments: new Map(raw.assignments),
    states: new Map(raw.states),
    overrides: new Map(raw.overrides),
    pendingDeletions: new Set(raw.deletions.keys()),
    deletionAcks: new Map([...raw.deletions].map(([topic, acks]) => [topic, new Set(acks)])),
    shuttingDown: new Set(raw.shuttingDown),
    preferredElection: raw.preferredElection,
  };
}

// ---------------------------------------------------------------------------
// Parsing: each returns the value or a reason it is not one (pure).

type Parsed<T> = { value: T } | { problem: string };

function json(text: string): Parsed<unknown> {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { problem: 'not JSON' };
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isBrokerId = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;

/** Most partitions per topic: a bound on what a hand-written assignment znode can make the cache read. */
export const PARTITIONS_PER_TOPIC_MAX = 10_000;

export function parseAssignment(text: string): Parsed<number[][]> {
  const parsed = parseTopicNode(text);
  return 'problem' in parsed ? parsed : { value: parsed.value.partitions };
}

/**
 * The topic znode as Kafka's ZooKeeper mode writes it: {"topic_id": "<22-char id>",
 * "partitions": {"0": [1, 2], …}} (Kafka adds "version" and the reassignment maps, which are
 * ignored). A topic written before ids existed has no "topic_id"; one that is not an id is
 * malformed (an invented id would not match what clients hold).
 */
export function parseTopicNode(text: string): Parsed<{ partitions: number[][]; topicId?: string }> {
  const parsed = json(text);
  if ('problem' in parsed) return parsed;
  if (!isObject(parsed.value) || !isObject(parsed.value.partitions)) return { problem: 'no "partitions" object' };
  const topicId = parsed.value.topic_id;
  if (topicId !== undefined && (!isUuidString(topicId) || topicId === ZERO_UUID)) return { problem: '"topic_id" is not a Kafka UUID' };
  const raw = parsed.value.partitions;
  const count = Object.keys(raw).length;
  if (count === 0) return { problem: 'no partitions' };
  if (count > PARTITIONS_PER_TOPIC_MAX) return { problem: `${count} partitions, more than ${PARTITIONS_PER_TOPIC_MAX}` };
  const partitions: number[][] = [];
  for (let p = 0; p < count; p++) {
    const replicas = raw[String(p)];
    if (!Array.isArray(replicas)) return { problem: `partitions are not numbered 0..${count - 1} (no ${p})` };
    if (replicas.length === 0 || !replicas.every(isBrokerId) || new Set(replicas).size !== replicas.length) return { problem: `partition ${p}: replicas must be distinct broker ids` };
    partitions.push(replicas as number[]);
  }
  return { value: topicId === undefined ? { partitions } : { partitions, topicId } };
}

/** The topic znode's data (the inverse of parseTopicNode). */
export function topicNodeData(partitions: number[][], topicId: string | undefined): string {
  const assignment = Object.fromEntries(partitions.map((replicas, p) => [String(p), replicas]));
  return JSON.stringify(topicId === undefined ? { partitions: assignment } : { topic_id: topicId, partitions: assignment });
}

export function parseState(text: string): Parsed<PartitionState> {
  const parsed = json(text);
  if ('problem' in parsed) return parsed;
  if (!isObject(parsed.value)) return { problem: 'not an object' };
  const { leader, leaderEpoch, isr, controllerEpoch } = parsed.value;
  if (!Number.isInteger(leader) || (leader as number) < -1) return { problem: 'leader is not a broker id or -1' };
  if (!Number.isInteger(leaderEpoch) || (leaderEpoch as number) < 0) return { problem: 'leaderEpoch is not a non-negative integer' };
  if (!Array.isArray(isr) || !isr.every(isBrokerId)) return { problem: 'isr is not a list of broker ids' };
  // States written before controller epochs were recorded have none: they count as epoch 0 (older than any controller's).
  if (controllerEpoch !== undefined && (!Number.isInteger(controllerEpoch) || (controllerEpoch as number) < 0)) return { problem: 'controllerEpoch is not a non-negative integer' };
  return { value: { leader: leader as number, leaderEpoch: leaderEpoch as number, isr: isr as number[], controllerEpoch: (controllerEpoch as number | undefined) ?? 0 } };
}

export function parseRegistration(id: number, text: string): Parsed<BrokerEndpoint> {
  const parsed = json(text);
  if ('problem' in parsed) return parsed;
  if (!isObject(parsed.value)) return { problem: 'not an object' };
  const { host, port, rack, metricsUrl } = parsed.value;
  if (typeof host !== 'string' || host === '') return { problem: 'no host' };
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) return { problem: 'port is not a TCP port' };
  if (rack !== undefined && rack !== null && typeof rack !== 'string') return { problem: 'rack is not a string' };
  const endpoint: BrokerEndpoint = { id, host, port: port as number, rack: typeof rack === 'string' ? rack : null };
  // Registrations written before issue 11 carry no metrics URL; a malformed one is only left out.
  if (typeof metricsUrl === 'string') endpoint.metricsUrl = metricsUrl;
  return { value: endpoint };
}

export function parseOverrides(text: string): Parsed<TopicOverrides> {
  const parsed = json(text);
  if ('problem' in parsed) return parsed;
  if (!isObject(parsed.value)) return { problem: 'not an object' };
  for (const [key, value] of Object.entries(parsed.value)) {
    if (typeof value !== 'string' && typeof value !== 'number') return { problem: `${key} is neither a string nor a number` };
  }
  return { value: parsed.value as TopicOverrides };
}

export function parseControllerNode(text: string): Parsed<number> {
  const parsed = json(text);
  if ('problem' in parsed) return parsed;
  if (!isObject(parsed.value) || !isBrokerId(parsed.value.brokerId)) return { problem: 'no brokerId' };
  return { value: parsed.value.brokerId };
}

/** Kafka's preferred_replica_election layout. */
export function parsePreferredElection(text: string): Parsed<Array<{ topic: string; partition: number }>> {
  const parsed = json(text);
  if ('problem' in parsed) return parsed;
  if (!isObject(parsed.value) || !Array.isArray(parsed.value.partitions)) return { problem: 'no "partitions" list' };
  const out: Array<{ topic: string; partition: number }> = [];
  for (const entry of parsed.value.partitions) {
    if (!isObject(entry) || typeof entry.topic !== 'string' || !Number.isInteger(entry.partition) || (entry.partition as number) < 0) return { problem: 'an entry is not {"topic": string, "partition": integer}' };
    out.push({ topic: entry.topic, partition: entry.partition as number });
  }
  return { value: out };
}

export function parseEpoch(text: string): Parsed<number> {
  return /^\d{1,15}$/.test(text.trim()) ? { value: Number(text.trim()) } : { problem: 'not a non-negative integer' };
}

// ---------------------------------------------------------------------------
// What a watch event makes stale.

export type StaleItem =
  | { kind: 'full' }
  | { kind: 'broker'; id: number }
  | { kind: 'topic'; topic: string }
  | { kind: 'state'; topic: string; partition: number }
  | { kind: 'config'; topic: string }
  | { kind: 'deletion'; topic: string }
  | { kind: 'controller' }
  | { kind: 'controllerEpoch' }
  | { kind: 'shutdowns' }
  | { kind: 'preferredElection' }
  | { kind: 'none' };

/** Maps a changed path to what must be read again (pure). A parent of a watched subtree changing means everything. */
export function staleFor(path: string): StaleItem {
  const under = (prefix: string): string[] | null => (path.startsWith(`${prefix}/`) ? path.slice(prefix.length + 1).split('/') : null);
  if (path === PATHS.controller) return { kind: 'controller' };
  if (path === PATHS.controllerEpoch) return { kind: 'controllerEpoch' };
  if (path === PATHS.controlledShutdown || path.startsWith(`${PATHS.controlledShutdown}/`)) return { kind: 'shutdowns' };
  if (path === PATHS.preferredElection) return { kind: 'preferredElection' };
  const ids = under(PATHS.brokerIds);
  if (ids !== null) return ids.length === 1 && /^\d{1,9}$/.test(ids[0]!) ? { kind: 'broker', id: Number(ids[0]) } : { kind: 'none' };
  const topics = under(PATHS.topics);
  if (topics !== null) {
    const [topic, ...rest] = topics;
    if (rest.length === 0) return { kind: 'topic', topic: topic! };
    if (rest.length === 3 && rest[0] === 'partitions' && /^\d{1,9}$/.test(rest[1]!) && rest[2] === 'state') return { kind: 'state', topic: topic!, partition: Number(rest[1]) };
    return { kind: 'none' }; // the empty partitions/ and partitions/<p> nodes carry nothing
  }
  const configs = under(PATHS.configTopics);
  if (configs !== null) return configs.length === 1 ? { kind: 'config', topic: configs[0]! } : { kind: 'none' };
  const deletions = under(PATHS.deleteTopics);
  if (deletions !== null) return deletions.length <= 2 ? { kind: 'deletion', topic: deletions[0]! } : { kind: 'none' };
  return { kind: 'full' };
}

const itemKey = (item: StaleItem): string => JSON.stringify(item);

// ---------------------------------------------------------------------------

async function dataOrNull(client: CoordinatorClient, path: string): Promise<{ data: string; version: number } | null> {
  const found = await unlessCode(client.getData(path), ['NoNode'], null);
  return found === null ? null : { data: found.data, version: found.stat.version };
}

async function childrenOrNull(client: CoordinatorClient, path: string): Promise<string[] | null> {
  return (await unlessCode(client.getChildren(path), ['NoNode'], null))?.children ?? null;
}

/** A failed read of the tree (not a lost connection) is tried again this many times, this far apart (times the attempt). */
const READ_ATTEMPTS_MAX = 5;
const READ_RETRY_DELAY_MS = 100;

export class MetadataCache extends EventEmitter {
  private raw: RawTree = emptyRaw();
  private current: ClusterSnapshot = buildSnapshot(emptyRaw(), false);
  private working: Promise<void> | null = null;
  private fullWanted = false;
  private stale = new Map<string, StaleItem>();
  private stopped = false;

  constructor(
    private client: CoordinatorClient,
    private readonly logger: Logger,
  ) {
    super();
  }

  get view(): ClusterSnapshot {
    return this.current;
  }

  /** Watches the tree and reads it once; resolves when the first picture is in. */
  async start(client: CoordinatorClient = this.client): Promise<void> {
    this.client = client;
    const onEvent = (event: WatchEventFrame): void => {
      if (client !== this.client || this.stopped) return;
      this.markStale(staleFor(event.path));
    };
    await client.addWatch(PATHS.brokers, 'persistentRecursive', onEvent);
    await client.addWatch(PATHS.controller, 'persistent', onEvent);
    await client.addWatch(PATHS.controllerEpoch, 'persistent', onEvent);
    await client.addWatch(PATHS.configTopics, 'persistentRecursive', onEvent);
    await client.addWatch(PATHS.deleteTopics, 'persistentRecursive', onEvent);
    await client.addWatch(PATHS.controlledShutdown, 'persistentRecursive', onEvent);
    await client.addWatch(PATHS.preferredElection, 'persistent', onEvent);
    // Events that happened while disconnected may not all be replayed: read everything again.
    client.on('state', (state) => {
      if (state === 'connected' && client === this.client && !this.stopped) void this.refresh();
    });
    await this.refresh();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Re-reads the whole tree (coalescing concurrent calls); resolves when a read that began after the call is done. Never rejects. */
  refresh(): Promise<void> {
    this.fullWanted = true;
    return this.kick();
  }

  /** Resolves once `predicate` holds for the cached view, or false after `timeoutMs`. */
  waitFor(predicate: (view: ClusterSnapshot) => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate(this.current)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onChange = (view: ClusterSnapshot): void => {
        if (!predicate(view)) return;
        clearTimeout(timer);
        this.off('change', onChange);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.off('change', onChange);
        resolve(false);
      }, timeoutMs);
      this.on('change', onChange);
    });
  }

  private markStale(item: StaleItem): void {
    if (item.kind === 'none') return;
    if (item.kind === 'full') this.fullWanted = true;
    else this.stale.set(itemKey(item), item);
    void this.kick();
  }

  /** One worker at a time; it runs until nothing is pending, so the promise covers anything asked before it ends. */
  private kick(): Promise<void> {
    if (this.working !== null) return this.working;
    this.working = (async () => {
      let failures = 0;
      while ((this.fullWanted || this.stale.size > 0) && !this.stopped) {
        const full = this.fullWanted || !this.current.loaded;
        const items = [...this.stale.values()];
        this.fullWanted = false;
        this.stale.clear();
        try {
          this.raw = full ? await this.readAll(this.client) : await this.readSome(this.client, this.raw, items);
          failures = 0;
          this.current = buildSnapshot(this.raw, true);
          this.emit('change', this.current);
        } catch (error) {
          if (this.stopped) return;
          failures++;
          this.fullWanted = true; // what this batch should have read is unknown now: read all next time
          this.logger.warn({ err: error instanceof Error ? error.message : String(error), failures, full }, 'metadata.read_failed');
          // A lost connection is retried on reconnect (the 'connected' listener); anything else a few times, spaced out.
          if (hasCode(error, 'ConnectionLoss', 'SessionExpired') || failures >= READ_ATTEMPTS_MAX) return;
          await new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAY_MS * failures));
        }
      }
    })().finally(() => {
      this.working = null;
    });
    return this.working;
  }

  private malformed(path: string, problem: string): void {
    this.logger.warn({ path, problem }, 'metadata.malformed');
  }

  private async readAll(client: CoordinatorClient): Promise<RawTree> {
    const next = emptyRaw();
    const [clusterId, controller, epoch, ids, topics, configTopics, deletions] = await Promise.all([
      dataOrNull(client, PATHS.clusterId),
      dataOrNull(client, PATHS.controller),
      dataOrNull(client, PATHS.controllerEpoch),
      childrenOrNull(client, PATHS.brokerIds),
      childrenOrNull(client, PATHS.topics),
      childrenOrNull(client, PATHS.configTopics),
      childrenOrNull(client, PATHS.deleteTopics),
    ]);
    await Promise.all([this.readShutdowns(client, next), this.readPreferredElection(client, next)]);
    next.clusterId = clusterId?.data ?? '';
    next.controllerId = this.controllerFrom(controller);
    next.controllerEpoch = this.epochFrom(epoch);
    // Everything below in parallel: the client pipelines the reads.
    await Promise.all([
      ...(ids ?? []).filter((id) => /^\d{1,9}$/.test(id)).map((id) => this.readBroker(client, next, Number(id))),
      ...(topics ?? []).map((topic) => this.readTopic(client, next, topic)),
      ...(configTopics ?? []).map((topic) => this.readConfig(client, next, topic)),
      ...(deletions ?? []).map((topic) => this.readDeletion(client, next, topic)),
    ]);
    return next;
  }

  /** Re-reads `items` into a copy of `raw` (all in parallel); `raw` itself is untouched if a read fails. */
  private async readSome(client: CoordinatorClient, raw: RawTree, items: StaleItem[]): Promise<RawTree> {
    const next = cloneRaw(raw);
    const wholeTopics = new Set(items.flatMap((item) => (item.kind === 'topic' ? [item.topic] : [])));
    await Promise.all(items.map(async (item) => {
      switch (item.kind) {
        case 'broker':
          return this.readBroker(client, next, item.id);
        case 'topic':
          return this.readTopic(client, next, item.topic);
        case 'state':
          if (!wholeTopics.has(item.topic)) await this.readOneState(client, next, item.topic, item.partition);
          return;
        case 'config':
          return this.readConfig(client, next, item.topic);
        case 'deletion':
          return this.readDeletion(client, next, item.topic);
        case 'controller':
          next.controllerId = this.controllerFrom(await dataOrNull(client, PATHS.controller));
          return;
        case 'controllerEpoch':
          next.controllerEpoch = this.epochFrom(await dataOrNull(client, PATHS.controllerEpoch));
          return;
        case 'shutdowns':
          return this.readShutdowns(client, next);
        case 'preferredElection':
          return this.readPreferredElection(client, next);
        case 'full':
        case 'none':
          return;
      }
    }));
    return next;
  }

  private controllerFrom(node: { data: string } | null): number {
    if (node === null) return -1;
    const parsed = parseControllerNode(node.data);
    if ('problem' in parsed) {
      this.malformed(PATHS.controller, parsed.problem);
      return -1;
    }
    return parsed.value;
  }

  private epochFrom(node: { data: string } | null): number {
    if (node === null) return 0;
    const parsed = parseEpoch(node.data);
    if ('problem' in parsed) {
      this.malformed(PATHS.controllerEpoch, parsed.problem);
      return 0;
    }
    return parsed.value;
  }

  private async readBroker(client: CoordinatorClient, into: RawTree, id: number): Promise<void> {
    const path = `${PATHS.brokerIds}/${id}`;
    const node = await dataOrNull(client, path);
    into.brokers.delete(id);
    if (node === null) return;
    const parsed = parseRegistration(id, node.data);
    if ('problem' in parsed) this.malformed(path, parsed.problem);
    else into.brokers.set(id, parsed.value);
  }

  private async readTopic(client: CoordinatorClient, into: RawTree, topic: string): Promise<void> {
    const node = await dataOrNull(client, topicPath(topic));
    const parsed = node === null ? null : parseTopicNode(node.data);
    if (parsed !== null && 'problem' in parsed) this.malformed(topicPath(topic), parsed.problem);
    const partitions = parsed !== null && 'value' in parsed ? parsed.value.partitions : null;
    const topicId = parsed !== null && 'value' in parsed ? parsed.value.topicId : undefined;
    const states = partitions === null ? [] : await Promise.all(partitions.map((_, p) => dataOrNull(client, statePath(topic, p))));
    into.assignments.delete(topic);
    for (const key of [...into.states.keys()]) if (key.startsWith(`${topic}/`) && !key.slice(topic.length + 1).includes('/')) into.states.delete(key);
    if (partitions === null || node === null) return;
    into.assignments.set(topic, topicId === undefined ? { partitions, version: node.version } : { partitions, version: node.version, topicId });
    states.forEach((stateNode, p) => this.applyState(into, topic, p, stateNode));
  }

  private async readOneState(client: CoordinatorClient, into: RawTree, topic: string, partition: number): Promise<void> {
    const assignment = into.assignments.get(topic);
    if (assignment === undefined || partition >= assignment.partitions.length) return; // the topic's own event brings it
    this.applyState(into, topic, partition, await dataOrNull(client, statePath(topic, partition)));
  }

  private applyState(into: RawTree, topic: string, partition: number, node: { data: string; version: number } | null): void {
    const key = `${topic}/${partition}`;
    into.states.delete(key);
    if (node === null) return;
    const parsed = parseState(node.data);
    if ('problem' in parsed) this.malformed(statePath(topic, partition), parsed.problem);
    else into.states.set(key, { state: parsed.value, version: node.version });
  }

  private async readConfig(client: CoordinatorClient, into: RawTree, topic: string): Promise<void> {
    const path = `${PATHS.configTopics}/${topic}`;
    const node = await dataOrNull(client, path);
    into.overrides.delete(topic);
    if (node === null) return;
    const parsed = parseOverrides(node.data);
    if ('problem' in parsed) this.malformed(path, parsed.problem);
    else into.overrides.set(topic, parsed.value);
  }

  private async readShutdowns(client: CoordinatorClient, into: RawTree): Promise<void> {
    const children = await childrenOrNull(client, PATHS.controlledShutdown);
    into.shuttingDown = new Set((children ?? []).filter((child) => /^\d{1,9}$/.test(child)).map(Number));
  }

  private async readPreferredElection(client: CoordinatorClient, into: RawTree): Promise<void> {
    const node = await dataOrNull(client, PATHS.preferredElection);
    into.preferredElection = null;
    if (node === null) return;
    const parsed = parsePreferredElection(node.data);
    if ('problem' in parsed) this.malformed(PATHS.preferredElection, parsed.problem);
    else into.preferredElection = parsed.value;
  }

  private async readDeletion(client: CoordinatorClient, into: RawTree, topic: string): Promise<void> {
    const path = `${PATHS.deleteTopics}/${topic}`;
    const children = await childrenOrNull(client, path);
    into.deletions.delete(topic);
    if (children === null) return;
    const acks = new Set<number>();
    for (const child of children) {
      if (/^\d{1,9}$/.test(child)) acks.add(Number(child));
      else this.malformed(`${path}/${child}`, 'not a broker id');
    }
    into.deletions.set(topic, acks);
  }
}
