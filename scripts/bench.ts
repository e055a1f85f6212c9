/**
 * `make bench`: Samsa's brokers against NATS JetStream (R1, file storage), same machine, same
 * run, in the spirit of kafka-producer-perf-test and kafka-consumer-perf-test:
 *   - produce N records of 100 bytes and of 1 KiB to a 6-partition topic, batched, acks=1,
 *     replication factor 1: records/s, MB/s, p50/p99/p999 latency (per record: its batch's ack);
 *   - consume them back from the start: records/s, MB/s;
 *   - end-to-end latency at a fixed rate (produce → a long-polling consumer sees it);
 *   - a kafkajs producer run beside Samsa's own codec-based producer.
 * JetStream publishes one message at a time (it has no batch publish) with many in flight.
 * One JSON line per workload, then Samsa/JetStream ratios. Every loop is bounded in count and
 * time; all servers listen on 127.0.0.1 on free ports and are stopped by pid at the end.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaConnection } from '../shared/kafka/client';
import { buildRecordBatch, iterateBatches, decodeRecords } from '../shared/kafka/record-batch';
import { canConnect, freePort, log, runBenchmark, start, startSamsa, waitUntil } from './bench-support';
import { validationCost } from './bench-validate';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const nats = require('nats') as typeof import('nats');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');

const RECORDS_SMALL = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const RECORDS_LARGE = Number(process.env.BENCH_RECORDS_1K ?? 200_000);
const RECORDS_KAFKAJS = Math.min(RECORDS_SMALL, Number(process.env.BENCH_RECORDS_KAFKAJS ?? 50_000));
const PARTITIONS = 6;
const BATCH_BYTES = 64 * 1024;
const REQUESTS_IN_FLIGHT = 8;
const NATS_IN_FLIGHT = 1024;
const E2E_RATE_PER_S = Number(process.env.BENCH_E2E_RATE ?? 1000);
const E2E_SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 5);
/** No workload runs longer than this; a capped one reports what it did. */
const WORKLOAD_CAP_MS = 120_000;

interface Result {
  system: 'samsa' | 'samsa-kafkajs' | 'jetstream';
  workload: 'produce' | 'consume' | 'e2e';
  recordBytes: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(3));
}

