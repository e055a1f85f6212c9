/**
 * Consumer groups under `make bench` (issue 8), with kafkajs as the client:
 *   - group-consume: a group of 3 kafkajs consumers (one process, auto-commit) reads N records of
 *     a 6-partition topic → records/s from the first record to the last, plus the time to the first
 *     record (the join, including group.initial.rebalance.delay.ms) and until the group's committed
 *     offsets reach the end of every partition (auto-commit works);
 *   - rebalance: a stable group of 3 members (each its own process, so that one can die) on the
 *     same topic; per round, a 4th member joins (`join`), then leaves with LeaveGroup (`leave`) or is
 *     SIGKILLed (`crash`: the coordinator notices when its session times out). Rebalance time =
 *     the action → every live member has announced (kafkajs GROUP_JOIN) an assignment after it and
 *     those assignments cover every partition exactly once. p50/p99 over BENCH_GROUP_ROUNDS (20).
 * `runGroupBench(target, rf)` runs both against a running cluster (bench.ts); run alone,
 * `node dist/scripts/bench-groups.js` starts its own cluster (BENCH_GROUP_BROKERS, 3; RF = brokers).
 * Knobs: BENCH_GROUP_RECORDS (200,000; quick 20,000), BENCH_GROUP_RECORD_BYTES (100),
 * BENCH_GROUP_ROUNDS (20; quick 3), BENCH_GROUP_REBALANCES=join,leave,crash,
 * BENCH_GROUP_SESSION_TIMEOUT_MS (6000: the broker's minimum), BENCH_GROUP_HEARTBEAT_MS (500).
 * The member processes are this file with `member` as first argument. Every wait is bounded;
 * members are stopped by pid; all on 127.0.0.1.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as readline from 'readline';
import { ApiKey } from '../shared/kafka/api-keys';
import { kafkaErrorName } from '../shared/kafka/errors';
import { buildRecordBatch } from '../shared/kafka/record-batch';
import { percentile, printLine } from './bench-results';
import { bootstrap, closeTarget, connectTarget, createTopic, endOffsets, PARTITIONS, SamsaTarget } from './bench-samsa';
import { log, runBenchmark, startSamsaCluster, stopSamsaCluster, waitUntil, WORKLOAD_CAP_MS } from './bench-support';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');

const QUICK = process.env.BENCH_QUICK === '1';
const num = (name: string, fallback: number, quick = fallback): number => Number(process.env[name] ?? (QUICK ? quick : fallback));

export interface GroupBenchOptions {
  records: number;
  recordBytes: number;
  rounds: number;
  rebalances: Array<'join' | 'leave' | 'crash'>;
  /** Members of the rebalance rounds ask for this session timeout (a crash is noticed after it). */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

export function groupBenchOptions(): GroupBenchOptions {
  const rebalances = (process.env.BENCH_GROUP_REBALANCES ?? 'join,leave,crash').split(',').map((s) => s.trim()).filter(Boolean);
  for (const kind of rebalances) if (kind !== 'join' && kind !== 'leave' && kind !== 'crash') throw new Error(`BENCH_GROUP_REBALANCES: unknown ${kind}`);
  return {
    records: num('BENCH_GROUP_RECORDS', 200_000, 20_000),
    recordBytes: num('BENCH_GROUP_RECORD_BYTES', 100),
    rounds: num('BENCH_GROUP_ROUNDS', 20, 3),
    rebalances: rebalances as GroupBenchOptions['rebalances'],
    sessionTimeoutMs: num('BENCH_GROUP_SESSION_TIMEOUT_MS', 6_000),
    heartbeatIntervalMs: num('BENCH_GROUP_HEARTBEAT_MS', 500),
  };
}

const MEMBERS = 3;
/** Records per Produce batch when filling the topic (not measured). */
const FILL_BATCH_RECORDS = 1000;
/** A rebalance not complete after this is a failed round (a crash round waits a session timeout first). */
const REBALANCE_CAP_MS = 60_000;
/** Until the group's committed offsets reach the end of the topic after the last record was read. */
const COMMIT_CAP_MS = 30_000;
/** A member process that does not say it is ready within this is a failure. */
const MEMBER_READY_CAP_MS = 30_000;
/** A member process exits on its own after this (the parent died without stopping it). */
const MEMBER_LIFETIME_MS = 60 * 60_000;

let topics = 0;

