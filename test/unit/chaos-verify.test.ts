/**
 * The chaos run's pure parts on hand-made histories: the verifier (loss, divergent reads and
 * replicas, duplicates, unavailability after faults), the seeded schedule and target choice,
 * the options, and the reader of a stopped broker's log files. The run itself (real processes) is test/integration/chaos.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildRecordBatch } from '../../shared/kafka/record-batch';
import { readReplicaLog } from '../../scripts/chaos/disk';
import { CHAOS_DEFAULTS, ChaosOptionsError, parseChaosOptions, rerunCommand } from '../../scripts/chaos/options';
import { chooseTarget, DEFAULT_SCHEDULE, FaultSchedule, TargetCandidates, TargetRole } from '../../scripts/chaos/schedule';
import { Ack, FinalPartition, PartitionReads, percentile, ReplicaLog, SendTimeline, unavailabilityAfterFaults, verify, VerifyInput } from '../../scripts/chaos/verify';

const log = (...values: string[]): Map<number, string> => new Map(values.map((value, offset) => [offset, value]));

function replica(broker: number, records: Map<number, string>, problem: string | null = null): ReplicaLog {
  return { broker, records, problem };
}

/** Partition t-0 led by broker 1, ISR [1, 2, 3], final log a b c (high watermark 3), every replica identical. */
function partition(overrides: Partial<FinalPartition> = {}): FinalPartition {
  const records = log('a', 'b', 'c');
  return {
    topic: 't',
    partition: 0,
    leader: 1,
    isr: [1, 2, 3],
    replicas: [1, 2, 3],
    highWatermark: 3,
    log: records,
    replicaLogs: [replica(1, new Map(records)), replica(2, new Map(records)), replica(3, new Map(records))],
    ...overrides,
  };
}

const ack = (offset: number, value: string, topic = 't', p = 0): Ack => ({ topic, partition: p, offset, value });
const reads = (consumer: string, pairs: Array<[number, string]>): PartitionReads => ({ consumer, topic: 't', partition: 0, offsets: pairs.map(([o]) => o), values: pairs.map(([, v]) => v) });

function input(overrides: Partial<VerifyInput> = {}): VerifyInput {
  return { acks: [ack(0, 'a'), ack(1, 'b'), ack(2, 'c')], reads: [reads('c0', [[0, 'a'], [1, 'b']])], partitions: [partition()], faults: [], sends: [], ...overrides };
}

