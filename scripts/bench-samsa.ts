/**
 * `make bench`'s Samsa workloads against one broker or a cluster: every request goes to the
 * partition's leader (found with Metadata), as a Kafka client sends it.
 *   - produce with Samsa's codec producer (batches built before the clock starts), kcat
 *     (librdkafka, reading a prepared file, timed from start to exit) and kafkajs;
 *   - consume from the start (one long-polling loop per leader);
 *   - end-to-end latency at a fixed rate (one record per Produce; a long-polling consumer per
 *     leader sees it once the high watermark covers it, i.e. after the ISR has it at acks=all).
 * Every loop is bounded in count and time.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import { performance } from 'perf_hooks';
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaConnection } from '../shared/kafka/client';
import { kafkaErrorName as errorName } from '../shared/kafka/errors';
import { buildRecordBatch, decodeRecords, iterateBatches } from '../shared/kafka/record-batch';
import { Labels, LatencyTimeline, report, Result } from './bench-results';
import { sendAtFixedRate, waitUntil, WORKLOAD_CAP_MS } from './bench-support';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');

export const PARTITIONS = 6;
const BATCH_BYTES = Number(process.env.BENCH_CODEC_BATCH_BYTES ?? 64 * 1024);
/** Produce requests in flight per connection; two connections per leader. */
const REQUESTS_IN_FLIGHT = 8;
const CONNECTIONS_PER_BROKER = 2;
/** kcat's librdkafka batch.size and linger.ms. */
const KCAT_BATCH_BYTES = Number(process.env.BENCH_KCAT_BATCH_BYTES ?? 1_000_000);
const KCAT_LINGER_MS = 5;
/**
 * kcat's producer queue (queue.buffering.max.kbytes), 16 MiB: plenty to keep every leader's
 * pipeline full, and small enough that librdkafka reuses its memory instead of holding the whole
 * input (200 MB at 1 KiB) in pages it touches for the first time. On this project's VMs a page
 * touched for the first time costs ~25 µs (freed memory goes back to the host), and with a
 * 1 GiB queue kcat spent a quarter of the machine's CPU on that: kcat alone, 1 KiB RF 3
 * acks=all, ran 49,000-206,000 records/s with 1 GiB, 145,000-210,000 with 16 MiB (README, "Measured").
 */
const KCAT_QUEUE_KBYTES = Number(process.env.BENCH_KCAT_QUEUE_KBYTES ?? 16 * 1024);

export interface SamsaTarget {
  /** Broker id → its port and connections. */
  brokers: Map<number, { port: number; connections: KafkaConnection[] }>;
}

export async function connectTarget(brokers: Array<{ id: number; port: number }>): Promise<SamsaTarget> {
  const out: SamsaTarget = { brokers: new Map() };
  for (const { id, port } of brokers) {
    const connections = await Promise.all(Array.from({ length: CONNECTIONS_PER_BROKER }, () => KafkaConnection.connect('127.0.0.1', port, { requestTimeoutMs: 60_000 })));
    out.brokers.set(id, { port, connections });
  }
  return out;
}

export function closeTarget(target: SamsaTarget): void {
  for (const { connections } of target.brokers.values()) for (const connection of connections) connection.close();
}

function anyConnection(target: SamsaTarget): KafkaConnection {
  return [...target.brokers.values()][0]!.connections[0]!;
}

function connectionsOf(target: SamsaTarget, id: number): KafkaConnection[] {
  const broker = target.brokers.get(id);
  if (broker === undefined) throw new Error(`leader ${id} is not a broker of this run`);
  return broker.connections;
}

export function bootstrap(target: SamsaTarget): string {
  return [...target.brokers.values()].map((b) => `127.0.0.1:${b.port}`).join(',');
}

interface PartitionMetadata {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  isrNodes: number[];
}

async function partitionsSeenBy(connection: KafkaConnection, topic: string): Promise<PartitionMetadata[]> {
  const response = await connection.request(ApiKey.Metadata, 4, { topics: [{ name: topic }], allowAutoTopicCreation: false });
  const entry = response.topics[0];
  if (entry === undefined || entry.errorCode !== 0) return [];
  return [...(entry.partitions as PartitionMetadata[])].sort((a, b) => a.partitionIndex - b.partitionIndex);
}

/**
 * Creates the topic and waits until every broker's metadata shows each partition with a leader
 * and a full ISR, so that the clock never includes the start-up of replication.
 * Returns each partition's leader.
 */