/** Both workloads against a running cluster; prints one JSON line per result and returns them. */
export async function runGroupBench(target: SamsaTarget, rf: number, options: GroupBenchOptions = groupBenchOptions()): Promise<object[]> {
  const topic = `bench-groups-rf${rf}-${process.pid}-${topics++}`;
  const leaders = await createTopic(target, topic, rf, rf > 1 ? { 'min.insync.replicas': '2' } : {});
  log(`groups RF ${rf}: filling ${topic} with ${options.records} x ${options.recordBytes} B`);
  await fill(target, topic, leaders, options.records, options.recordBytes);
  // The high watermark (what consumers can read) covers every record once acks=all was answered;
  // waiting for it anyway keeps the read workload from chasing a moving end.
  let ends: bigint[] = [];
  await waitUntil(`${topic}: high watermarks covering ${options.records} records`, async () => {
    ends = await endOffsets(target, topic, leaders);
    return ends.reduce((a, b) => a + b, 0n) === BigInt(options.records);
  });
  const results: object[] = [];
  log(`groups RF ${rf}: a group of ${MEMBERS} kafkajs consumers reads ${options.records} records with auto-commit`);
  results.push(await groupConsume(target, topic, ends, rf, options));
  if (options.rebalances.length > 0) results.push(...(await rebalances(target, topic, rf, options)));
  return results;
}

/** Fills the topic with acks=all batches spread evenly over the partitions, straight to each leader. */
async function fill(target: SamsaTarget, topic: string, leaders: number[], records: number, recordBytes: number): Promise<void> {
  const value = Buffer.alloc(recordBytes, 0x62);
  const batch = buildRecordBatch(Array.from({ length: FILL_BATCH_RECORDS }, () => ({ key: null, value })));
  const batches = Math.ceil(records / FILL_BATCH_RECORDS);
  const last = records - (batches - 1) * FILL_BATCH_RECORDS;
  const lastBatch = last === FILL_BATCH_RECORDS ? batch : buildRecordBatch(Array.from({ length: last }, () => ({ key: null, value })));
  await Promise.all(
    leaders.map(async (leader, partition) => {
      const connection = target.brokers.get(leader)!.connections[0]!;
      for (let i = partition; i < batches; i += leaders.length) {
        const response = await connection.request(ApiKey.Produce, 7, {
          transactionalId: null, acks: -1, timeoutMs: 30_000,
          topicData: [{ name: topic, partitionData: [{ index: partition, records: i === batches - 1 ? lastBatch : batch }] }],
        });
        const errorCode = response.responses[0].partitionResponses[0].errorCode as number;
        if (errorCode !== 0) throw new Error(`filling ${topic}-${partition}: ${kafkaErrorName(errorCode)}`);
      }
    }),
  );
}

