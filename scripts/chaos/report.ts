/**
 * The chaos run's report as text: the verdict's counts, the run's own findings (heal
 * timeouts, crashes, forced stops), failure examples, and the seed with the command that
 * reruns it. Pure.
 */
import type { Verdict } from './verify';

export interface RunFacts {
  seed: number;
  rerun: string;
  seconds: number;
  brokers: number;
  /** ISR size the cluster reached at the start (what heals wait for, up to min.insync.replicas). */
  isrAtStart: number;
  minInsyncReplicas: number;
  settled: boolean;
  settleProblem: string | null;
  consumerOutOfRange: number;
  /** Median time from a fault's start until the cluster was whole again, ms. */
  recoveryP50Ms: number;
  recoveryMaxMs: number;
  findings: string[];
  root: string;
}

export function formatReport(verdict: Verdict, facts: RunFacts): string {
  const kinds = Object.entries(verdict.faultsByKind).sort(([a], [b]) => (a < b ? -1 : 1)).map(([kind, n]) => `${kind} ${n}`).join(', ');
  const u = verdict.unavailability;
  const lines = [
    `chaos: seed ${facts.seed}, ${facts.seconds} s, ${facts.brokers} brokers`,
    `faults injected:      ${verdict.faults}${kinds === '' ? '' : ` (${kinds})`}`,
    `records acknowledged: ${verdict.acknowledged} (sends failed after retries: ${verdict.sendsFailed})`,
    `lost:                 ${verdict.lost}`,
    `divergent:            ${verdict.divergentReads + verdict.readConflicts + verdict.divergentReplicas} (reads against the final log ${verdict.divergentReads}, conflicting reads ${verdict.readConflicts}, replicas ${verdict.divergentReplicas})`,
    `duplicated:           ${verdict.duplicated} (a value at two offsets: retries without idempotence)`,
    `records read:         ${verdict.recordsRead} by consumers; ${verdict.recordsInFinalLogs} in the final logs`,
    `unavailability:       p50 ${u.p50Ms.toFixed(0)} ms, p99 ${u.p99Ms.toFixed(0)} ms, max ${u.maxMs.toFixed(0)} ms over ${u.count} faults (until every producer had an acks=all send acknowledged again; ${verdict.unrecoveredFaults} never recovered before the end)`,
    ...Object.entries(verdict.unavailabilityByKind)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([kind, k]) => `  after ${kind}:`.padEnd(26) + `p50 ${k.p50Ms.toFixed(0)} ms, p99 ${k.p99Ms.toFixed(0)} ms, max ${k.maxMs.toFixed(0)} ms over ${k.count}`),
    `recovery:             p50 ${facts.recoveryP50Ms} ms, max ${facts.recoveryMaxMs} ms (until every broker registered, every partition led, ISRs back)`,
    `cluster:              ISR at the start ${facts.isrAtStart} (min.insync.replicas ${facts.minInsyncReplicas}); settled at the end: ${facts.settled ? 'yes' : `no (${facts.settleProblem})`}; replicas outside the ISR at the end ${verdict.replicasOutsideIsr}; unsettled partitions ${verdict.unsettledPartitions}; unreadable replicas ${verdict.unreadableReplicas}; consumer OFFSET_OUT_OF_RANGE ${facts.consumerOutOfRange}`,
  ];
  if (facts.isrAtStart < facts.minInsyncReplicas) lines.push(`warning:              the ISR never reached min.insync.replicas: every acks=all send gets NOT_ENOUGH_REPLICAS (no replication?)`);
  for (const finding of facts.findings) lines.push(`finding:              ${finding}`);
  for (const example of verdict.examples) lines.push(`  ${example}`);
  lines.push(`files:                ${facts.root}`);
  lines.push(`result:               ${verdict.ok ? 'PASS' : 'FAIL'} (seed ${facts.seed}; rerun: ${facts.rerun})`);
  return `${lines.join('\n')}\n`;
}