export async function createTopic(target: SamsaTarget, name: string, replicationFactor: number, configs: Record<string, string> = {}): Promise<number[]> {
  const response = await anyConnection(target).request(ApiKey.CreateTopics, 3, {
    topics: [{ name, numPartitions: PARTITIONS, replicationFactor, assignments: [], configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
    timeoutMs: 20_000, validateOnly: false,
  });
  if (response.topics[0].errorCode !== 0) throw new Error(`CreateTopics ${name}: ${errorName(response.topics[0].errorCode)}`);
  let leaders: number[] = [];
  await waitUntil(`${name}: leaders and full ISRs on every broker`, async () => {
    const views = await Promise.all([...target.brokers.values()].map((b) => partitionsSeenBy(b.connections[0]!, name)));
    const ready = views.every((parts) => parts.length === PARTITIONS && parts.every((p) => p.errorCode === 0 && p.leaderId >= 0 && p.isrNodes.length === replicationFactor));
    const first = views[0]!.map((p) => p.leaderId);
    if (!ready || !views.every((parts) => parts.every((p, i) => p.leaderId === first[i]))) return false;
    leaders = first;
    return true;
  });
  return leaders;
}

/** Deletes topics (the controller removes their logs): long plain/observed comparisons keep the disk and the per-topic metrics from growing. */
export async function deleteTopics(target: SamsaTarget, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const response = await anyConnection(target).request(ApiKey.DeleteTopics, 1, { topicNames: names, timeoutMs: 30_000 });
  for (const entry of response.responses) if (entry.errorCode !== 0) throw new Error(`DeleteTopics ${entry.name}: ${errorName(entry.errorCode)}`);
}

/** Partitions grouped by leader. */
function byLeader(leaders: number[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  leaders.forEach((leader, partition) => out.set(leader, [...(out.get(leader) ?? []), partition]));
  return out;
}

/** Each partition's log end offset, asked of its leader. */
export async function endOffsets(target: SamsaTarget, topic: string, leaders: number[]): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let p = 0; p < leaders.length; p++) {
    const listed = await connectionsOf(target, leaders[p]!)[0]!.request(ApiKey.ListOffsets, 2, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: p, timestamp: -1n }] }] });
    const entry = listed.topics[0].partitions[0];
    if (entry.errorCode !== 0) throw new Error(`ListOffsets ${topic}-${p}: ${errorName(entry.errorCode)}`);
    out.push(entry.offset as bigint);
  }
  return out;
}

function sum(values: bigint[]): number {
  return Number(values.reduce((a, b) => a + b, 0n));
}

/**
 * The codec producer's batches, built once per record count and size and kept for the next
 * workload of the same shape (the last shape only), as kcat's input file is written once: a
 * workload then starts right after the one before it, not after building (and touching for the
 * first time) as many bytes as it sends. The timestamps are those of the first build.
 */
let prebuilt: { key: string; batches: Buffer[][] } | undefined;
function batchesFor(records: number, recordBytes: number): Buffer[][] {
  const key = `${records}x${recordBytes}`;
  if (prebuilt?.key !== key) {
    prebuilt = undefined; // the old shape's buffers can go before the new ones are built
    prebuilt = { key, batches: prebuild(records, recordBytes) };
  }
  return prebuilt.batches;
}

/** Batches per partition, built before the clock starts so the producer is not the bottleneck. */
function prebuild(records: number, recordBytes: number, timestamp = Date.now()): Buffer[][] {
  const perBatch = Math.max(1, Math.floor(BATCH_BYTES / (recordBytes + 10)));
  const value = Buffer.alloc(recordBytes, 0x61);
  const batches: Buffer[][] = Array.from({ length: PARTITIONS }, () => []);
  const perPartition = Math.ceil(records / PARTITIONS);
  for (let p = 0; p < PARTITIONS; p++) {
    const count = Math.max(0, Math.min(perPartition, records - p * perPartition));
    for (let done = 0; done < count; done += perBatch) {
      const n = Math.min(perBatch, count - done);
      batches[p]!.push(buildRecordBatch(Array.from({ length: n }, () => ({ key: null, value, timestamp })), {}));
    }
  }
  return batches;
}

function firstError(response: any): number { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const topic of response.responses) for (const part of topic.partitionResponses) if (part.errorCode !== 0) return part.errorCode as number;
  return 0;
}

/**
 * Samsa's codec producer: one request per leader carries the next 64 KiB batch of each of its
 * partitions (as a Kafka producer sends per broker), 8 requests in flight per connection, two
 * connections per leader. Latency per record: its request's round trip (one sample per 100).
 */
