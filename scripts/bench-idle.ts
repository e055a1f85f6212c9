/**
 * `make bench-idle`: a broker's memory with idle long-polling consumers. The broker runs in this
 * process (so its heap can be measured after a forced GC: run with --expose-gc, as the Makefile
 * does), the coordinator beside it; N connections (CONSUMERS, default 50) each fetch an empty
 * partition in a loop (maxWaitMs 500, minBytes 1: what an idle kafkajs or librdkafka consumer
 * does) for DURATION_S seconds (default 600). Every SAMPLE_S seconds (default 30) it prints the
 * heap in use after GC, the resident set and the fetches answered, then a summary.
 *
 * SAMSA_DIST=<another build's dist/> measures that build instead (e.g. a worktree of an older
 * commit), for a before/after in one run. Before the purgatory, every parked fetch left a
 * callback on a promise that settled only at shutdown: the heap grew with every fetch.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import pino from 'pino';
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaConnection } from '../shared/kafka/client';
import { canConnect, freePort, log, runBenchmark, start, waitUntil } from './bench-support';

const CONSUMERS = Number(process.env.CONSUMERS ?? 50);
const DURATION_S = Number(process.env.DURATION_S ?? 600);
const SAMPLE_S = Number(process.env.SAMPLE_S ?? 30);
const MAX_WAIT_MS = 500;
const DIST = path.resolve(process.env.SAMSA_DIST ?? path.join(__dirname, '..'));

interface BrokerModules {
  loadBrokerConfig: (env: NodeJS.ProcessEnv, flags: object) => object;
  startBroker: (config: object, logger: pino.Logger) => Promise<{ port: number; close(): Promise<void> }>;
}

function heapAfterGcMiB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (make bench-idle does)');
  gc();
  gc();
  return Number((process.memoryUsage().heapUsed / 1048576).toFixed(2));
}

async function main(): Promise<void> {
  heapAfterGcMiB();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-idle-'));
  try {
    const coordinatorPort = await freePort();
    start(process.execPath, ['bin/samsa.js', 'coordinator', '--port', String(coordinatorPort), '--store', 'memory', '--metrics-port', '-1']);
    await waitUntil('the coordinator', () => canConnect(coordinatorPort));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { loadBrokerConfig } = require(path.join(DIST, 'broker', 'config')) as BrokerModules;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { startBroker } = require(path.join(DIST, 'broker', 'broker')) as BrokerModules;
    const config = loadBrokerConfig({}, { id: 1, port: 0, host: ['127.0.0.1'], coordinator: `ws://127.0.0.1:${coordinatorPort}`, dataDir: path.join(root, 'broker-1') });
    const broker = await startBroker(config, pino({ level: 'warn' }));
    log(`broker from ${DIST} on ${broker.port}; ${CONSUMERS} idle long-polling consumers for ${DURATION_S} s`);
    const admin = await KafkaConnection.connect('127.0.0.1', broker.port, { requestTimeoutMs: 30_000 });
    const created = await admin.request(ApiKey.CreateTopics, 3, { topics: [{ name: 'idle', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 20_000, validateOnly: false });
    if (created.topics[0].errorCode !== 0) throw new Error(`CreateTopics: error ${created.topics[0].errorCode}`);
    const connections = await Promise.all(Array.from({ length: CONSUMERS }, () => KafkaConnection.connect('127.0.0.1', broker.port, { requestTimeoutMs: 30_000 })));
    const started = Date.now();
    const deadline = started + DURATION_S * 1000;
    let fetches = 0;
    const consumers = connections.map(async (connection) => {
      // Bounded by the deadline: at most DURATION_S * 1000 / MAX_WAIT_MS fetches per connection (fewer: some answer early).
      while (Date.now() < deadline) {
        const response = await connection.request(ApiKey.Fetch, 11, {
          replicaId: -1, maxWaitMs: MAX_WAIT_MS, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic: 'idle', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
          forgottenTopicsData: [], rackId: '',
        });
        const code = response.responses[0].partitions[0].errorCode;
        if (code !== 0) throw new Error(`fetch error ${code}`);
        fetches++;
      }
    });
    const samples: Array<{ seconds: number; heapMiB: number; rssMiB: number; fetches: number }> = [];
    const sample = (): void => {
      const entry = { seconds: Math.round((Date.now() - started) / 1000), heapMiB: heapAfterGcMiB(), rssMiB: Number((process.memoryUsage().rss / 1048576).toFixed(1)), fetches };
      samples.push(entry);
      process.stdout.write(`${JSON.stringify(entry)}\n`);
    };
    sample();
    const timer = setInterval(sample, SAMPLE_S * 1000);
    await Promise.all(consumers);
    clearInterval(timer);
    sample();
    for (const connection of connections) connection.close();
    admin.close();
    await broker.close();
    const first = samples[1] ?? samples[0]!;
    const last = samples[samples.length - 1]!;
    const perThousandFetchesKiB = ((last.heapMiB - first.heapMiB) * 1024) / Math.max(1, (last.fetches - first.fetches) / 1000);
    process.stdout.write(`${JSON.stringify({ build: DIST, consumers: CONSUMERS, seconds: DURATION_S, fetches, heapMiBFirst: first.heapMiB, heapMiBLast: last.heapMiB, heapGrowthKiBPer1000Fetches: Number(perThousandFetchesKiB.toFixed(2)) })}\n`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

runBenchmark(main);
