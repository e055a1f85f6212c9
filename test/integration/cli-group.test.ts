/**
 * The consumer-group CLI with real processes (a coordinator, 3 brokers, kafkajs): two
 * `samsa consume --group` members split a topic's partitions, commit as they go (the second
 * starts where the first committed) and the survivor takes the partitions over when the other
 * leaves on SIGINT; `group list / describe / reset-offsets (--dry-run and real, every target) /
 * delete` end to end, including the refusals for a group with members; a kafkajs consumer in
 * another group reads the same topic alongside, untouched.
 */
import { Consumer, Kafka, logLevel } from 'kafkajs';
import { startCluster, TestCluster } from '../helpers/cluster';
import { runCommand, SAMSA_BIN, spawnSamsa, stopAll, waitFor, RunningProcess } from '../helpers/processes';

jest.setTimeout(180_000);

const TOPIC = 'orders';
const PARTITIONS = 4;
const GROUP = 'billing';
const OTHER_GROUP = 'audit';
/** A shorter first-rebalance delay than Kafka's 3 s keeps the test quick. */
const BROKER_ARGS = ['--group-initial-rebalance-delay-ms', '500'];

let cluster: TestCluster;
let kafka: Kafka;
let audit: Consumer;
const auditSeen = new Set<string>();

interface Printed {
  partition: number;
  offset: number;
  value: string;
}
interface LogEvent {
  msg: string;
  assignment?: Array<{ topic: string; partitions: number[] }>;
}

/** A `samsa consume --group` process with stdout (records) and stderr (pino events) kept apart. */
interface Member {
  process: RunningProcess;
  records(): Printed[];
  events(): LogEvent[];
  /** The partitions of the latest join, or null before the first. */
  assigned(): number[] | null;
}

const completeLines = (text: string): string[] => text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((line) => line.startsWith('{'));

function startMember(extra: string[] = []): Member {
  const child = spawnSamsa(['consume', TOPIC, '--group', GROUP, '--from-beginning', '--json', '--bootstrap', cluster.bootstrap, ...extra]);
  let stdout = '';
  let stderr = '';
  child.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const events = (): LogEvent[] => completeLines(stderr).map((line) => JSON.parse(line) as LogEvent);
  return {
    process: child,
    records: () => completeLines(stdout).map((line) => JSON.parse(line) as Printed),
    events,
    assigned: () => {
      const joined = events().filter((e) => e.msg === 'group.joined');
      if (joined.length === 0) return null;
      return joined[joined.length - 1]!.assignment!.filter((a) => a.topic === TOPIC).flatMap((a) => a.partitions).sort((a, b) => a - b);
    },
  };
}

function samsa(args: string[]): ReturnType<typeof runCommand> {
  return runCommand(process.execPath, [SAMSA_BIN, ...args, '--bootstrap', cluster.bootstrap], undefined, { timeoutMs: 60_000, env: { SAMSA_LOG_PRETTY: 'false' } });
}

interface Described {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  coordinator: number;
  members: Array<{ memberId: string; clientId: string; host: string; assignment: Array<{ topic: string; partitions: number[] }> | null }>;
  offsets: Array<{ topic: string; partition: number; committed: number | null; end: number | null; lag: number | null; memberId: string | null }>;
}

async function describeGroup(group: string): Promise<Described> {
  const result = await samsa(['group', 'describe', group, '--json']);
  if (result.code !== 0) throw new Error(`group describe ${group}: ${result.code} ${result.stderr}`);
  return JSON.parse(result.stdout) as Described;
}

const committedOf = (described: Described): number[] => described.offsets.filter((o) => o.topic === TOPIC).sort((a, b) => a.partition - b.partition).map((o) => o.committed ?? -1);

