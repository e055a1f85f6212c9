/**
 * The chaos run's verifier: a pure function from what the run recorded (acknowledged sends,
 * consumers' reads, each partition's final state and every replica's log as read from disk,
 * the faults and the producers' send timeline) to a verdict. No I/O, no clock: the run
 * gathers the inputs, this decides, so the checks are unit-tested on hand-made histories.
 *
 * Checks (a failure is any loss or divergence):
 * - lost: an acknowledged (topic, partition, offset, value) that is not in the final log at
 *   that offset (missing, past the high watermark, or another value there);
 * - divergent reads: a consumer read an offset whose value in the final log differs or is
 *   gone (consumers see only committed records, so it must stay), or two reads of one offset
 *   disagree;
 * - divergent replicas: a replica in the final ISR whose log below the high watermark is not
 *   the final log (a record missing, extra or different).
 * Counted, not failures: values present at two offsets (a producer's retry without
 * idempotence writes twice), replicas outside the ISR at the end, partitions that never
 * settled (no leader or no high watermark when the run stopped).
 */
import type { FaultKind } from './schedule';

export interface Ack {
  topic: string;
  partition: number;
  offset: number;
  value: string;
}

/** One consumer's reads of one partition, in read order (parallel arrays: runs read millions). */
export interface PartitionReads {
  consumer: string;
  topic: string;
  partition: number;
  offsets: number[];
  values: string[];
}

export interface ReplicaLog {
  broker: number;
  /** offset -> value of every record on disk (all segments). */
  records: Map<number, string>;
  /** Why the log could not be read whole (a corrupt batch, a missing directory), else null. */
  problem: string | null;
}

export interface FinalPartition {
  topic: string;
  partition: number;
  /** Leader when the run stopped (-1: none). */
  leader: number;
  isr: number[];
  replicas: number[];
  /** From the leader before the stop; -1 when it could not be had. */
  highWatermark: number;
  /** The log the verdict trusts: the leader's log below the high watermark. */
  log: Map<number, string>;
  replicaLogs: ReplicaLog[];
}

export interface FaultEvent {
  kind: FaultKind;
  target: string;
  startedAtMs: number;
}

/** A producer's sends in start order; ackedAtMs null for a send that failed. */
export interface SendTimeline {
  producer: number;
  startedAtMs: number[];
  ackedAtMs: Array<number | null>;
}

