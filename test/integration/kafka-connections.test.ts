/**
 * The Kafka server's front door against real broker processes: connection limits (per address
 * and in total, refused at accept and logged), connections.max.idle.ms, a request trickled one
 * byte at a time, socket backpressure against a client that sends fetches and does not read,
 * readiness (a restarted broker never answers Metadata with an empty cluster), and
 * DescribeConfigs of a broker through kafkajs.
 */
import * as fs from 'fs';
import * as net from 'net';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { encodeRequest } from '../../shared/kafka/codec';
import { KafkaError } from '../../shared/kafka/errors';
import { FrameReader } from '../../shared/kafka/framing';
import { buildRecordBatch } from '../../shared/kafka/record-batch';
import { BrokerHandle, startBroker } from '../helpers/cluster';
import { kill, startCoordinator, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(90_000);

/** Above the backpressure test's 3 s observation (a stalled reader is idle: nothing moves). */
const IDLE_MS = 4000;
const READ_TIMEOUT_MS = 1000;
const PER_IP = 6;
const UNSENT_MAX = 64 * 1024;

let coordinatorUrl: string;
let broker: BrokerHandle;
const connections: KafkaConnection[] = [];
const sockets: net.Socket[] = [];

const limitArgs = ['--max-connections-per-ip', String(PER_IP), '--connections-max-idle-ms', String(IDLE_MS), '--request-read-timeout-ms', String(READ_TIMEOUT_MS), '--connection-unsent-response-bytes-max', String(UNSENT_MAX)];

async function connect(port: number): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect('127.0.0.1', port, { requestTimeoutMs: 10_000 });
  connections.push(connection);
  return connection;
}

beforeAll(async () => {
  coordinatorUrl = (await startCoordinator()).url;
  broker = await startBroker(coordinatorUrl, 1, { extraArgs: limitArgs });
  const admin = await connect(broker.port);
  const created = await admin.request(ApiKey.CreateTopics, 3, { topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  expect(created.topics[0].errorCode).toBe(KafkaError.NONE);
  admin.close();
});
afterAll(async () => {
  for (const connection of connections) connection.close();
  for (const socket of sockets) socket.destroy();
  await stopAll();
});

/** A raw socket, connected; `closed` resolves when the broker (or anyone) closes it. */
async function rawSocket(port: number): Promise<{ socket: net.Socket; closed: Promise<void>; isClosed: () => boolean; received: () => number }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  let isClosed = false;
  let received = 0;
  const closed = new Promise<void>((resolve) => socket.once('close', () => ((isClosed = true), resolve())));
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed, isClosed: () => isClosed, received: () => received };
}

const apiVersionsFrame = (correlationId: number): Buffer => encodeRequest(ApiKey.ApiVersions, 0, correlationId, 'test', {});

describe('connection limits', () => {
  test('past max.connections.per.ip a connection is closed at accept and the refusal is logged; closing one makes room', async () => {
    const open: Array<Awaited<ReturnType<typeof rawSocket>>> = [];
    for (let i = 0; i < PER_IP; i++) {
      const raw = await rawSocket(broker.port);
      raw.socket.write(apiVersionsFrame(i));
      await waitFor(`answer on connection ${i}`, () => raw.received() > 0);
      open.push(raw);
    }
    const refused = await rawSocket(broker.port);
    refused.socket.write(apiVersionsFrame(99));
    await waitFor('the extra connection closed', () => refused.isClosed(), 5000);
    expect(refused.received()).toBe(0);
    await waitFor('refusal logged', () => broker.process.output().includes('"msg":"kafka.connection_refused"') && broker.process.output().includes('max.connections.per.ip'));

    open[0]!.socket.destroy();
    // The broker counts the connection out once it sees the close: poll until a new one is served.
    await waitFor('a connection accepted again', async () => {
      const again = await rawSocket(broker.port);
      again.socket.write(apiVersionsFrame(100));
      const served = await Promise.race([waitFor('answer', () => again.received() > 0, 1000).then(() => true), again.closed.then(() => false)]).catch(() => false);
      if (!served) again.socket.destroy();
      return served;
    });
    for (const raw of open) raw.socket.destroy();
    for (const socket of sockets) socket.destroy();
    await waitFor('connections released', async () => {
      const probe = await connect(broker.port);
      probe.close();
      return true;
    });
  });

  test('a connection idle for connections.max.idle.ms is closed; one with requests is not', async () => {
    const idle = await rawSocket(broker.port);
    const busy = await rawSocket(broker.port);
    const started = Date.now();
    let correlationId = 0;
    const keepBusy = setInterval(() => busy.socket.write(apiVersionsFrame(correlationId++)), IDLE_MS / 5);
    try {
      await waitFor('the idle connection closed', () => idle.isClosed(), IDLE_MS * 4);
      expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 50);
      expect(busy.isClosed()).toBe(false);
    } finally {
      clearInterval(keepBusy);
      busy.socket.destroy();
    }
  });

  test('a request trickled one byte at a time is cut off after the read timeout', async () => {
    const frame = encodeRequest(ApiKey.Metadata, 4, 1, 'x'.repeat(200), { topics: null, allowAutoTopicCreation: false });
    const raw = await rawSocket(broker.port);
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < frame.length && !raw.isClosed()) raw.socket.write(frame.subarray(sent, ++sent));
    }, 50);
    try {
      // Whole, it would take frame.length * 50 ms (more than 10 s); the broker gives it READ_TIMEOUT_MS.
      await waitFor('the trickling connection closed', () => raw.isClosed(), READ_TIMEOUT_MS * 4);
      expect(sent).toBeLessThan(frame.length);
      expect(raw.received()).toBe(0);
    } finally {
      clearInterval(trickle);
    }
  });
});