/** `count` records per partition, values `${tag}-${partition}-${i}`. */
async function produceRound(tag: string, count: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    const messages = Array.from({ length: PARTITIONS * count }, (_, i) => ({ partition: i % PARTITIONS, value: `${tag}-${i % PARTITIONS}-${Math.floor(i / PARTITIONS)}` }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3, brokerArgs: BROKER_ARGS });
  kafka = new Kafka({ brokers: [cluster.bootstrap], clientId: 'cli-group-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true });
  await admin.disconnect();
  audit = kafka.consumer({ groupId: OTHER_GROUP });
  await audit.connect();
  await audit.subscribe({ topic: TOPIC, fromBeginning: true });
  await audit.run({ eachMessage: async ({ message }) => void auditSeen.add(message.value!.toString()) });
});

afterAll(async () => {
  await audit?.disconnect();
  await stopAll();
});

test('option errors and unknown groups: one clear line and exit 1 (exit 2 for what yargs itself refuses)', async () => {
  const twoTargets = await samsa(['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-earliest', '--to-latest']);
  expect(twoTargets).toMatchObject({ code: 1, stderr: 'INVALID_REQUEST: name exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime\n' });
  const noTarget = await samsa(['group', 'reset-offsets', GROUP, '--topic', TOPIC]);
  expect(noTarget.code).toBe(1);
  const badTime = await samsa(['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-datetime', 'yesterday']);
  expect(badTime).toMatchObject({ code: 1, stderr: expect.stringMatching(/^INVALID_REQUEST: --to-datetime: 'yesterday' is not an ISO date-time/) });
  const noTopic = await samsa(['group', 'reset-offsets', GROUP, '--to-latest']);
  expect(noTopic.code).toBe(2);
  const groupAndPartition = await samsa(['consume', TOPIC, '--group', GROUP, '--partition', '1']);
  expect(groupAndPartition).toMatchObject({ code: 2, stderr: expect.stringContaining('mutually exclusive') });
  const missing = await samsa(['group', 'describe', 'no-such-group']);
  expect(missing).toMatchObject({ code: 1, stderr: 'GROUP_ID_NOT_FOUND: group no-such-group does not exist (no members, no committed offsets)\n' });
  const help = await samsa(['group', 'reset-offsets', '--help']);
  expect(help.stdout).toContain('--to-datetime');
  expect(help.stdout).toContain('--dry-run');
  // Kafka answers DeleteGroups for a group that does not exist with GROUP_ID_NOT_FOUND.
  const deleteMissing = await samsa(['group', 'delete', 'no-such-group']);
  expect(deleteMissing).toMatchObject({ code: 1, stderr: 'GROUP_ID_NOT_FOUND: group no-such-group does not exist (no members, no committed offsets)\n' });
});

test('two members split the partitions and commit as they go; the survivor takes over on SIGINT; the group CLI end to end', async () => {
  await produceRound('r1', 10);
  const a = startMember();
  await waitFor('member A owns every partition and printed round 1', () => a.assigned()?.length === PARTITIONS && a.records().length === PARTITIONS * 10, 60_000);

  // A second member: the group rebalances, each gets a consecutive half (range assignor).
  const b = startMember();
  await waitFor('a 2/2 split', () => {
    const [pa, pb] = [a.assigned(), b.assigned()];
    return pa?.length === 2 && pb?.length === 2 && new Set([...pa, ...pb]).size === PARTITIONS;
  }, 60_000);
  const halfA = a.assigned()!;
  const halfB = b.assigned()!;
  expect([halfA, halfB].sort((x, y) => x[0]! - y[0]!)).toEqual([[0, 1], [2, 3]]);

  await produceRound('r2', 10);
  await waitFor('round 2 printed', () => a.records().length + b.records().length === PARTITIONS * 20, 60_000);
  // B started at A's commits: exactly round 2 of its own partitions, nothing twice, nothing of A's.
  expect(b.records().every((r) => halfB.includes(r.partition) && r.offset >= 10)).toBe(true);
  expect(b.records()).toHaveLength(20);
  expect(a.records().slice(PARTITIONS * 10).every((r) => halfA.includes(r.partition))).toBe(true);

  // describe: state, protocol, both members with their partitions, committed = end, lag 0.
  const stable = await waitFor('every printed record committed', async () => {
    const described = await describeGroup(GROUP);
    return described.offsets.length === PARTITIONS && described.offsets.every((o) => o.committed === 20 && o.end === 20 && o.lag === 0) ? described : null;
  }, 30_000);
  expect(stable).toMatchObject({ groupId: GROUP, state: 'Stable', protocolType: 'consumer', protocol: 'range' });
  expect(stable.members).toHaveLength(2);
  for (const m of stable.members) {
    expect(m.clientId).toBe('samsa-cli');
    expect(m.host).toContain('127.0.0.1');
  }
  expect(stable.members.map((m) => m.assignment![0]!.partitions).sort((x, y) => x[0]! - y[0]!)).toEqual([[0, 1], [2, 3]]);
  const owners = new Map(stable.members.flatMap((m) => m.assignment![0]!.partitions.map((p) => [p, m.memberId] as const)));
  for (const o of stable.offsets) expect(o.memberId).toBe(owners.get(o.partition));
  const text = await samsa(['group', 'describe', GROUP]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^Group billing {2}State: Stable {2}Protocol: consumer\/range {2}Coordinator: broker \d/);
  expect(text.stdout).toMatch(/TOPIC +PARTITION +CURRENT-OFFSET +LOG-END-OFFSET +LAG +MEMBER-ID +CLIENT-ID/);
  expect(text.stdout).toMatch(/orders +3 +20 +20 +0 +\S+ +samsa-cli/);

  // list: both groups (the kafkajs one has its own protocol), from whichever brokers coordinate them.
  const listed = await samsa(['group', 'list']);
  expect(listed.code).toBe(0);
  expect(listed.stdout.split('\n').filter(Boolean)).toEqual(expect.arrayContaining([GROUP, OTHER_GROUP]));
  const other = await describeGroup(OTHER_GROUP);
  expect(other).toMatchObject({ state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner' });

  // Neither delete nor reset while members are active.
  const deleteActive = await samsa(['group', 'delete', GROUP]);
  expect(deleteActive.code).toBe(1);
  expect(deleteActive.stderr).toMatch(/^NON_EMPTY_GROUP: group billing has active members/);
  const resetActive = await samsa(['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-earliest']);
  expect(resetActive.code).toBe(1);
  expect(resetActive.stderr).toMatch(/^NON_EMPTY_GROUP: group billing is Stable with 2 member\(s\)/);

  // B leaves on SIGINT (LeaveGroup): A owns everything again and reads B's partitions from B's commits.
  process.kill(b.process.pid, 'SIGINT');
  expect(await b.process.exited).toBe(0);
  expect(b.events().some((e) => e.msg === 'group.left')).toBe(true);
  await waitFor('A owns every partition again', () => a.assigned()?.length === PARTITIONS, 30_000);
  const before = a.records().length;
  await produceRound('r3', 1);
  await waitFor('round 3 printed by A', () => a.records().length === before + PARTITIONS, 30_000);
  expect(a.records().slice(before).map((r) => [r.partition, r.offset]).sort((x, y) => x[0]! - y[0]!)).toEqual([[0, 20], [1, 20], [2, 20], [3, 20]]);

  process.kill(a.process.pid, 'SIGTERM');
  expect(await a.process.exited).toBe(0);
  const empty = await describeGroup(GROUP);
  expect(empty).toMatchObject({ state: 'Empty', members: [] });
  expect(committedOf(empty)).toEqual([21, 21, 21, 21]);
  expect((await samsa(['group', 'describe', GROUP])).stdout).toContain('No active members.');

  // reset-offsets: a dry run commits nothing; then each target for real.
  const dry = await samsa(['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-earliest', '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain('Plan for group billing (dry run: nothing committed)');
  expect(dry.stdout).toMatch(/TOPIC +PARTITION +CURRENT-OFFSET +NEW-OFFSET\norders +0 +21 +0\n/);
  expect(committedOf(await describeGroup(GROUP))).toEqual([21, 21, 21, 21]);

  const toOffset = await samsa(['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-offset', '5', '--json']);
  expect(toOffset.code).toBe(0);
  expect(JSON.parse(toOffset.stdout)).toMatchObject({ groupId: GROUP, dryRun: false, offsets: [0, 1, 2, 3].map((partition) => ({ topic: TOPIC, partition, currentOffset: 21, newOffset: 5 })) });
  expect(committedOf(await describeGroup(GROUP))).toEqual([5, 5, 5, 5]);

  // A member stopped by --max commits what it printed, and only that, then leaves.
  const limited = startMember(['--max', '3']);
  expect(await limited.process.exited).toBe(0);
  expect(limited.records()).toHaveLength(3);
  expect(limited.events().some((e) => e.msg === 'group.left')).toBe(true);
  const afterMax = await describeGroup(GROUP);
  expect(afterMax.state).toBe('Empty');
  const committedAfterMax = committedOf(afterMax);
  expect(committedAfterMax.reduce((sum, offset) => sum + (offset - 5), 0)).toBe(3);
  for (const r of limited.records()) expect(committedAfterMax[r.partition]).toBeGreaterThan(r.offset);

  const toLatest = await samsa(['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-latest']);
  expect(toLatest.code).toBe(0);
  expect(toLatest.stdout).toContain('Reset offsets of group billing');
  expect(committedOf(await describeGroup(GROUP))).toEqual([21, 21, 21, 21]);

  // --to-datetime: the first record at or after the time; past the last record, the end.
  const betweenRounds = await samsa(['consume', TOPIC, '--partition', '2', '--offset', '10', '--max', '1', '--json']);
  const round2Start = (JSON.parse(betweenRounds.stdout) as { timestamp: number }).timestamp;
  const byTime = await samsa(['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-datetime', new Date(round2Start).toISOString()]);
  expect(byTime.code).toBe(0);
  expect(committedOf(await describeGroup(GROUP))[2]).toBe(10);
  const future = await samsa(['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-datetime', new Date(Date.now() + 3_600_000).toISOString()]);
  expect(future.code).toBe(0);
  expect(committedOf(await describeGroup(GROUP))).toEqual([21, 21, 21, 21]);

  // delete: gone from describe and list.
  const deleted = await samsa(['group', 'delete', GROUP]);
  expect(deleted).toMatchObject({ code: 0, stdout: 'Deleted group billing\n' });
  expect((await samsa(['group', 'describe', GROUP])).stderr).toContain('GROUP_ID_NOT_FOUND: group billing does not exist');
  expect((await samsa(['group', 'list'])).stdout.split('\n')).not.toContain(GROUP);

  // The kafkajs consumer in the other group read every record, whatever the CLI group did.
  await waitFor('the kafkajs group read all 3 rounds', () => auditSeen.size === PARTITIONS * 21, 30_000);
  expect((await describeGroup(OTHER_GROUP)).offsets.every((o) => o.committed === 21)).toBe(true);
});