export async function produceCodec(target: SamsaTarget, topic: string, leaders: number[], records: number, recordBytes: number, acks: number, labels: Labels): Promise<Result> {
  const batches = batchesFor(records, recordBytes);
  const queues = [...byLeader(leaders)].map(([leader, partitions]) => {
    const requests: Array<{ body: object; records: number }> = [];
    const rounds = Math.max(...partitions.map((p) => batches[p]!.length));
    for (let round = 0; round < rounds; round++) {
      const partitionData = partitions.flatMap((p) => (batches[p]![round] === undefined ? [] : [{ index: p, records: batches[p]![round]! }]));
      const count = partitionData.reduce((total, d) => total + d.records.readInt32BE(57), 0);
      requests.push({ body: { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData }] }, records: count });
    }
    return { connections: connectionsOf(target, leader), requests, next: 0 };
  });
  const latencies: number[] = [];
  let sent = 0;
  let errors = 0;
  const failures = new Map<string, number>();
  const started = performance.now();
  const deadline = started + WORKLOAD_CAP_MS;
  await Promise.all(
    queues.flatMap((queue) =>
      Array.from({ length: REQUESTS_IN_FLIGHT * queue.connections.length }, async (_, worker) => {
        const connection = queue.connections[worker % queue.connections.length]!;
        while (queue.next < queue.requests.length && performance.now() < deadline) {
          const request = queue.requests[queue.next++]!;
          const at = performance.now();
          const error = firstError(await connection.request(ApiKey.Produce, 7, request.body));
          const latency = performance.now() - at;
          if (error !== 0) {
            errors += request.records;
            failures.set(errorName(error), (failures.get(errorName(error)) ?? 0) + 1);
            continue;
          }
          for (let i = 0; i < request.records; i += 100) latencies.push(latency);
          sent += request.records;
        }
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  if (failures.size > 0) process.stderr.write(`bench: ${topic}: produce errors by request ${JSON.stringify(Object.fromEntries(failures))}\n`);
  return report(labels, sent, seconds, latencies, errors);
}

/** kcat (librdkafka) producing `file` (one record per line), acks and linger as asked; timed from spawn to exit. */
export async function produceKcat(target: SamsaTarget, topic: string, leaders: number[], file: string, records: number, recordBytes: number, acks: number, labels: Labels): Promise<Result> {
  const before = sum(await endOffsets(target, topic, leaders));
  const args = ['-P', '-b', bootstrap(target), '-t', topic, '-l', '-X', `acks=${acks === -1 ? 'all' : acks}`, '-X', `linger.ms=${KCAT_LINGER_MS}`, '-X', `batch.size=${KCAT_BATCH_BYTES}`, '-X', 'queue.buffering.max.messages=1000000', '-X', `queue.buffering.max.kbytes=${KCAT_QUEUE_KBYTES}`, file];
  const started = performance.now();
  const child = spawn('kcat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), WORKLOAD_CAP_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  // ListOffsets answers the high watermark: at acks=1 kcat may exit before the followers have the last records.
  let landed = 0;
  await waitUntil(`${topic}: kcat's records under the high watermark`, async () => (landed = sum(await endOffsets(target, topic, leaders)) - before) >= records, 10_000).catch(() => undefined);
  if (code !== 0 || landed !== records) process.stderr.write(`bench: kcat exited ${code}, ${landed} of ${records} records landed: ${stderr.slice(-2000)}\n`);
  return report(labels, landed, seconds, undefined, records - landed);
}

/** Writes `records` lines of `recordBytes` bytes (not counting the newline) for kcat. */
export function writeKcatInput(file: string, records: number, recordBytes: number): void {
  const line = Buffer.concat([Buffer.alloc(recordBytes, 0x61), Buffer.from('\n')]);
  const perChunk = Math.max(1, Math.floor((4 << 20) / line.length));
  const chunk = Buffer.concat(Array.from({ length: perChunk }, () => line));
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0; done < records; done += perChunk) fs.writeSync(fd, chunk, 0, Math.min(perChunk, records - done) * line.length);
  } finally {
    fs.closeSync(fd);
  }
}

/** kafkajs: sends of 64 KiB worth of records spread over the partitions, 8 in flight. */
export async function produceKafkajs(target: SamsaTarget, topic: string, records: number, recordBytes: number, acks: number, labels: Labels): Promise<Result> {
  const kafka = new Kafka({ brokers: bootstrap(target).split(','), clientId: 'bench', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.alloc(recordBytes, 0x61);
  const perSend = Math.max(1, Math.floor(BATCH_BYTES / (recordBytes + 10)));
  const latencies: number[] = [];
  let sent = 0;
  let queued = 0;
  let errors = 0;
  let partition = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: REQUESTS_IN_FLIGHT }, async () => {
      while (queued < records && performance.now() - started < WORKLOAD_CAP_MS) {
        const n = Math.min(perSend, records - queued);
        queued += n;
        const at = performance.now();
        try {
          await producer.send({ topic, acks, messages: Array.from({ length: n }, () => ({ value, partition: partition++ % PARTITIONS })) });
        } catch (error) {
          errors += n;
          process.stderr.write(`bench: kafkajs send failed: ${(error as Error).message}\n`);
          continue;
        }
        const latency = performance.now() - at;
        for (let i = 0; i < n; i += 100) latencies.push(latency);
        sent += n;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return report(labels, sent, seconds, latencies, errors);
}

function fetchBody(topic: string, partitions: number[], offsets: bigint[], maxWaitMs: number, partitionMaxBytes: number): object {
  return {
    replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 64 * 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: partitions.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: offsets[partition]!, logStartOffset: -1n, partitionMaxBytes })) }],
    forgottenTopicsData: [], rackId: '',
  };
}

