/**
 * `make bench-idle`: a broker's memory with idle long-polling consumers. N connections (default
 * 50) each fetch an empty partition in a loop (maxWaitMs 500, minBytes 1: what an idle kafkajs
 * or librdkafka consumer does) for DURATION_S seconds (default 600); the broker's resident set
 * (VmRSS from /proc) is sampled every SAMPLE_S seconds (default 30) and printed, with the
 * fetches answered. Before the purgatory, every parked fetch left a callback on a promise that
 * settled only at shutdown, so this figure grew for as long as the broker ran.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaConnection } from '../shared/kafka/client';
import { log, runBenchmark, startSamsa } from './bench-support';

const CONSUMERS = Number(process.env.CONSUMERS ?? 50);
const DURATION_S = Number(process.env.DURATION_S ?? 600);
const SAMPLE_S = Number(process.env.SAMPLE_S ?? 30);
const MAX_WAIT_MS = 500;

function residentKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match === null ? -1 : Number(match[1]);
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-idle-'));
  try {
    const { broker, brokerPort } = await startSamsa(root);
    const pid = broker.child.pid!;
    const admin = await KafkaConnection.connect('127.0.0.1', brokerPort, { requestTimeoutMs: 30_000 });
    const created = await admin.request(ApiKey.CreateTopics, 3, { topics: [{ name: 'idle', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 20_000, validateOnly: false });
    if (created.topics[0].errorCode !== 0) throw new Error(`CreateTopics: error ${created.topics[0].errorCode}`);
    admin.close();
    const connections = await Promise.all(Array.from({ length: CONSUMERS }, () => KafkaConnection.connect('127.0.0.1', brokerPort, { requestTimeoutMs: 30_000 })));
    const started = Date.now();
    const deadline = started + DURATION_S * 1000;
    let fetches = 0;
    const consumers = connections.map(async (connection) => {
      // Bounded by the deadline: at most DURATION_S * 1000 / MAX_WAIT_MS fetches per connection.
      while (Date.now() < deadline) {
        const response = await connection.request(ApiKey.Fetch, 11, {
          replicaId: -1, maxWaitMs: MAX_WAIT_MS, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic: 'idle', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
          forgottenTopicsData: [], rackId: '',
        });
        if (response.responses[0].partitions[0].errorCode !== 0) throw new Error(`fetch error ${response.responses[0].partitions[0].errorCode}`);
        fetches++;
      }
    });
    log(`${CONSUMERS} idle long-polling consumers for ${DURATION_S} s; broker pid ${pid}`);
    const samples: Array<{ seconds: number; rssMiB: number; fetches: number }> = [];
    const sample = (): void => {
      const entry = { seconds: Math.round((Date.now() - started) / 1000), rssMiB: Number((residentKiB(pid) / 1024).toFixed(1)), fetches };
      samples.push(entry);
      process.stdout.write(`${JSON.stringify(entry)}\n`);
    };
    sample();
    const timer = setInterval(sample, SAMPLE_S * 1000);
    await Promise.all(consumers);
    clearInterval(timer);
    sample();
    for (const connection of connections) connection.close();
    const settled = samples.filter((s) => s.seconds >= Math.min(60, DURATION_S / 4));
    const rss = settled.map((s) => s.rssMiB).sort((a, b) => a - b);
    process.stdout.write(`${JSON.stringify({ consumers: CONSUMERS, seconds: DURATION_S, fetches, rssMiBFirst: settled[0]?.rssMiB, rssMiBLast: settled[settled.length - 1]?.rssMiB, rssMiBMedian: rss[Math.floor(rss.length / 2)], rssMiBMax: rss[rss.length - 1] })}\n`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

runBenchmark(main);
