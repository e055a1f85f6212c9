/**
 * What the Kafka-facing CLI commands share: a bootstrap connection (falling back to the brokers
 * registered in the coordinator when no --bootstrap broker answers: broker-discovery.ts),
 * Metadata, connections to the controller and to partition leaders, one-line errors, and
 * Kafka's default partitioner.
 */
import type { Argv } from 'yargs';
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaConnection, KafkaConnectionError } from '../shared/kafka/client';
import { kafkaErrorName } from '../shared/kafka/errors';
import { registeredBrokers } from './broker-discovery';

export interface BootstrapArgs {
  bootstrap: string;
  coordinator: string;
  json: boolean;
}

/**
 * --bootstrap, and --coordinator: where to find live brokers when none of the bootstrap ones
 * answers (the same option and default as the tree commands').
 */
export function bootstrapOptions<T>(yargs: Argv<T>): Argv<T & BootstrapArgs> {
  return yargs
    .option('bootstrap', { type: 'string', default: process.env.SAMSA_BOOTSTRAP ?? '127.0.0.1:9092', describe: 'broker host:port list, comma-separated (env SAMSA_BOOTSTRAP)' })
    .option('coordinator', {
      type: 'string',
      default: process.env.SAMSA_COORDINATOR ?? 'ws://127.0.0.1:2181',
      describe: 'coordinator URL(s), comma-separated (env SAMSA_COORDINATOR); live brokers are looked up there when no --bootstrap broker answers',
    })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as Argv<T & BootstrapArgs>;
}

/** An operating error printed as one line `<KAFKA_ERROR_NAME>: <detail>`. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** A broker the latest Metadata does not list (it died, or has not registered yet): worth a fresh Metadata. */
export class BrokerNotLiveError extends CliError {}

/** A partition leader's connection failed or the leader is no longer listed: look the leaders up again and carry on. */
export function leaderGone(error: unknown): boolean {
  return error instanceof KafkaConnectionError || error instanceof BrokerNotLiveError;
}

export function kafkaFailure(errorCode: number, detail: string, message?: string | null): CliError {
  return new CliError(`${kafkaErrorName(errorCode)}: ${detail}${message ? ` (${message})` : ''}`);
}

export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
}
export interface MetadataPartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  replicaNodes: number[];
  isrNodes: number[];
}
export interface MetadataTopic {
  errorCode: number;
  name: string;
  partitions: MetadataPartition[];
}
export interface Metadata {
  brokers: MetadataBroker[];
  clusterId: string | null;
  controllerId: number;
  topics: MetadataTopic[];
}

const CONNECT_TIMEOUT_MS = 5000;
/** How long a request may go unanswered (a broker stopped with SIGSTOP accepts connections but never answers). */
export const REQUEST_TIMEOUT_MS = 30_000;

/** How long to wait for a controller while the last one is dead and not yet replaced (the brokers' session timeout is 3 s by default). */
const CONTROLLER_WAIT_MS = 15_000;
const CONTROLLER_RETRY_MS = 250;

export interface SessionOptions {
  requestTimeoutMs?: number;
  /** Coordinator URL(s) where live brokers are looked up when no known broker answers; none: no look-up. */
  coordinator?: string;
}

/**
 * Connections to a cluster, opened on demand and closed together. A request for "any broker"
 * tries the one that answered last, then every --bootstrap address, then the brokers the latest
 * Metadata named, then the brokers registered in the coordinator: a CLI pointed at a broker that
 * just died still finds the live ones.
 */
export class KafkaSession {
  private readonly connections = new Map<string, Promise<KafkaConnection>>();
  metadataCache: Metadata | null = null;
  private lastAnswered: string | null = null;
  private registered: string[] = [];

  constructor(
    private readonly bootstrap: string[],
    private readonly options: SessionOptions = {},
  ) {}

  static fromArgs(args: { bootstrap: string; coordinator?: string }, options: SessionOptions = {}): KafkaSession {
    return new KafkaSession(args.bootstrap.split(',').map((entry) => entry.trim()).filter(Boolean), { coordinator: args.coordinator, ...options });
  }

  /** An open connection to `address` (a cached one that has since closed, its broker gone, is replaced). */
  async connect(address: string): Promise<KafkaConnection> {
    const cached = this.connections.get(address);
    if (cached !== undefined) {
      const open = await cached.catch(() => null);
      if (open !== null && !open.isClosed) return open;
      if (this.connections.get(address) !== cached) return this.connect(address);
      this.connections.delete(address);
    }
    const colon = address.lastIndexOf(':');
    const connection = KafkaConnection.connect(address.slice(0, colon), Number(address.slice(colon + 1)), {
      clientId: 'samsa-cli',
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      requestTimeoutMs: this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    });
    connection.catch(() => {
      if (this.connections.get(address) === connection) this.connections.delete(address);
    });
    this.connections.set(address, connection);
    return connection;
  }

  async any(): Promise<KafkaConnection> {
    return this.onAnyBroker(async (connection) => connection);
  }