/** Reads the topic from the start to its current end, one long-polling loop per leader. */
export async function consume(target: SamsaTarget, topic: string, leaders: number[], labels: Labels): Promise<Result> {
  const ends = await endOffsets(target, topic, leaders);
  const offsets = Array.from({ length: PARTITIONS }, () => 0n);
  let seen = 0;
  const started = performance.now();
  await Promise.all(
    [...byLeader(leaders)].map(async ([leader, partitions]) => {
      const connection = connectionsOf(target, leader)[1]!;
      while (partitions.some((p) => offsets[p]! < ends[p]!) && performance.now() - started < WORKLOAD_CAP_MS) {
        const response = await connection.request(ApiKey.Fetch, 11, fetchBody(topic, partitions, offsets, 500, 4 * 1024 * 1024));
        for (const part of response.responses[0].partitions) {
          for (const batch of iterateBatches(part.records)) {
            seen += batch.recordCount;
            offsets[part.partitionIndex] = BigInt(batch.baseOffset + batch.lastOffsetDelta + 1);
          }
        }
      }
    }),
  );
  return report(labels, seen, (performance.now() - started) / 1000);
}

/**
 * End-to-end latency: `rate` records/s for `warmupSeconds` (not measured: fresh processes
 * compile their hot paths then) and `seconds`, one record per Produce to its partition's
 * leader (the send time in the value); a long-polling consumer per leader on its own connection
 * sees each record once the high watermark covers it. Latency = seen - sent, per record.
 */
export async function endToEnd(target: SamsaTarget, topic: string, leaders: number[], recordBytes: number, rate: number, seconds: number, warmupSeconds: number, acks: number, labels: Labels): Promise<Result> {
  const total = rate * (warmupSeconds + seconds);
  const latencies: number[] = [];
  const timeline = new LatencyTimeline();
  const offsets = await endOffsets(target, topic, leaders);
  let received = 0;
  let errors = 0;
  let producing = true;
  const started = performance.now();
  const measuredFrom = started + warmupSeconds * 1000;
  const readers = [...byLeader(leaders)].map(async ([leader, partitions]) => {
    const consumer = connectionsOf(target, leader)[1]!;
    while ((producing || received + errors < total) && performance.now() - started < WORKLOAD_CAP_MS) {
      const response = await consumer.request(ApiKey.Fetch, 11, fetchBody(topic, partitions, offsets, 200, 1 << 20));
      const now = performance.now();
      for (const part of response.responses[0].partitions) {
        for (const batch of iterateBatches(part.records)) {
          for (const record of decodeRecords(part.records.subarray(batch.position, batch.position + batch.size))) {
            const sentAt = record.value!.readDoubleBE(0);
            if (sentAt >= measuredFrom) latencies.push(now - sentAt);
            timeline.add(sentAt - started, now - sentAt);
            received++;
          }
          offsets[part.partitionIndex] = BigInt(batch.baseOffset + batch.lastOffsetDelta + 1);
        }
      }
    }
  });
  const onAnswer = (response: unknown): void => {
    if (firstError(response) !== 0) errors++;
  };
  const onFailure = (): void => {
    errors++;
  };
  await sendAtFixedRate(total, rate, recordBytes, started, (i, value) => {
    const partition = i % PARTITIONS;
    const batch = buildRecordBatch([{ key: null, value }]);
    connectionsOf(target, leaders[partition]!)[0]!.request(ApiKey.Produce, 7, { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] }).then(onAnswer, onFailure);
  });
  producing = false;
  await Promise.all(readers);
  return report(labels, latencies.length, (performance.now() - measuredFrom) / 1000, latencies, errors, timeline);
}