describe('verify', () => {
  test('a clean history passes with every count at zero', () => {
    const verdict = verify(input());
    expect(verdict).toMatchObject({ ok: true, acknowledged: 3, lost: 0, divergentReads: 0, readConflicts: 0, divergentReplicas: 0, duplicated: 0, recordsRead: 2, recordsInFinalLogs: 3, examples: [] });
  });

  test.each([
    ['an acknowledged offset past the high watermark', ack(3, 'd'), /lost: t-0@3 acknowledged d, final log absent \(high watermark 3\)/],
    ['an acknowledged offset holding another value', ack(1, 'x'), /lost: t-0@1 acknowledged x, final log holds b/],
    ['an acknowledged record of a partition with no final state', ack(0, 'a', 't', 9), /lost: t-9@0 acknowledged a, final log no final state/],
  ])('loss: %s', (_name, extra, example) => {
    const verdict = verify(input({ acks: [ack(0, 'a'), extra] }));
    expect(verdict.ok).toBe(false);
    expect(verdict.lost).toBe(1);
    expect(verdict.examples.join('\n')).toMatch(example);
  });

  test('a read that the final log contradicts, or that is gone from it, is divergent', () => {
    const verdict = verify(input({ reads: [reads('c0', [[0, 'a'], [1, 'z'], [5, 'q']])] }));
    expect(verdict).toMatchObject({ ok: false, divergentReads: 2, readConflicts: 0, lost: 0 });
    expect(verdict.examples).toEqual([
      'divergent read: c0 read t-0@1 = z, final log holds b',
      'divergent read: c0 read t-0@5 = q, final log has no such offset',
    ]);
  });

  test('two reads of one offset with different values conflict, across consumers too', () => {
    const verdict = verify(input({ reads: [reads('c0', [[0, 'a']]), reads('c1', [[0, 'other']])] }));
    expect(verdict.readConflicts).toBe(1);
    expect(verdict.divergentReads).toBe(1); // c1's read also disagrees with the final log
    expect(verdict.ok).toBe(false);
  });

  test('an ISR replica that differs below the high watermark is divergent; above it, it may differ', () => {
    const differs = partition({ replicaLogs: [replica(1, log('a', 'b', 'c')), replica(2, log('a', 'X', 'c')), replica(3, log('a', 'b', 'c', 'unreplicated'))] });
    const verdict = verify(input({ partitions: [differs] }));
    expect(verdict).toMatchObject({ ok: false, divergentReplicas: 1, lost: 0 });
    expect(verdict.examples).toEqual(['divergent replica: t-0 on broker 2: 1 offsets below the high watermark 3 differ, first @1 final b, replica X']);
  });

  test('an ISR replica missing a committed record, or holding one the final log lacks, is divergent', () => {
    const missing = new Map([[0, 'a'], [2, 'c']]);
    const extra = new Map([[0, 'a'], [2, 'c'], [1, 'b']]);
    const finalWithHole = new Map([[0, 'a'], [2, 'c']]);
    expect(verify(input({ partitions: [partition({ replicaLogs: [replica(1, log('a', 'b', 'c')), replica(2, missing), replica(3, log('a', 'b', 'c'))] })] })).divergentReplicas).toBe(1);
    const holeVerdict = verify(input({ acks: [ack(0, 'a')], reads: [], partitions: [partition({ log: finalWithHole, replicaLogs: [replica(1, finalWithHole), replica(2, extra), replica(3, finalWithHole)] })] }));
    expect(holeVerdict.divergentReplicas).toBe(1);
    expect(holeVerdict.examples[0]).toMatch(/@1 replica b, final log absent/);
  });

  test('replicas outside the final ISR are counted, not compared', () => {
    const lagging = partition({ isr: [1, 2], replicaLogs: [replica(1, log('a', 'b', 'c')), replica(2, log('a', 'b', 'c')), replica(3, log('a'))] });
    const verdict = verify(input({ partitions: [lagging] }));
    expect(verdict).toMatchObject({ ok: true, replicasOutsideIsr: 1, divergentReplicas: 0 });
  });

  test('an unreadable ISR replica is reported and, missing records, divergent', () => {
    const broken = partition({ replicaLogs: [replica(1, log('a', 'b', 'c')), replica(2, log('a'), 'CRC mismatch'), replica(3, log('a', 'b', 'c'))] });
    const verdict = verify(input({ partitions: [broken] }));
    expect(verdict).toMatchObject({ ok: false, unreadableReplicas: 1, divergentReplicas: 1 });
  });

  test('a value at two offsets is a duplicate: counted, not a failure', () => {
    const records = log('a', 'b', 'a', 'c');
    const verdict = verify(input({ acks: [ack(0, 'a'), ack(1, 'b'), ack(3, 'c')], partitions: [partition({ highWatermark: 4, log: records, replicaLogs: [replica(1, records)], isr: [1] })] }));
    expect(verdict).toMatchObject({ ok: true, duplicated: 1, lost: 0 });
  });

  test('a partition without a leader or high watermark at the end is unsettled, and its acknowledged records count as lost', () => {
    const offline = partition({ leader: -1, highWatermark: -1, log: new Map() });
    const verdict = verify(input({ partitions: [offline], reads: [] }));
    expect(verdict).toMatchObject({ ok: false, unsettledPartitions: 1, lost: 3, divergentReplicas: 0 });
  });

  test('faults are counted by kind', () => {
    const verdict = verify(input({ faults: [{ kind: 'broker-kill', target: 'broker 1', startedAtMs: 0 }, { kind: 'broker-kill', target: 'broker 2', startedAtMs: 10 }, { kind: 'coordinator-kill', target: 'coordinator', startedAtMs: 20 }] }));
    expect(verdict.faults).toBe(3);
    expect(verdict.faultsByKind).toEqual({ 'broker-kill': 2, 'coordinator-kill': 1 });
  });

  test('the examples are bounded, the counts are not', () => {
    const many = Array.from({ length: 100 }, (_, i) => ack(10 + i, `v${i}`));
    const verdict = verify(input({ acks: many }));
    expect(verdict.lost).toBe(100);
    expect(verdict.examples).toHaveLength(20);
  });
});

