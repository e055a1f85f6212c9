/**
 * The broker's picture of the cluster, read from the coordinator tree and kept fresh by
 * persistent watches (on /brokers recursively, /controller, /config/topics, /admin/delete_topics).
 *
 * Any event schedules one re-read of the whole picture (coalesced: events arriving during a
 * read cause exactly one more). A full re-read costs a few reads per partition; it keeps the
 * cache trivially correct, including after a session expiry, at the scale this project runs.
 * Emits 'change' after each re-read.
 */
import { EventEmitter } from 'events';
import type { Logger } from '../../shared/logging';
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { hasCode, unlessCode } from '../../shared/coordinator/protocol';
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
  clusterId: '/cluster/id',
} as const;

export const topicPath = (topic: string): string => `${PATHS.topics}/${topic}`;
export const statePath = (topic: string, partition: number): string => `${PATHS.topics}/${topic}/partitions/${partition}/state`;

export interface PartitionState {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  controllerEpoch: number;
}

export interface ClusterSnapshot extends ClusterView {
  /** Replica assignment per topic (partition → broker ids), with its znode version. */
  assignments: Map<string, { partitions: number[][]; version: number }>;
  /** Partition state znodes with their versions (key `topic/partition`). */
  states: Map<string, { state: PartitionState; version: number }>;
  overrides: Map<string, TopicOverrides>;
  pendingDeletions: Set<string>;
  controllerEpoch: number;
  /** False for the empty picture before the first successful read: nothing may be concluded from it (such as "no topics"). */
  loaded: boolean;
}

function emptySnapshot(): ClusterSnapshot {
  return { loaded: false, clusterId: '', controllerId: -1, brokers: [], topics: new Map(), assignments: new Map(), states: new Map(), overrides: new Map(), pendingDeletions: new Set(), controllerEpoch: 0 };
}

async function dataOrNull(client: CoordinatorClient, path: string): Promise<{ data: string; version: number } | null> {
  const found = await unlessCode(client.getData(path), ['NoNode'], null);
  return found === null ? null : { data: found.data, version: found.stat.version };
}