  /** From the first broker that answers: one that is down or does not answer in time is skipped. */
  async metadata(topics: string[] | null, allowAutoTopicCreation = false): Promise<Metadata> {
    const metadata = await this.onAnyBroker((connection) =>
      connection.request<Metadata>(ApiKey.Metadata, 4, { topics: topics === null ? null : topics.map((name) => ({ name })), allowAutoTopicCreation }),
    );
    this.metadataCache = metadata;
    return metadata;
  }

  /** The addresses worth trying, in order, without repeats. */
  private candidates(): string[] {
    const named = this.metadataCache?.brokers.map((b) => `${b.host}:${b.port}`) ?? [];
    return [...new Set([...(this.lastAnswered === null ? [] : [this.lastAnswered]), ...this.bootstrap, ...named, ...this.registered])];
  }

  /**
   * `action` on the first broker that connects and answers (connection failures and timeouts
   * move on to the next; Kafka errors do not). Asks the coordinator for the registered brokers
   * once every known address failed; then fails with one line naming what was tried.
   */
  private async onAnyBroker<R>(action: (connection: KafkaConnection) => Promise<R>): Promise<R> {
    const failed = new Map<string, string>();
    const attempt = async (addresses: string[]): Promise<{ result: R } | null> => {
      for (const address of addresses) {
        if (failed.has(address)) continue;
        try {
          const result = await action(await this.connect(address));
          this.lastAnswered = address;
          return { result };
        } catch (error) {
          if (!(error instanceof KafkaConnectionError)) throw error;
          failed.set(address, error.message);
        }
      }
      return null;
    };
    const found = await attempt(this.candidates());
    if (found !== null) return found.result;
    let coordinatorAnswer = '';
    if (this.options.coordinator !== undefined && this.options.coordinator !== '') {
      try {
        const brokers = await registeredBrokers(this.options.coordinator);
        this.registered = brokers.map((b) => `${b.host}:${b.port}`);
        const viaCoordinator = await attempt(this.registered);
        if (viaCoordinator !== null) return viaCoordinator.result;
        coordinatorAnswer =
          brokers.length === 0
            ? `the coordinator at ${this.options.coordinator} has no live broker registered`
            : `the coordinator at ${this.options.coordinator} lists ${brokers.map((b) => `broker ${b.id} at ${b.host}:${b.port}`).join(', ')}, none reachable`;
      } catch (error) {
        coordinatorAnswer = `coordinator ${this.options.coordinator}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    const firstReason = failed.values().next().value;
    throw new CliError(`BROKER_NOT_AVAILABLE: could not reach ${[...failed.keys()].join(', ') || '(no address given)'}${firstReason === undefined ? '' : ` (${firstReason})`}${coordinatorAnswer === '' ? '' : `; ${coordinatorAnswer}`}`);
  }

  /** Broker `id`'s connection, found in the latest Metadata (fetched when there is none yet). */
  async broker(id: number): Promise<KafkaConnection> {
    const metadata = this.metadataCache ?? (await this.metadata([]));
    const broker = metadata.brokers.find((b) => b.nodeId === id);
    if (broker === undefined) throw new BrokerNotLiveError(`BROKER_NOT_AVAILABLE: broker ${id} is not live`);
    return this.connect(`${broker.host}:${broker.port}`);
  }

  /**
   * The controller's connection. Metadata may still name a controller that just died (until
   * its coordinator session expires and another broker takes over): ask again, bounded.
   */
  async controller(waitMs = CONTROLLER_WAIT_MS): Promise<KafkaConnection> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const metadata = await this.metadata([]);
      let failure: string;
      if (metadata.controllerId < 0) failure = 'NOT_CONTROLLER: the cluster has no controller right now';
      else {
        try {
          return await this.broker(metadata.controllerId);
        } catch (error) {
          if (!(error instanceof KafkaConnectionError) && !(error instanceof BrokerNotLiveError)) throw error;
          failure = `NOT_CONTROLLER: the controller (broker ${metadata.controllerId}) is not reachable: ${error.message}`;
        }
      }
      if (Date.now() + CONTROLLER_RETRY_MS > deadline) throw new CliError(failure);
      await new Promise((resolve) => setTimeout(resolve, CONTROLLER_RETRY_MS));
    }
  }

  async close(): Promise<void> {
    for (const connection of this.connections.values()) {
      try {
        (await connection).close();
      } catch {
        // never connected
      }
    }
    this.connections.clear();
  }
}

export async function withSession<R>(args: { bootstrap: string; coordinator?: string }, action: (session: KafkaSession) => Promise<R>, options: SessionOptions = {}): Promise<R> {
  const session = KafkaSession.fromArgs(args, options);
  try {
    return await action(session);
  } finally {
    await session.close();
  }
}

/**
 * Kafka's murmur2 (the Java client's Utils.murmur2), for the default partitioner, so keyed
 * records land on the same partitions as with Kafka's own producers. Hand-written: it is 20
 * lines and no maintained npm package exports exactly this variant.
 */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const seed = 0x9747b28c;
  let h = (seed ^ data.length) | 0;
  const length4 = data.length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = data.length & ~3;
  const rest = data.length % 4;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's default partition for a key: toPositive(murmur2(key)) % partitions. */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