describe('unavailability after faults', () => {
  const timeline = (producer: number, sends: Array<[number, number | null]>): SendTimeline => ({ producer, startedAtMs: sends.map(([s]) => s), ackedAtMs: sends.map(([, a]) => a) });

  test('is the time until every producer had a send started after the fault acknowledged', () => {
    const sends = [
      timeline(0, [[90, 95], [100, 150], [150, 160]]), // the send started at the fault: acknowledged at 150
      timeline(1, [[95, 900], [900, 901]]), // stuck across the fault: does not count; the next one at 901
    ];
    expect(unavailabilityAfterFaults([{ kind: 'broker-kill', target: 'broker 1', startedAtMs: 100 }], sends)).toEqual({ durationsMs: [801], byKind: { 'broker-kill': [801] }, unrecovered: 0 });
  });

  test('failed sends are skipped; a producer with no later success leaves the fault unrecovered', () => {
    const sends = [timeline(0, [[100, null], [200, null], [300, 350]]), timeline(1, [[100, null]])];
    expect(unavailabilityAfterFaults([{ kind: 'broker-pause', target: 'broker 2', startedAtMs: 50 }], sends)).toEqual({ durationsMs: [], byKind: {}, unrecovered: 1 });
    expect(unavailabilityAfterFaults([{ kind: 'broker-pause', target: 'broker 2', startedAtMs: 50 }], [sends[0]!])).toEqual({ durationsMs: [300], byKind: { 'broker-pause': [300] }, unrecovered: 0 });
  });

  test('percentiles are nearest-rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 99), percentile(sorted, 100), percentile([], 50), percentile([7], 99)]).toEqual([50, 99, 100, 0, 7]);
    const verdict = verify(input({ faults: [{ kind: 'broker-cut', target: 'broker 3', startedAtMs: 0 }], sends: [timeline(0, [[0, 40]])] }));
    expect(verdict.unavailability).toEqual({ count: 1, p50Ms: 40, p99Ms: 40, maxMs: 40 });
    expect(verdict.unavailabilityByKind).toEqual({ 'broker-cut': { count: 1, p50Ms: 40, p99Ms: 40, maxMs: 40 } });
  });
});

describe('fault schedule', () => {
  const plans = (seed: number, n: number) => {
    const schedule = new FaultSchedule(seed);
    return Array.from({ length: n }, () => schedule.next());
  };

  test('one seed gives one sequence; another seed another', () => {
    expect(plans(42, 50)).toEqual(plans(42, 50));
    expect(plans(43, 50)).not.toEqual(plans(42, 50));
  });

  test('plans stay within the settings, and every kind and role comes up', () => {
    const drawn = plans(7, 500);
    for (const plan of drawn) {
      const hold = DEFAULT_SCHEDULE.holdMs[plan.kind];
      expect(plan.holdMs).toBeGreaterThanOrEqual(hold.minMs);
      expect(plan.holdMs).toBeLessThanOrEqual(hold.maxMs);
      expect(plan.gapMs).toBeGreaterThanOrEqual(DEFAULT_SCHEDULE.gapMs.minMs);
      expect(plan.gapMs).toBeLessThanOrEqual(DEFAULT_SCHEDULE.gapMs.maxMs);
    }
    expect(new Set(drawn.map((p) => p.kind))).toEqual(new Set(['broker-kill', 'broker-pause', 'coordinator-kill', 'broker-cut']));
    expect(new Set(drawn.map((p) => p.role))).toEqual(new Set(['controller', 'leader', 'any']));
    expect(drawn.map((p) => p.index)).toEqual(drawn.map((_, i) => i));
  });

  test('a kind with weight 0 never comes up', () => {
    const schedule = new FaultSchedule(1, { ...DEFAULT_SCHEDULE, kindWeights: { 'broker-kill': 1, 'broker-pause': 0, 'coordinator-kill': 0, 'broker-cut': 0 } });
    expect(new Set(Array.from({ length: 100 }, () => schedule.next().kind))).toEqual(new Set(['broker-kill']));
  });

  const cases: Array<[string, { role: TargetRole; pick: number }, number, Partial<TargetCandidates>]> = [
    ['the controller', { role: 'controller', pick: 5 }, 3, {}],
    ['a leader, chosen by the pick among partitions', { role: 'leader', pick: 4 }, 1, {}],
    ['any live broker', { role: 'any', pick: 6 }, 2, {}],
    ['the controller when none: any live broker', { role: 'controller', pick: 1 }, 2, { controller: -1 }],
    ['a leader when every leader is gone: any live broker', { role: 'leader', pick: 0 }, 1, { leaders: [-1, 9] }],
  ];
  test.each(cases)('targets %s', (_name, plan, expected, overrides) => {
    expect(chooseTarget(plan, { brokers: [1, 2, 3, 4, 5], controller: 3, leaders: [2, 2, 5, 4, 1, 3], ...overrides })).toBe(expected);
  });

  test('no live broker: no target', () => {
    expect(chooseTarget({ role: 'any', pick: 3 }, { brokers: [], controller: -1, leaders: [] })).toBeNull();
  });
});