async function groupConsume(target: SamsaTarget, topic: string, ends: bigint[], rf: number, options: GroupBenchOptions): Promise<object> {
  const groupId = `${topic}-consume`;
  const kafka = new Kafka({ brokers: bootstrap(target).split(','), clientId: 'bench-groups', logLevel: logLevel.NOTHING });
  const consumers = Array.from({ length: MEMBERS }, () => kafka.consumer({ groupId, allowAutoTopicCreation: false }));
  const admin = kafka.admin();
  const highest = new Array<number>(PARTITIONS).fill(-1);
  const lastOffsets = ends.map((end) => Number(end) - 1);
  const total = lastOffsets.reduce((sum, last) => sum + last + 1, 0);
  let deliveries = 0;
  let firstAt: number | undefined;
  let lastAt: number | undefined;
  const done = (): boolean => highest.every((offset, partition) => offset >= lastOffsets[partition]!);
  try {
    await admin.connect();
    const started = performance.now();
    for (const consumer of consumers) {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
    }
    await Promise.all(
      consumers.map((consumer) =>
        consumer.run({
          // The default auto-commit: offsets of processed batches are committed as the consumer goes.
          eachMessage: async ({ partition, message }) => {
            deliveries++;
            const now = performance.now();
            firstAt ??= now;
            const offset = Number(message.offset);
            if (offset > highest[partition]!) highest[partition] = offset;
            if (lastAt === undefined && done()) lastAt = now;
          },
        }),
      ),
    );
    await waitUntil(`the group reading ${total} records of ${topic}`, () => lastAt !== undefined, WORKLOAD_CAP_MS);
    const readAt = performance.now();
    // The last batches' offsets are committed after eachMessage returns: wait for them to reach the end.
    let committedMs: number | null = null;
    let seen = '';
    await waitUntil(`${groupId}'s committed offsets at the end of ${topic}`, async () => {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      seen = JSON.stringify(entry?.partitions.map((p) => [p.partition, p.offset]));
      const complete = entry !== undefined && entry.partitions.every((p) => BigInt(p.offset) === ends[p.partition]);
      if (complete) committedMs = performance.now() - readAt;
      return complete;
    }, COMMIT_CAP_MS).catch((error: Error) => {
      throw new Error(`${error.message} (committed ${seen}, ends ${ends.join(',')})`);
    });
    const seconds = (lastAt! - firstAt!) / 1000;
    const line = {
      system: 'samsa', rf, client: 'kafkajs', workload: 'group-consume', members: MEMBERS, recordBytes: options.recordBytes,
      records: total, deliveries, seconds: Number(seconds.toFixed(3)), recordsPerSecond: Math.round(total / seconds),
      mbPerSecond: Number(((total * options.recordBytes) / seconds / 1e6).toFixed(2)),
      firstRecordMs: Number((firstAt! - started).toFixed(1)), totalSeconds: Number(((lastAt! - started) / 1000).toFixed(3)),
      lastCommitMs: committedMs === null ? null : Number((committedMs as number).toFixed(1)),
    };
    printLine(line);
    return line;
  } finally {
    await Promise.all(consumers.map((consumer) => consumer.disconnect().catch(() => undefined)));
    await admin.disconnect().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// Rebalance rounds, with members in their own processes

interface Member {
  child: ChildProcess;
  /** Latest assignment announced (GROUP_JOIN) and when it arrived. */
  assignment: number[] | null;
  joinedAt: number;
  ready: Promise<void>;
  exited: Promise<void>;
}

const members: Member[] = [];

function spawnMember(bootstrapServers: string, topic: string, groupId: string, options: GroupBenchOptions): Member {
  const child = spawn(process.execPath, [__filename, 'member', bootstrapServers, topic, groupId, String(options.sessionTimeoutMs), String(options.heartbeatIntervalMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-10_000)));
  const member: Member = { child, assignment: null, joinedAt: 0, ready: Promise.resolve(), exited: new Promise((resolve) => child.once('exit', () => resolve())) };
  member.ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`member ${child.pid} not ready after ${MEMBER_READY_CAP_MS} ms: ${stderr}`)), MEMBER_READY_CAP_MS);
    child.once('exit', (code) => reject(new Error(`member ${child.pid} exited (${code}): ${stderr}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: { event: string; assignment?: number[] };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return;
      }
      if (event.event === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (event.event === 'join') {
        member.assignment = event.assignment ?? [];
        member.joinedAt = performance.now();
      }
    });
  });
  member.ready.catch(() => undefined); // awaited by the caller; no unhandled rejection if it never is
  members.push(member);
  return member;
}

function go(member: Member): void {
  member.child.stdin!.write('go\n');
}

async function stopMember(member: Member, signal: NodeJS.Signals): Promise<void> {
  if (member.child.exitCode === null && member.child.signalCode === null) member.child.kill(signal);
  const timer = setTimeout(() => member.child.kill('SIGKILL'), 30_000);
  await member.exited;
  clearTimeout(timer);
  const index = members.indexOf(member);
  if (index >= 0) members.splice(index, 1);
}

/** Every live member announced an assignment after `since`, and together they cover each partition once. */
function settled(live: Member[], since: number): boolean {
  if (!live.every((m) => m.assignment !== null && m.joinedAt >= since)) return false;
  const all = live.flatMap((m) => m.assignment!).sort((a, b) => a - b);
  return all.length === PARTITIONS && all.every((p, i) => p === i);
}

async function waitSettled(live: Member[], since: number, what: string): Promise<number> {
  await waitUntil(what, () => settled(live, since), REBALANCE_CAP_MS);
  return Math.max(...live.map((m) => m.joinedAt)) - since;
}

async function rebalances(target: SamsaTarget, topic: string, rf: number, options: GroupBenchOptions): Promise<object[]> {
  const groupId = `${topic}-rebalance`;
  const servers = bootstrap(target);
  const samples = new Map<string, number[]>(options.rebalances.map((kind) => [kind, []]));
  try {
    const base = Array.from({ length: MEMBERS }, () => spawnMember(servers, topic, groupId, options));
    for (const member of base) await member.ready;
    const formedAt = performance.now();
    for (const member of base) go(member);
    const formMs = await waitSettled(base, formedAt, `a stable group of ${MEMBERS}`);
    log(`groups RF ${rf}: rebalance rounds (${options.rebalances.join(', ')}), ${options.rounds} each; the group of ${MEMBERS} formed in ${formMs.toFixed(0)} ms`);
    const record = (kind: string, ms: number): void => {
      const values = samples.get(kind);
      if (values !== undefined && values.length < options.rounds) values.push(ms);
    };
    // Each round: a 4th member joins (a `join` sample), then goes away by the next kind asked for
    // (`leave` unmeasured when only `join` is), so that every kind gets `rounds` samples.
    const goneKinds = options.rebalances.filter((kind) => kind !== 'join');
    for (let round = 0; round < options.rounds * Math.max(1, goneKinds.length); round++) {
      const kind = goneKinds.length === 0 ? 'leave' : goneKinds[round % goneKinds.length]!;
      const extra = spawnMember(servers, topic, groupId, options);
      await extra.ready;
      const joinAt = performance.now();
      go(extra);
      const joinMs = await waitSettled([...base, extra], joinAt, `round ${round}: the group after a join`);
      record('join', joinMs);
      const goneAt = performance.now();
      const stopped = stopMember(extra, kind === 'leave' ? 'SIGTERM' : 'SIGKILL');
      const goneMs = await waitSettled(base, goneAt, `round ${round}: the group after a ${kind}`);
      await stopped;
      record(kind, goneMs);
      log(`groups RF ${rf}: round ${round}: join ${joinMs.toFixed(1)} ms, ${kind} ${goneMs.toFixed(1)} ms`);
    }
  } finally {
    await Promise.all([...members].map((member) => stopMember(member, 'SIGTERM')));
  }
  const out: object[] = [];
  for (const [kind, values] of samples) {
    if (values.length === 0) continue;
    const sorted = [...values].sort((a, b) => a - b);
    const line = {
      system: 'samsa', rf, client: 'kafkajs', workload: 'rebalance', kind, members: `${MEMBERS}${kind === 'join' ? '→4' : '+1→3'}`, rounds: values.length,
      p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), minMs: Number(sorted[0]!.toFixed(1)), maxMs: Number(sorted[sorted.length - 1]!.toFixed(1)),
      sessionTimeoutMs: options.sessionTimeoutMs, heartbeatIntervalMs: options.heartbeatIntervalMs,
    };
    printLine(line);
    out.push(line);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Member process: `node bench-groups.js member <bootstrap> <topic> <group> <sessionTimeoutMs> <heartbeatMs>`

async function member(args: string[]): Promise<void> {
  const [servers, topic, groupId, sessionTimeout, heartbeatInterval] = args as [string, string, string, string, string];
  const kafka = new Kafka({ brokers: servers.split(','), clientId: 'bench-groups-member', logLevel: logLevel.NOTHING });
  // Short fetch waits: kafkajs heartbeats between fetches, so a long poll on the idle topic would
  // delay its notice of a rebalance by up to maxWaitTimeInMs.
  const consumer = kafka.consumer({ groupId, sessionTimeout: Number(sessionTimeout), heartbeatInterval: Number(heartbeatInterval), maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  const say = (event: object): void => void process.stdout.write(`${JSON.stringify(event)}\n`);
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => say({ event: 'join', memberId: payload.memberId, assignment: [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b) }));
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await consumer.disconnect().catch(() => undefined); // sends LeaveGroup
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  setTimeout(() => void stop(), MEMBER_LIFETIME_MS).unref();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  say({ event: 'ready' });
  const input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (line.trim() === 'go') void consumer.run({ autoCommit: false, eachMessage: async () => undefined });
  });
  input.on('close', () => void stop()); // the parent is gone
}

// ---------------------------------------------------------------------------------------
// Alone: its own cluster

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-groups-'));
  const brokers = num('BENCH_GROUP_BROKERS', 3);
  const cluster = await startSamsaCluster(root, brokers);
  const target = await connectTarget(cluster.brokers);
  try {
    await runGroupBench(target, brokers);
  } finally {
    closeTarget(target);
    await Promise.all([...members].map((m) => stopMember(m, 'SIGKILL')));
    await stopSamsaCluster(cluster);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (process.argv[2] === 'member') {
    member(process.argv.slice(3)).catch((error: unknown) => {
      process.stderr.write(`member failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
  } else runBenchmark(main);
}
