/**
 * `make bench` with @platformatic/kafka (BENCH_PRODUCERS=...,platformatic): its producer, the
 * same load as kafkajs's (batches of about BATCH_BYTES, 8 sends in flight, partitions in turn),
 * and its consumer (a fresh group reading from the earliest offset). The package is ESM only and
 * the bench CommonJS, so the client runs in a child process (scripts/bench-platformatic.mjs)
 * that reports its own timings: process start-up and the first metadata round trip are outside.
 */
import { execFile } from 'child_process';
import * as path from 'path';
import { Labels, report, Result } from './bench-results';
import { bootstrap, PARTITIONS, SamsaTarget } from './bench-samsa';
import { REPO_ROOT, WORKLOAD_CAP_MS } from './bench-support';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'bench-platformatic.mjs');
const BATCH_BYTES = 64 * 1024;
const REQUESTS_IN_FLIGHT = 8;
/** The child is killed if it has not reported by then. */
const CHILD_TIMEOUT_MS = WORKLOAD_CAP_MS + 60_000;

async function run<T>(args: string[]): Promise<T> {
  const { error, stdout, stderr } = await new Promise<{ error: Error | null; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [SCRIPT, ...args], { cwd: REPO_ROOT, timeout: CHILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => resolve({ error, stdout, stderr })),
  );
  if (error !== null) throw new Error(`bench-platformatic.mjs ${args[0]} failed (${error.message}): ${stderr.slice(-2000)}`);
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

export async function producePlatformatic(target: SamsaTarget, topic: string, records: number, recordBytes: number, acks: number, labels: Labels): Promise<Result> {
  const out = await run<{ sent: number; errors: number; seconds: number; latencies: number[] }>(
    ['produce', bootstrap(target).split(',')[0]!, topic, records, recordBytes, acks, PARTITIONS, BATCH_BYTES, REQUESTS_IN_FLIGHT, WORKLOAD_CAP_MS].map(String),
  );
  return report(labels, out.sent, out.seconds, out.latencies, out.errors);
}

export async function consumePlatformatic(target: SamsaTarget, topic: string, records: number, labels: Labels): Promise<Result> {
  const out = await run<{ seen: number; seconds: number }>(['consume', bootstrap(target).split(',')[0]!, topic, String(records), String(WORKLOAD_CAP_MS)]);
  return report(labels, out.seen, out.seconds);
}
