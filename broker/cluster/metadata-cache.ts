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
import { CoordinatorError, unlessCode } from '../../shared/coordinator/protocol';
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
}

function emptySnapshot(): ClusterSnapshot {
  return { clusterId: '', controllerId: -1, brokers: [], topics: new Map(), assignments: new Map(), states: new Map(), overrides: new Map(), pendingDeletions: new Set(), controllerEpoch: 0 };
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
      do {
        this.again = false;
        try {
          this.current = await this.read();
          this.emit('change', this.current);
        } catch (error) {
          if (this.stopped) return;
          this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'metadata.read_failed');
          if (!(error instanceof CoordinatorError && (error.code === 'ConnectionLoss' || error.code === 'SessionExpired'))) this.again = true;
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
    next.clusterId = (await dataOrNull(client, PATHS.clusterId))?.data ?? '';
    next.controllerId = parseJson<{ brokerId?: number }>((await dataOrNull(client, PATHS.controller))?.data, {}).brokerId ?? -1;
    next.controllerEpoch = Number((await dataOrNull(client, PATHS.controllerEpoch))?.data ?? 0) || 0;
    const brokers: BrokerEndpoint[] = [];
    for (const id of await childrenOrEmpty(client, PATHS.brokerIds)) {
      const registration = await dataOrNull(client, `${PATHS.brokerIds}/${id}`);
      if (registration === null) continue;
      const parsed = parseJson<{ host?: string; port?: number; rack?: string | null }>(registration.data, {});
      if (typeof parsed.host === 'string' && typeof parsed.port === 'number') brokers.push({ id: Number(id), host: parsed.host, port: parsed.port, rack: parsed.rack ?? null });
    }
    next.brokers = brokers.sort((a, b) => a.id - b.id);
    for (const name of await childrenOrEmpty(client, PATHS.deleteTopics)) next.pendingDeletions.add(name);
    for (const topic of await childrenOrEmpty(client, PATHS.topics)) {
      const assignmentNode = await dataOrNull(client, topicPath(topic));
      if (assignmentNode === null) continue;
      const raw = parseJson<{ partitions?: Record<string, number[]> }>(assignmentNode.data, {}).partitions ?? {};
      const count = Object.keys(raw).length;
      const partitions: number[][] = [];
      for (let p = 0; p < count; p++) partitions.push(raw[String(p)] ?? []);
      next.assignments.set(topic, { partitions, version: assignmentNode.version });
      const views: PartitionView[] = [];
      for (let p = 0; p < count; p++) {
        const stateNode = await dataOrNull(client, statePath(topic, p));
        const state = stateNode === null ? null : parseJson<PartitionState | null>(stateNode.data, null);
        if (stateNode !== null && state !== null) next.states.set(`${topic}/${p}`, { state, version: stateNode.version });
        views.push({ partition: p, replicas: partitions[p]!, leader: state?.leader ?? -1, leaderEpoch: state?.leaderEpoch ?? 0, isr: state?.isr ?? [] });
      }
      const view: TopicView = { name: topic, partitions: views, markedForDeletion: next.pendingDeletions.has(topic) };
      next.topics.set(topic, view);
    }
    for (const topic of await childrenOrEmpty(client, PATHS.configTopics)) {
      next.overrides.set(topic, parseJson<TopicOverrides>((await dataOrNull(client, `${PATHS.configTopics}/${topic}`))?.data, {}));
    }
    return next;
  }
}