function result(system: Result['system'], workload: Result['workload'], recordBytes: number, records: number, seconds: number, latencies?: number[]): Result {
  const out: Result = {
    system,
    workload,
    recordBytes,
    records,
    seconds: Number(seconds.toFixed(3)),
    recordsPerSecond: Math.round(records / seconds),
    mbPerSecond: Number(((records * recordBytes) / seconds / 1e6).toFixed(2)),
  };
  if (latencies !== undefined) {
    const sorted = [...latencies].sort((a, b) => a - b);
    out.p50Ms = percentile(sorted, 50);
    out.p99Ms = percentile(sorted, 99);
    out.p999Ms = percentile(sorted, 99.9);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return out;
}

// ---------------------------------------------------------------------------
// Samsa

async function createTopic(connection: KafkaConnection, name: string): Promise<void> {
  const response = await connection.request(ApiKey.CreateTopics, 3, { topics: [{ name, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 20_000, validateOnly: false });
  if (response.topics[0].errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${response.topics[0].errorCode}`);
}

/** Batches per partition, built before the clock starts so the producer is not the bottleneck. */
function prebuild(records: number, recordBytes: number, timestamp = Date.now()): Buffer[][] {
  const perBatch = Math.max(1, Math.floor(BATCH_BYTES / (recordBytes + 10)));
  const value = Buffer.alloc(recordBytes, 0x61);
  const batches: Buffer[][] = Array.from({ length: PARTITIONS }, () => []);
  const perPartition = Math.ceil(records / PARTITIONS);
  for (let p = 0; p < PARTITIONS; p++) {
    const count = Math.min(perPartition, records - p * perPartition);
    for (let done = 0; done < count; done += perBatch) {
      const n = Math.min(perBatch, count - done);
      batches[p]!.push(buildRecordBatch(Array.from({ length: n }, () => ({ key: null, value, timestamp })), {}));
    }
  }
  return batches;
}

async function samsaProduce(connections: KafkaConnection[], topic: string, records: number, recordBytes: number): Promise<Result> {
  const batches = prebuild(records, recordBytes);
  // One request carries the next batch of every partition, as a Kafka producer does per broker.
  const requests: Array<{ body: object; records: number }> = [];
  const rounds = Math.max(...batches.map((b) => b.length));
  for (let round = 0; round < rounds; round++) {
    const partitionData = batches.flatMap((list, p) => (list[round] === undefined ? [] : [{ index: p, records: list[round]! }]));
    const count = partitionData.reduce((sum, d) => sum + d.records.readInt32BE(57), 0);
    requests.push({ body: { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData }] }, records: count });
  }
  const latencies: number[] = [];
  let next = 0;
  let sent = 0;
  const started = performance.now();
  const deadline = started + WORKLOAD_CAP_MS;
  await Promise.all(
    Array.from({ length: REQUESTS_IN_FLIGHT * connections.length }, async (_, worker) => {
      const connection = connections[worker % connections.length]!;
      while (next < requests.length && performance.now() < deadline) {
        const request = requests[next++]!;
        const at = performance.now();
        const response = await connection.request(ApiKey.Produce, 7, request.body);
        for (const part of response.responses[0].partitionResponses) if (part.errorCode !== 0) throw new Error(`produce error ${part.errorCode}`);
        const latency = performance.now() - at;
        for (let i = 0; i < request.records; i += 100) latencies.push(latency); // one sample per 100 records
        sent += request.records;
      }
    }),
  );
  return result('samsa', 'produce', recordBytes, sent, (performance.now() - started) / 1000, latencies);
}

async function samsaConsume(connection: KafkaConnection, topic: string, records: number, recordBytes: number): Promise<Result> {
  const offsets = Array.from({ length: PARTITIONS }, () => 0n);
  let seen = 0;
  const started = performance.now();
  while (seen < records && performance.now() - started < WORKLOAD_CAP_MS) {
    const response = await connection.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 64 * 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: offsets.map((offset, partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 4 * 1024 * 1024 })) }],
      forgottenTopicsData: [], rackId: '',
    });
    for (const part of response.responses[0].partitions) {
      for (const batch of iterateBatches(part.records)) {
        seen += batch.recordCount;
        offsets[part.partitionIndex] = BigInt(batch.baseOffset + batch.lastOffsetDelta + 1);
      }
    }
  }
  return result('samsa', 'consume', recordBytes, seen, (performance.now() - started) / 1000);
}

async function samsaEndToEnd(producer: KafkaConnection, consumer: KafkaConnection, topic: string, recordBytes: number): Promise<Result> {
  const total = E2E_RATE_PER_S * E2E_SECONDS;
  const latencies: number[] = [];
  const offsets = Array.from({ length: PARTITIONS }, () => -1n);
  for (let p = 0; p < PARTITIONS; p++) {
    const listed = await consumer.request(ApiKey.ListOffsets, 2, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: p, timestamp: -1n }] }] });
    offsets[p] = listed.topics[0].partitions[0].offset;
  }
  let received = 0;
  let producing = true;
  const started = performance.now();
  const reader = (async () => {
    while ((producing || received < total) && performance.now() - started < WORKLOAD_CAP_MS) {
      const response = await consumer.request(ApiKey.Fetch, 11, {
        replicaId: -1, maxWaitMs: 200, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic, partitions: offsets.map((offset, partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }],
        forgottenTopicsData: [], rackId: '',
      });
      const now = performance.now();
      for (const part of response.responses[0].partitions) {
        for (const batch of iterateBatches(part.records)) {
          for (const record of decodeRecords(part.records.subarray(batch.position, batch.position + batch.size))) {
            latencies.push(now - record.value!.readDoubleBE(0));
            received++;
          }
          offsets[part.partitionIndex] = BigInt(batch.baseOffset + batch.lastOffsetDelta + 1);
        }
      }
      if (!producing && received >= total) break;
    }
  })();
  const period = 1000 / E2E_RATE_PER_S;
  for (let i = 0; i < total && performance.now() - started < WORKLOAD_CAP_MS; i++) {
    const due = started + i * period;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const value = Buffer.alloc(recordBytes);
    value.writeDoubleBE(performance.now(), 0);
    const batch = buildRecordBatch([{ key: null, value }]);
    void producer.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: i % PARTITIONS, records: batch }] }] });
  }
  producing = false;
  await reader;
  return result('samsa', 'e2e', recordBytes, received, (performance.now() - started) / 1000, latencies);
}

async function kafkajsProduce(port: number, topic: string, records: number, recordBytes: number): Promise<Result> {
  const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'bench', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.alloc(recordBytes, 0x61);
  const perSend = Math.max(1, Math.floor(BATCH_BYTES / (recordBytes + 10)));
  const latencies: number[] = [];
  let sent = 0;
  let partition = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: REQUESTS_IN_FLIGHT }, async () => {
      while (sent < records && performance.now() - started < WORKLOAD_CAP_MS) {
        const n = Math.min(perSend, records - sent);
        sent += n;
        const at = performance.now();
        await producer.send({ topic, acks: 1, messages: Array.from({ length: n }, () => ({ value, partition: partition++ % PARTITIONS })) });
        const latency = performance.now() - at;
        for (let i = 0; i < n; i += 100) latencies.push(latency);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return result('samsa-kafkajs', 'produce', recordBytes, sent, seconds, latencies);
}

// ---------------------------------------------------------------------------
// NATS JetStream

async function jetstreamRun(port: number, recordBytes: number, records: number): Promise<{ produce: Result; consume: Result }> {
  const nc = await nats.connect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await nc.jetstreamManager();
    const stream = `B${recordBytes}`;
    await jsm.streams.add({ name: stream, subjects: [`${stream}.*`], storage: nats.StorageType.File, num_replicas: 1, max_msg_size: -1 });
    const js = nc.jetstream();
    const value = new Uint8Array(recordBytes).fill(0x61);
    const latencies: number[] = [];
    let next = 0;
    let sent = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: NATS_IN_FLIGHT }, async () => {
        while (next < records && performance.now() - started < WORKLOAD_CAP_MS) {
          const i = next++;
          const at = performance.now();
          await js.publish(`${stream}.${i % PARTITIONS}`, value);
          if (i % 100 === 0) latencies.push(performance.now() - at);
          sent++;
        }
      }),
    );
    const produce = result('jetstream', 'produce', recordBytes, sent, (performance.now() - started) / 1000, latencies);

    const consumer = await js.consumers.get(stream);
    let seen = 0;
    const consumeStarted = performance.now();
    const messages = await consumer.consume({ max_messages: 10_000 });
    const timer = setTimeout(() => messages.stop(), WORKLOAD_CAP_MS);
    for await (const message of messages) {
      void message;
      if (++seen >= sent) break;
    }
    clearTimeout(timer);
    const consume = result('jetstream', 'consume', recordBytes, seen, (performance.now() - consumeStarted) / 1000);
    await jsm.streams.delete(stream);
    return { produce, consume };
  } finally {
    await nc.close();
  }
}

async function jetstreamEndToEnd(port: number, recordBytes: number): Promise<Result> {
  const nc = await nats.connect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'E2E', subjects: ['E2E.*'], storage: nats.StorageType.File, num_replicas: 1 });
    const js = nc.jetstream();
    const consumer = await js.consumers.get('E2E');
    const total = E2E_RATE_PER_S * E2E_SECONDS;
    const latencies: number[] = [];
    const messages = await consumer.consume({ max_messages: 1000 });
    const started = performance.now();
    const timer = setTimeout(() => messages.stop(), WORKLOAD_CAP_MS);
    const reader = (async () => {
      for await (const message of messages) {
        latencies.push(performance.now() - Buffer.from(message.data).readDoubleBE(0));
        if (latencies.length >= total) break;
      }
    })();
    const period = 1000 / E2E_RATE_PER_S;
    for (let i = 0; i < total && performance.now() - started < WORKLOAD_CAP_MS; i++) {
      const wait = started + i * period - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const value = Buffer.alloc(recordBytes);
      value.writeDoubleBE(performance.now(), 0);
      void js.publish(`E2E.${i % PARTITIONS}`, value);
    }
    await reader;
    clearTimeout(timer);
    return result('jetstream', 'e2e', recordBytes, latencies.length, (performance.now() - started) / 1000, latencies);
  } finally {
    await nc.close();
  }
}

// ---------------------------------------------------------------------------

function ratio(samsa: Result, jetstream: Result): void {
  const line: Record<string, unknown> = { ratio: 'samsa/jetstream', workload: samsa.workload, recordBytes: samsa.recordBytes, recordsPerSecond: Number((samsa.recordsPerSecond / jetstream.recordsPerSecond).toFixed(2)) };
  if (samsa.p99Ms !== undefined && jetstream.p99Ms !== undefined) {
    line.p50 = Number((samsa.p50Ms! / jetstream.p50Ms!).toFixed(2));
    line.p99 = Number((samsa.p99Ms / jetstream.p99Ms).toFixed(2));
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-'));
  try {
    const natsPort = await freePort();
    const { brokerPort } = await startSamsa(root);
    const connections = await Promise.all([0, 1].map(() => KafkaConnection.connect('127.0.0.1', brokerPort, { requestTimeoutMs: 60_000 })));
    const samsaResults = new Map<string, Result>();
    for (const [recordBytes, records] of [[100, RECORDS_SMALL], [1024, RECORDS_LARGE]] as const) {
      const topic = `bench-${recordBytes}`;
      await createTopic(connections[0]!, topic);
      log(`samsa: produce ${records} x ${recordBytes} B`);
      samsaResults.set(`produce-${recordBytes}`, await samsaProduce(connections, topic, records, recordBytes));
      log(`samsa: consume ${records} x ${recordBytes} B`);
      samsaResults.set(`consume-${recordBytes}`, await samsaConsume(connections[0]!, topic, records, recordBytes));
    }
    await createTopic(connections[0]!, 'bench-e2e');
    log(`samsa: end-to-end latency, ${E2E_RATE_PER_S} records/s for ${E2E_SECONDS} s`);
    samsaResults.set('e2e-100', await samsaEndToEnd(connections[0]!, connections[1]!, 'bench-e2e', 100));
    await createTopic(connections[0]!, 'bench-kafkajs');
    log(`samsa: kafkajs producer, ${RECORDS_KAFKAJS} x 100 B`);
    await kafkajsProduce(brokerPort, 'bench-kafkajs', RECORDS_KAFKAJS, 100);
    for (const connection of connections) connection.close();

    if (process.env.BENCH_SYSTEMS === 'samsa') return; // Samsa alone (e.g. comparing two builds with SAMSA_ROOT)
    log(`jetstream: nats-server -js on ${natsPort} (file storage, R1)`);
    const natsBinary = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((candidate) => fs.existsSync(candidate)) ?? 'nats-server';
    start(natsBinary, ['-js', '-sd', path.join(root, 'nats'), '-a', '127.0.0.1', '-p', String(natsPort)]);
    await waitUntil('nats-server', () => canConnect(natsPort));
    const jetstreamResults = new Map<string, Result>();
    for (const [recordBytes, records] of [[100, RECORDS_SMALL], [1024, RECORDS_LARGE]] as const) {
      log(`jetstream: produce and consume ${records} x ${recordBytes} B`);
      const { produce, consume } = await jetstreamRun(natsPort, recordBytes, records);
      jetstreamResults.set(`produce-${recordBytes}`, produce);
      jetstreamResults.set(`consume-${recordBytes}`, consume);
    }
    log(`jetstream: end-to-end latency, ${E2E_RATE_PER_S} records/s for ${E2E_SECONDS} s`);
    jetstreamResults.set('e2e-100', await jetstreamEndToEnd(natsPort, 100));

    for (const [key, samsa] of samsaResults) {
      const jetstream = jetstreamResults.get(key);
      if (jetstream !== undefined) ratio(samsa, jetstream);
    }
    // What the broker's record validation costs on one core (64 KiB batches of 1 KiB records), for reading the produce figures.
    log('samsa: cost of record validation per codec');
    for (const cost of await validationCost()) process.stdout.write(`${JSON.stringify({ validation: cost.codec, ...cost })}\n`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

runBenchmark(main);
