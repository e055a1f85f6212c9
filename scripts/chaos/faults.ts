/**
 * Injects the seeded fault schedule into the chaos cluster, one fault at a time: wait the
 * planned gap, pick the target from the cluster as it is (controller, a partition leader,
 * any broker), inject, hold for the planned time, heal (restart, SIGCONT, reconnect), then
 * wait until the cluster is whole again — every broker registered, every partition led, ISRs
 * back to the size they had at the start (up to min.insync.replicas) — before the next one,
 * so at most one broker-level fault is outstanding and RF 3 / min ISR 2 can stay available.
 * A cluster that does not heal within HEAL_TIMEOUT_MS is a finding (counted), and the run
 * goes on.
 */
import type { Logger } from '../../shared/logging';
import type { ChaosCluster } from './cluster';
import { ChaosClient, Metadata, partitionsOf } from './kafka';
import type { Stopper } from './producer';
import { chooseTarget, FaultPlan, FaultSchedule } from './schedule';
import type { FaultEvent } from './verify';

/** How long a healed fault may take to leave the cluster whole. */
export const HEAL_TIMEOUT_MS = 30_000;
const HEALTH_POLL_MS = 100;
/** Attempts to restart a process that would not start. */
const RESTART_ATTEMPTS = 3;

export interface InjectedFault extends FaultEvent {
  index: number;
  holdMs: number;
  /** From the fault's start until the cluster was whole again (null: it did not heal in time). */
  recoveredAfterMs: number | null;
}

/** Why the cluster is not whole (null when it is): brokers missing, partitions without a leader or with a short ISR. */
export function healthProblem(metadata: Metadata, brokers: number, isrTarget: number): string | null {
  if (metadata.brokers.length < brokers) return `${metadata.brokers.length} of ${brokers} brokers registered`;
  const partitions = partitionsOf(metadata);
  const leaderless = partitions.filter((p) => p.partition.leaderId < 0).length;
  if (leaderless > 0) return `${leaderless} partitions without a leader`;
  const short = partitions.filter((p) => p.partition.isrNodes.length < isrTarget).length;
  if (short > 0) return `${short} partitions with fewer than ${isrTarget} in the ISR`;
  return null;
}

export class FaultInjector {
  readonly faults: InjectedFault[] = [];
  readonly findings: string[] = [];
  healTimeouts = 0;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly client: ChaosClient,
    private readonly schedule: FaultSchedule,
    private readonly topics: string[],
    /** ISR size a heal waits for (what the idle cluster reached, up to min.insync.replicas). */
    public isrTarget: number,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Injects faults until `stop` is set; the fault in progress is healed before it returns. */
  async run(stop: Stopper): Promise<void> {
    while (!stop.stopped) {
      const plan = this.schedule.next();
      await sleep(plan.gapMs);
      if (stop.stopped) break;
      await this.inject(plan);
    }
  }

  /** Polls Metadata until the cluster is whole or `timeoutMs` passes; the last problem, or null. */
  async waitWhole(timeoutMs: number, isrTarget = this.isrTarget): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    let problem: string | null = 'no answer yet';
    for (;;) {
      await this.restartMissing();
      try {
        problem = healthProblem(await this.client.metadata(this.topics), this.cluster.brokers.size, isrTarget);
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      }
      if (problem === null || Date.now() > deadline) return problem;
      await sleep(HEALTH_POLL_MS);
    }
  }

  private async inject(plan: FaultPlan): Promise<void> {
    let target = 'coordinator';
    let broker: number | null = null;
    if (plan.kind !== 'coordinator-kill') {
      const metadata = await this.client.metadata(this.topics).catch(() => null);
      if (metadata === null) return;
      broker = chooseTarget(plan, { brokers: metadata.brokers.map((b) => b.nodeId).sort((a, b) => a - b), controller: metadata.controllerId, leaders: partitionsOf(metadata).map((p) => p.partition.leaderId) });
      if (broker === null) return;
      target = `broker ${broker}${broker === metadata.controllerId ? ' (controller)' : ''}`;
    }
    const startedAtMs = this.now();
    this.logger.debug({ fault: plan.index, kind: plan.kind, role: plan.role, target, holdMs: plan.holdMs }, 'chaos.fault');
    switch (plan.kind) {
      case 'broker-kill':
        await this.cluster.killBroker(broker!);
        await sleep(plan.holdMs);
        await this.restart(`broker-${broker}`, () => this.cluster.startBroker(broker!));
        break;
      case 'broker-pause':
        this.cluster.pauseBroker(broker!);
        await sleep(plan.holdMs);
        this.cluster.resumeBroker(broker!);
        break;
      case 'coordinator-kill':
        await this.cluster.killCoordinator();
        await sleep(plan.holdMs);
        await this.restart('coordinator', () => this.cluster.startCoordinator());
        break;
      case 'broker-cut':
        this.cluster.brokers.get(broker!)!.proxy.cutOff();
        await sleep(plan.holdMs);
        this.cluster.brokers.get(broker!)!.proxy.heal();
        break;
    }
    const fault: InjectedFault = { index: plan.index, kind: plan.kind, target, startedAtMs, holdMs: plan.holdMs, recoveredAfterMs: null };
    this.faults.push(fault);
    const problem = await this.waitWhole(HEAL_TIMEOUT_MS);
    if (problem === null) fault.recoveredAfterMs = Math.round(this.now() - startedAtMs);
    else {
      this.healTimeouts++;
      this.findings.push(`fault ${plan.index} (${plan.kind} of ${target}): the cluster was not whole ${HEAL_TIMEOUT_MS} ms after healing: ${problem}`);
      this.logger.warn({ fault: plan.index, kind: plan.kind, target, problem }, 'chaos.heal_timeout');
    }
    this.logger.debug({ fault: plan.index, kind: plan.kind, target, recoveredAfterMs: fault.recoveredAfterMs }, 'chaos.healed');
  }

  /** Restarts processes that are gone without a fault holding them down (a crash, a failed restart). */
  private async restartMissing(): Promise<void> {
    if (this.cluster.coordinatorDown()) await this.restart('coordinator', () => this.cluster.startCoordinator());
    for (const id of this.cluster.downBrokers()) await this.restart(`broker-${id}`, () => this.cluster.startBroker(id));
  }

  private async restart(name: string, start: () => Promise<void>): Promise<void> {
    for (let attempt = 1; attempt <= RESTART_ATTEMPTS; attempt++) {
      try {
        await start();
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message.slice(0, 500) : String(error);
        this.findings.push(`${name} failed to start (attempt ${attempt}): ${message}`);
        this.logger.error({ process: name, attempt, err: message }, 'chaos.restart_failed');
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