async function childrenOrEmpty(client: CoordinatorClient, path: string): Promise<string[]> {
  return (await unlessCode(client.getChildren(path), ['NoNode'], null))?.children ?? [];
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** A state znode's JSON, or null when it is not one (hand-edited, truncated). */
function parseState(text: string): PartitionState | null {
  const parsed = parseJson<Partial<PartitionState> | null>(text, null);
  if (parsed === null || typeof parsed !== 'object') return null;
  const { leader, leaderEpoch, isr, controllerEpoch } = parsed;
  if (!Number.isInteger(leader) || !Number.isInteger(leaderEpoch) || !Array.isArray(isr) || !isr.every((id) => Number.isInteger(id))) return null;
  return { leader: leader!, leaderEpoch: leaderEpoch!, isr, controllerEpoch: Number.isInteger(controllerEpoch) ? controllerEpoch! : 0 };
}

/** Most partitions read per topic: a bound on what a hand-written assignment znode can make the cache read. */
export const PARTITIONS_PER_TOPIC_MAX = 10_000;
/** A failed read of the tree (not a lost connection) is tried again this many times, this far apart (times the attempt). */
const READ_ATTEMPTS_MAX = 5;
const READ_RETRY_DELAY_MS = 100;

export class MetadataCache extends EventEmitter {
  private current: ClusterSnapshot = emptySnapshot();
  private reading: Promise<void> | null = null;
  private again = false;
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
    const onEvent = (): void => void this.refresh();
    await client.addWatch(PATHS.brokers, 'persistentRecursive', onEvent);
    await client.addWatch(PATHS.controller, 'persistent', onEvent);
    await client.addWatch(PATHS.configTopics, 'persistentRecursive', onEvent);
    await client.addWatch(PATHS.deleteTopics, 'persistentRecursive', onEvent);
    // Events that happened while disconnected may not all be replayed: read everything again.
    client.on('state', (state) => {
      if (state === 'connected' && client === this.client && !this.stopped) void this.refresh();
    });
    await this.refresh();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Re-reads the tree (coalescing concurrent calls); resolves when a read that began after the call is done. */
  refresh(): Promise<void> {
    if (this.reading !== null) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      let failures = 0;
      do {
        this.again = false;
        try {
          this.current = await this.read();
          failures = 0;
          this.emit('change', this.current);
        } catch (error) {
          if (this.stopped) return;
          failures++;
          this.logger.warn({ err: error instanceof Error ? error.message : String(error), failures }, 'metadata.read_failed');
          // A lost connection is retried on reconnect (the 'connected' listener); anything else a few times, spaced out.
          if (!hasCode(error, 'ConnectionLoss', 'SessionExpired') && failures < READ_ATTEMPTS_MAX) {
            this.again = true;
            await new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAY_MS * failures));
          }
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.reading = null;
    });
    return this.reading;
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

  private async read(): Promise<ClusterSnapshot> {
    const client = this.client;
    const next = emptySnapshot();
    next.loaded = true;
    next.clusterId = (await dataOrNull(client, PATHS.clusterId))?.data ?? '';
    const controllerId = parseJson<{ brokerId?: unknown } | null>((await dataOrNull(client, PATHS.controller))?.data, null)?.brokerId;
    next.controllerId = Number.isInteger(controllerId) ? (controllerId as number) : -1;
    next.controllerEpoch = Number((await dataOrNull(client, PATHS.controllerEpoch))?.data ?? 0) || 0;
    const brokers: BrokerEndpoint[] = [];
    const ids = (await childrenOrEmpty(client, PATHS.brokerIds)).filter((id) => /^\d{1,9}$/.test(id));
    const registrations = await Promise.all(ids.map((id) => dataOrNull(client, `${PATHS.brokerIds}/${id}`)));
    ids.forEach((id, index) => {
      const registration = registrations[index] ?? null;
      if (registration === null) return; // went between the listing and the read
      const parsed = parseJson<{ host?: unknown; port?: unknown; rack?: unknown }>(registration.data, {});
      if (typeof parsed.host === 'string' && Number.isInteger(parsed.port)) {
        brokers.push({ id: Number(id), host: parsed.host, port: parsed.port as number, rack: typeof parsed.rack === 'string' ? parsed.rack : null });
      }
    });
    next.brokers = brokers.sort((a, b) => a.id - b.id);
    for (const name of await childrenOrEmpty(client, PATHS.deleteTopics)) next.pendingDeletions.add(name);
    // Topics, and partitions within a topic, are read concurrently: the client pipelines them.
    const topics = await Promise.all((await childrenOrEmpty(client, PATHS.topics)).map((topic) => this.readTopic(client, topic)));
    for (const found of topics) {
      if (found === null) continue;
      next.assignments.set(found.name, found.assignment);
      for (const [key, state] of found.states) next.states.set(key, state);
      next.topics.set(found.name, { name: found.name, partitions: found.partitions, markedForDeletion: next.pendingDeletions.has(found.name) });
    }
    const configTopics = await childrenOrEmpty(client, PATHS.configTopics);
    const configs = await Promise.all(configTopics.map((topic) => dataOrNull(client, `${PATHS.configTopics}/${topic}`)));
    configTopics.forEach((topic, index) => next.overrides.set(topic, parseJson<TopicOverrides>(configs[index]?.data, {})));
    return next;
  }

  private async readTopic(client: CoordinatorClient, topic: string): Promise<{
    name: string;
    assignment: { partitions: number[][]; version: number };
    partitions: PartitionView[];
    states: Array<[string, { state: PartitionState; version: number }]>;
  } | null> {
    const assignmentNode = await dataOrNull(client, topicPath(topic));
    if (assignmentNode === null) return null;
    const raw = parseJson<{ partitions?: Record<string, unknown> }>(assignmentNode.data, {}).partitions ?? {};
    const count = Math.min(Object.keys(raw).length, PARTITIONS_PER_TOPIC_MAX);
    const partitions: number[][] = [];
    for (let p = 0; p < count; p++) {
      const replicas = raw[String(p)];
      partitions.push(Array.isArray(replicas) ? replicas.filter((id): id is number => Number.isInteger(id)) : []);
    }
    const stateNodes = await Promise.all(partitions.map((_, p) => dataOrNull(client, statePath(topic, p))));
    const states: Array<[string, { state: PartitionState; version: number }]> = [];
    const views: PartitionView[] = partitions.map((replicas, p) => {
      const stateNode = stateNodes[p] ?? null;
      const state = stateNode === null ? null : parseState(stateNode.data);
      if (stateNode !== null && state !== null) states.push([`${topic}/${p}`, { state, version: stateNode.version }]);
      return { partition: p, replicas, leader: state?.leader ?? -1, leaderEpoch: state?.leaderEpoch ?? 0, isr: state?.isr ?? [] };
    });
    return { name: topic, assignment: { partitions, version: assignmentNode.version }, partitions: views, states };
  }
}