export interface VerifyInput {
  acks: Ack[];
  reads: PartitionReads[];
  partitions: FinalPartition[];
  faults: FaultEvent[];
  sends: SendTimeline[];
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface Verdict {
  ok: boolean;
  faultsByKind: Record<string, number>;
  faults: number;
  acknowledged: number;
  sendsFailed: number;
  lost: number;
  divergentReads: number;
  readConflicts: number;
  divergentReplicas: number;
  duplicated: number;
  recordsRead: number;
  recordsInFinalLogs: number;
  replicasOutsideIsr: number;
  unsettledPartitions: number;
  unreadableReplicas: number;
  /** Per fault: time until every producer had a send started after the fault acknowledged. */
  unavailability: LatencySummary;
  unavailabilityByKind: Record<string, LatencySummary>;
  /** Faults after which some producer never had a successful send again before the run stopped. */
  unrecoveredFaults: number;
  /** Up to EXAMPLES_MAX lines describing failures, for the report. */
  examples: string[];
}

/** Failures shown in full in the report; the counts cover the rest. */
export const EXAMPLES_MAX = 20;

const key = (topic: string, partition: number): string => `${topic}-${partition}`;

/** Nearest-rank percentile of ascending `sorted` (0 for an empty list). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.length === 0 ? 0 : sorted[sorted.length - 1]! };
}

/** First index of ascending `sorted` whose value is >= `at` (sorted.length when none). */
function lowerBound(sorted: readonly number[], at: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * For each fault: the time from its start until every producer has had a send that started
 * at or after it acknowledged (a send stuck across the fault does not count: it may have
 * been accepted before). Faults some producer never recovered from are counted apart.
 */
export function unavailabilityAfterFaults(faults: readonly FaultEvent[], sends: readonly SendTimeline[]): { durationsMs: number[]; byKind: Record<string, number[]>; unrecovered: number } {
  const durationsMs: number[] = [];
  const byKind: Record<string, number[]> = {};
  let unrecovered = 0;
  for (const fault of faults) {
    let worst = 0;
    let recovered = true;
    for (const timeline of sends) {
      let index = lowerBound(timeline.startedAtMs, fault.startedAtMs);
      while (index < timeline.ackedAtMs.length && timeline.ackedAtMs[index] === null) index++;
      if (index >= timeline.ackedAtMs.length) {
        recovered = false;
        break;
      }
      worst = Math.max(worst, timeline.ackedAtMs[index]! - fault.startedAtMs);
    }
    if (!recovered) {
      unrecovered++;
      continue;
    }
    durationsMs.push(worst);
    (byKind[fault.kind] ??= []).push(worst);
  }
  return { durationsMs, byKind, unrecovered };
}

interface Tally {
  examples: string[];
}

function note(tally: Tally, line: string): void {
  if (tally.examples.length < EXAMPLES_MAX) tally.examples.push(line);
}

function checkAcks(acks: readonly Ack[], finals: Map<string, FinalPartition>, tally: Tally): number {
  let lost = 0;
  for (const ack of acks) {
    const final = finals.get(key(ack.topic, ack.partition));
    const found = final?.log.get(ack.offset);
    if (found === ack.value) continue;
    lost++;
    const where = final === undefined ? 'no final state' : found === undefined ? `absent (high watermark ${final.highWatermark})` : `holds ${found}`;
    note(tally, `lost: ${key(ack.topic, ack.partition)}@${ack.offset} acknowledged ${ack.value}, final log ${where}`);
  }
  return lost;
}

function checkReads(reads: readonly PartitionReads[], finals: Map<string, FinalPartition>, tally: Tally): { divergent: number; conflicts: number; total: number } {
  let divergent = 0;
  let conflicts = 0;
  let total = 0;
  const firstRead = new Map<string, Map<number, string>>();
  for (const run of reads) {
    const name = key(run.topic, run.partition);
    const final = finals.get(name);
    let seen = firstRead.get(name);
    if (seen === undefined) firstRead.set(name, (seen = new Map()));
    for (let i = 0; i < run.offsets.length; i++) {
      const offset = run.offsets[i]!;
      const value = run.values[i]!;
      total++;
      const earlier = seen.get(offset);
      if (earlier === undefined) seen.set(offset, value);
      else if (earlier !== value) {
        conflicts++;
        note(tally, `read conflict: ${name}@${offset} read as ${earlier} and as ${value} (${run.consumer})`);
      }
      const inFinal = final?.log.get(offset);
      if (inFinal !== value) {
        divergent++;
        note(tally, `divergent read: ${run.consumer} read ${name}@${offset} = ${value}, final log ${inFinal === undefined ? 'has no such offset' : `holds ${inFinal}`}`);
      }
    }
  }
  return { divergent, conflicts, total };
}

/** Differences between a replica's log and the final log below the high watermark (0 when identical). */
function replicaDifferences(final: FinalPartition, replica: ReplicaLog): { count: number; first: string | null } {
  let count = 0;
  let first: string | null = null;
  const differ = (line: string): void => {
    count++;
    first ??= line;
  };
  for (const [offset, value] of final.log) {
    const there = replica.records.get(offset);
    if (there !== value) differ(`@${offset} final ${value}, replica ${there ?? 'absent'}`);
  }
  for (const [offset, value] of replica.records) {
    if (offset < final.highWatermark && !final.log.has(offset)) differ(`@${offset} replica ${value}, final log absent`);
  }
  return { count, first };
}

function checkReplicas(partitions: readonly FinalPartition[], tally: Tally): { divergent: number; outsideIsr: number; unreadable: number } {
  let divergent = 0;
  let outsideIsr = 0;
  let unreadable = 0;
  for (const final of partitions) {
    for (const replica of final.replicaLogs) {
      if (replica.problem !== null) {
        unreadable++;
        note(tally, `unreadable replica: ${key(final.topic, final.partition)} on broker ${replica.broker}: ${replica.problem}`);
      }
      if (!final.isr.includes(replica.broker)) {
        outsideIsr++;
        continue;
      }
      if (final.highWatermark < 0) continue;
      const { count, first } = replicaDifferences(final, replica);
      if (count === 0) continue;
      divergent++;
      note(tally, `divergent replica: ${key(final.topic, final.partition)} on broker ${replica.broker}: ${count} offsets below the high watermark ${final.highWatermark} differ, first ${first}`);
    }
  }
  return { divergent, outsideIsr, unreadable };
}

function countDuplicates(partitions: readonly FinalPartition[]): { duplicated: number; records: number } {
  let duplicated = 0;
  let records = 0;
  for (const final of partitions) {
    const seen = new Set<string>();
    for (const value of final.log.values()) {
      records++;
      if (seen.has(value)) duplicated++;
      else seen.add(value);
    }
  }
  return { duplicated, records };
}

export function verify(input: VerifyInput): Verdict {
  const tally: Tally = { examples: [] };
  const finals = new Map(input.partitions.map((p) => [key(p.topic, p.partition), p]));
  const lost = checkAcks(input.acks, finals, tally);
  const reads = checkReads(input.reads, finals, tally);
  const replicas = checkReplicas(input.partitions, tally);
  const { duplicated, records } = countDuplicates(input.partitions);
  const faultsByKind: Record<string, number> = {};
  for (const fault of input.faults) faultsByKind[fault.kind] = (faultsByKind[fault.kind] ?? 0) + 1;
  const { durationsMs, byKind, unrecovered } = unavailabilityAfterFaults(input.faults, input.sends);
  const sendsFailed = input.sends.reduce((sum, timeline) => sum + timeline.ackedAtMs.filter((at) => at === null).length, 0);
  return {
    ok: lost === 0 && reads.divergent === 0 && reads.conflicts === 0 && replicas.divergent === 0,
    faultsByKind,
    faults: input.faults.length,
    acknowledged: input.acks.length,
    sendsFailed,
    lost,
    divergentReads: reads.divergent,
    readConflicts: reads.conflicts,
    divergentReplicas: replicas.divergent,
    duplicated,
    recordsRead: reads.total,
    recordsInFinalLogs: records,
    replicasOutsideIsr: replicas.outsideIsr,
    unsettledPartitions: input.partitions.filter((p) => p.leader < 0 || p.highWatermark < 0).length,
    unreadableReplicas: replicas.unreadable,
    unavailability: summarize(durationsMs),
    unavailabilityByKind: Object.fromEntries(Object.entries(byKind).map(([kind, values]) => [kind, summarize(values)])),
    unrecoveredFaults: unrecovered,
    examples: tally.examples,
  };
}