describe('options', () => {
  test('defaults, with the seed given', () => {
    expect(parseChaosOptions({}, [], 1234)).toEqual({ ...CHAOS_DEFAULTS, seed: 1234 });
  });

  test('environment, then flags (both spellings), win over defaults', () => {
    const options = parseChaosOptions({ SECONDS: '60', SEED: '9', BROKERS: '4', VERBOSE: '1' }, ['--seconds=30', '--brokers', '3', '--min-faults', '20'], 1);
    expect(options).toMatchObject({ seconds: 30, seed: 9, brokers: 3, verbose: true, minFaults: 20 });
    expect(rerunCommand(options)).toBe('MIN_FAULTS=20 make chaos SEED=9 SECONDS=30 BROKERS=3');
  });

  test.each([
    [{ SECONDS: 'ten' }, [], /SECONDS\) must be an integer/],
    [{}, ['--brokers=2'], /replication factor 3 needs at least as many brokers \(2\)/],
    [{ MIN_ISR: '4' }, [], /min.insync.replicas 4 is above the replication factor 3/],
    [{}, ['--nope'], /unknown flag --nope/],
    [{}, ['--seed'], /--seed needs a value/],
    [{}, ['stray'], /unexpected argument stray/],
  ])('refuses %j %j', (env, argv, message) => {
    expect(() => parseChaosOptions(env, argv, 1)).toThrow(ChaosOptionsError);
    expect(() => parseChaosOptions(env, argv, 1)).toThrow(message);
  });
});

describe('reading a replica log from disk', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-chaos-disk-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  /** A batch of `values` at `baseOffset`, as the broker stores it (the base offset is outside the CRC). */
  function batch(baseOffset: number, values: string[], compression: 'none' | 'gzip' = 'none'): Buffer {
    const bytes = buildRecordBatch(values.map((v) => ({ key: null, value: Buffer.from(v) })), { compression });
    bytes.writeBigInt64BE(BigInt(baseOffset), 0);
    return bytes;
  }

  function segment(base: number, ...batches: Buffer[]): void {
    fs.mkdirSync(path.join(dataDir, 't-0'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 't-0', `${String(base).padStart(20, '0')}.log`), Buffer.concat(batches));
  }

  test('every record of every segment, compressed or not, by offset', () => {
    segment(0, batch(0, ['a', 'b']), batch(2, ['c'], 'gzip'));
    segment(3, batch(3, ['d', 'e']));
    fs.writeFileSync(path.join(dataDir, 't-0', '00000000000000000000.index'), Buffer.alloc(16, 7)); // not a segment
    expect(readReplicaLog(dataDir, 2, 't', 0)).toEqual({ broker: 2, records: new Map([[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd'], [4, 'e']]), problem: null });
  });

  test('zero bytes after the last batch are no problem; other bytes after it, or a bad CRC, are', () => {
    segment(0, batch(0, ['a']), Buffer.alloc(100));
    expect(readReplicaLog(dataDir, 1, 't', 0).problem).toBeNull();
    segment(0, batch(0, ['a']), Buffer.from('garbage that is not a batch'));
    expect(readReplicaLog(dataDir, 1, 't', 0)).toMatchObject({ records: new Map([[0, 'a']]), problem: expect.stringMatching(/27 bytes after the last whole batch/) });
    const damaged = batch(1, ['b']);
    damaged[damaged.length - 1] ^= 0xff;
    segment(0, batch(0, ['a']), damaged, batch(2, ['c']));
    expect(readReplicaLog(dataDir, 1, 't', 0)).toMatchObject({ records: new Map([[0, 'a'], [2, 'c']]), problem: expect.stringMatching(/offset 1\): CRC mismatch/) });
  });

  test('a replica without the partition directory has no records and says why', () => {
    expect(readReplicaLog(dataDir, 3, 't', 0)).toMatchObject({ broker: 3, records: new Map(), problem: expect.stringMatching(/^no log directory/) });
  });
});