describe('socket backpressure', () => {
  function rssBytes(pid: number): number {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  test('a client that sends fetches and does not read stops being read; everything arrives in order once it reads', async () => {
    // About 256 KiB in the partition, so every fetch answer is about 256 KiB.
    const producer = await connect(broker.port);
    const produce = async (i: number): Promise<number> => {
      const batch = buildRecordBatch(Array.from({ length: 16 }, () => ({ key: null, value: Buffer.alloc(8192, i) })));
      const produced = await producer.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from(batch) }] }] });
      return produced.responses[0].partitionResponses[0].errorCode;
    };
    // The first append waits for the broker to lead the partition (just created, or just restarted).
    await waitFor('the partition leads', async () => (await produce(0)) === KafkaError.NONE);
    expect(await produce(1)).toBe(KafkaError.NONE);
    const baseline = rssBytes(broker.process.pid);
    const raw = await rawSocket(broker.port);
    raw.socket.pause(); // the client reads nothing
    const count = 1500;
    // Each request padded (rackId) to ~32 KB, so together (48 MB) they cannot all sit in the
    // kernel's buffers (loopback receive buffers autotune up to tcp_rmem's maximum, 32 MiB here).
    const requests = Array.from({ length: count }, (_, i) =>
      encodeRequest(ApiKey.Fetch, 11, i, 'slow-reader', {
        replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: 'r'.repeat(32_000),
      }),
    );
    for (const request of requests) raw.socket.write(request);
    // Without backpressure the broker reads them all at once and buffers ~400 MiB of answers:
    // the client's send buffer empties within milliseconds. With it, the broker stops reading.
    const deadline = Date.now() + 3000;
    let peak = 0;
    while (Date.now() < deadline) {
      peak = Math.max(peak, rssBytes(broker.process.pid));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(raw.socket.writableLength).toBeGreaterThan(0);
    // With it, at most the in-flight requests' answers (100 x 256 KiB) and buffers.
    expect(peak - baseline).toBeLessThan(150 * 1024 * 1024);

    // Now read: every answer arrives, in order.
    const seen: number[] = [];
    const frames = new FrameReader(1 << 30);
    raw.socket.on('data', (chunk: Buffer) => {
      frames.push(chunk);
      for (let frame = frames.next(); frame !== null; frame = frames.next()) seen.push(frame.readInt32BE(0));
    });
    raw.socket.resume();
    await waitFor('all answers', () => seen.length === count, 60_000);
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(raw.socket.writableLength).toBe(0);
    raw.socket.destroy();
  });
});

describe('DescribeConfigs of a broker (kafkajs)', () => {
  test("returns the broker's effective settings, read-only, static or default", async () => {
    const kafka = new Kafka({ clientId: 'describe', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({ resources: [{ type: 4, name: '1' }], includeSynonyms: false });
      const entries = new Map(described.resources[0]!.configEntries.map((e) => [e.configName, e]));
      expect(described.resources[0]!.errorCode).toBe(0);
      expect(entries.get('broker.id')).toMatchObject({ configValue: '1', readOnly: true });
      expect(entries.get('connections.max.idle.ms')).toMatchObject({ configValue: String(IDLE_MS), readOnly: true, configSource: 4 });
      expect(entries.get('max.connections')).toMatchObject({ configValue: '10000', configSource: 5 });
      expect(entries.get('num.partitions')).toMatchObject({ configValue: '1', configSource: 5 });
      expect(entries.get('auto.create.topics.enable')?.configValue).toBe('true');
      const some = await admin.describeConfigs({ resources: [{ type: 4, name: '1', configNames: ['num.partitions'] }], includeSynonyms: false });
      expect(some.resources[0]!.configEntries.map((e) => e.configName)).toEqual(['num.partitions']);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('readiness', () => {
  test('a restarted broker never answers Metadata with no brokers or without its topics', async () => {
    await kill(broker.process);
    const restarted = startBroker(coordinatorUrl, 1, { port: broker.port, dataDir: broker.dataDir, extraArgs: limitArgs });
    const answers: Array<{ brokers: number; topics: Array<{ name: string; errorCode: number; partitions: unknown[] }> }> = [];
    let ready = false;
    void restarted.then(() => (ready = true), () => (ready = true));
    // Hammer until the broker is ready and has answered a few more times (bounded by the deadline).
    const deadline = Date.now() + 30_000;
    let afterReady = 0;
    while (Date.now() < deadline && afterReady < 5) {
      if (ready) afterReady++;
      let connection: KafkaConnection;
      try {
        connection = await KafkaConnection.connect('127.0.0.1', broker.port, { requestTimeoutMs: 15_000 });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      try {
        // Named, with auto-creation allowed: an answer from an empty picture would try to create it.
        const metadata = await connection.request(ApiKey.Metadata, 4, { topics: [{ name: 't' }], allowAutoTopicCreation: true });
        answers.push({ brokers: metadata.brokers.length, topics: metadata.topics });
      } catch {
        // closed while starting: try again
      } finally {
        connection.close();
      }
    }
    broker = await restarted;
    expect(answers.length).toBeGreaterThan(0);
    for (const answer of answers) {
      expect(answer.brokers).toBeGreaterThan(0);
      expect(answer.topics).toEqual([expect.objectContaining({ name: 't', errorCode: KafkaError.NONE })]);
      expect(answer.topics[0]!.partitions).toHaveLength(1);
    }
    expect(broker.process.output()).not.toContain('auto_create');
  });
});
