/**
 * What the Kafka-facing CLI commands share: a bootstrap connection, Metadata, connections to
 * the controller and to partition leaders, one-line errors, and Kafka's default partitioner.
 */
import type { Argv } from 'yargs';
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaConnection, KafkaConnectionError } from '../shared/kafka/client';
import { kafkaErrorName } from '../shared/kafka/errors';

export interface BootstrapArgs {
  bootstrap: string;
  json: boolean;
}

export function bootstrapOptions<T>(yargs: Argv<T>): Argv<T & BootstrapArgs> {
  return yargs
    .option('bootstrap', { type: 'string', default: process.env.SAMSA_BOOTSTRAP ?? '127.0.0.1:9092', describe: 'broker host:port list, comma-separated' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as Argv<T & BootstrapArgs>;
}

/** An operating error printed as one line `<KAFKA_ERROR_NAME>: <detail>`. */
export class CliError extends Error {
  override readonly name = 'CliError';
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

export interface SessionOptions {
  requestTimeoutMs?: number;
}

/** Connections to a cluster, opened on demand and closed together. */
export class KafkaSession {
  private readonly connections = new Map<string, Promise<KafkaConnection>>();
  metadataCache: Metadata | null = null;

  constructor(
    private readonly bootstrap: string[],
    private readonly options: SessionOptions = {},
  ) {}

  static fromArgs(args: { bootstrap: string }, options: SessionOptions = {}): KafkaSession {
    return new KafkaSession(args.bootstrap.split(',').map((entry) => entry.trim()).filter(Boolean), options);
  }

  connect(address: string): Promise<KafkaConnection> {
    let connection = this.connections.get(address);
    if (connection === undefined) {
      const colon = address.lastIndexOf(':');
      connection = KafkaConnection.connect(address.slice(0, colon), Number(address.slice(colon + 1)), {
        clientId: 'samsa-cli',
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        requestTimeoutMs: this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
      });
      connection.catch(() => this.connections.delete(address));
      this.connections.set(address, connection);
    }
    return connection;
  }

  async any(): Promise<KafkaConnection> {
    let last: unknown = null;
    for (const address of this.bootstrap) {
      try {
        return await this.connect(address);
      } catch (error) {
        last = error;
      }
    }
    throw new CliError(`BROKER_NOT_AVAILABLE: could not reach ${this.bootstrap.join(', ')}${last instanceof Error ? ` (${last.message})` : ''}`);
  }

  /** From the first bootstrap broker that answers: one that is down or does not answer in time is skipped. */
  async metadata(topics: string[] | null, allowAutoTopicCreation = false): Promise<Metadata> {
    let last: unknown = null;
    for (const address of this.bootstrap) {
      try {
        const connection = await this.connect(address);
        const metadata = await connection.request<Metadata>(ApiKey.Metadata, 4, { topics: topics === null ? null : topics.map((name) => ({ name })), allowAutoTopicCreation });
        this.metadataCache = metadata;
        return metadata;
      } catch (error) {
        if (!(error instanceof KafkaConnectionError)) throw error;
        last = error;
      }
    }
    throw new CliError(`BROKER_NOT_AVAILABLE: could not reach ${this.bootstrap.join(', ')}${last instanceof Error ? ` (${last.message})` : ''}`);
  }

  async broker(id: number): Promise<KafkaConnection> {
    const metadata = this.metadataCache ?? (await this.metadata([]));
    const broker = metadata.brokers.find((b) => b.nodeId === id);
    if (broker === undefined) throw new CliError(`BROKER_NOT_AVAILABLE: broker ${id} is not live`);
    return this.connect(`${broker.host}:${broker.port}`);
  }

  async controller(): Promise<KafkaConnection> {
    const metadata = await this.metadata([]);
    if (metadata.controllerId < 0) throw new CliError('NOT_CONTROLLER: the cluster has no controller right now');
    return this.broker(metadata.controllerId);
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

export async function withSession<R>(args: { bootstrap: string }, action: (session: KafkaSession) => Promise<R>, options: SessionOptions = {}): Promise<R> {
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
