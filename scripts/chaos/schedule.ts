/**
 * The chaos run's fault schedule: a deterministic sequence drawn from one seed. Each fault
 * is a kind, the role of its target (the controller, a partition leader, any broker), a
 * draw that picks among the brokers in that role when the fault starts, how long it lasts
 * and the pause before it. The same seed gives the same sequence; which broker a role names
 * depends on the cluster at that moment, so a rerun replays the same plan, not necessarily
 * the same victims.
 */
import { unsafeUniformIntDistribution, xoroshiro128plus, RandomGenerator } from 'pure-rand';

export const FAULT_KINDS = ['broker-kill', 'broker-pause', 'coordinator-kill', 'broker-cut'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const TARGET_ROLES = ['controller', 'leader', 'any'] as const;
export type TargetRole = (typeof TARGET_ROLES)[number];

export interface Range {
  minMs: number;
  maxMs: number;
}

export interface ScheduleSettings {
  /** Relative weights of the kinds; a weight of 0 leaves a kind out. */
  kindWeights: Record<FaultKind, number>;
  /** Relative weights of the target roles of broker faults. */
  roleWeights: Record<TargetRole, number>;
  /** How long each kind of fault lasts (a killed process stays down, a paused one stopped, a cut one cut). */
  holdMs: Record<FaultKind, Range>;
  /** The pause between one fault's end and the next one's start. */
  gapMs: Range;
}

/**
 * Defaults: most faults shorter than the brokers' 3 s session timeout (the cluster should ride
 * them out), some pauses and cuts longer (the session expires and the broker is fenced).
 */
export const DEFAULT_SCHEDULE: ScheduleSettings = Object.freeze({
  kindWeights: { 'broker-kill': 40, 'broker-pause': 25, 'coordinator-kill': 10, 'broker-cut': 25 },
  roleWeights: { controller: 35, leader: 45, any: 20 },
  holdMs: {
    'broker-kill': { minMs: 200, maxMs: 2500 },
    'broker-pause': { minMs: 300, maxMs: 4500 },
    'coordinator-kill': { minMs: 200, maxMs: 2500 },
    'broker-cut': { minMs: 300, maxMs: 4500 },
  },
  gapMs: { minMs: 100, maxMs: 1000 },
});

export interface FaultPlan {
  index: number;
  kind: FaultKind;
  /** Unused for coordinator faults. */
  role: TargetRole;
  /** Picks among the brokers in `role` when the fault starts (see chooseTarget). */
  pick: number;
  holdMs: number;
  gapMs: number;
}

const PICK_MAX = 2 ** 31 - 1;

function weighted<T extends string>(rng: RandomGenerator, weights: Record<T, number>, order: readonly T[]): T {
  const total = order.reduce((sum, name) => sum + weights[name], 0);
  if (total <= 0) throw new Error(`no weight in ${JSON.stringify(weights)}`);
  let draw = unsafeUniformIntDistribution(0, total - 1, rng);
  for (const name of order) {
    if (draw < weights[name]) return name;
    draw -= weights[name];
  }
  throw new Error('unreachable: the draw is below the total');
}

export class FaultSchedule {
  private readonly rng: RandomGenerator;
  private count = 0;

  constructor(
    seed: number,
    private readonly settings: ScheduleSettings = DEFAULT_SCHEDULE,
  ) {
    this.rng = xoroshiro128plus(seed);
  }

  /** The next fault. Every call draws the same number of values so plans stay aligned across kinds. */
  next(): FaultPlan {
    const kind = weighted(this.rng, this.settings.kindWeights, FAULT_KINDS);
    const role = weighted(this.rng, this.settings.roleWeights, TARGET_ROLES);
    const pick = unsafeUniformIntDistribution(0, PICK_MAX, this.rng);
    const hold = this.settings.holdMs[kind];
    const holdMs = unsafeUniformIntDistribution(hold.minMs, hold.maxMs, this.rng);
    const gapMs = unsafeUniformIntDistribution(this.settings.gapMs.minMs, this.settings.gapMs.maxMs, this.rng);
    return { index: this.count++, kind, role, pick, holdMs, gapMs };
  }
}

/** What the cluster looks like when a fault starts. */
export interface TargetCandidates {
  /** Live brokers (ids), ascending. */
  brokers: readonly number[];
  /** The controller, or -1. */
  controller: number;
  /** Each partition's leader (-1 for none), in topic/partition order. */
  leaders: readonly number[];
}

/**
 * The broker a plan hits: the controller; the leader of the partition `pick` lands on (so
 * brokers leading more partitions are hit more often); or any live broker. A role with no
 * live candidate falls back to any live broker; null when there is none.
 */
export function chooseTarget(plan: Pick<FaultPlan, 'role' | 'pick'>, candidates: TargetCandidates): number | null {
  const live = new Set(candidates.brokers);
  if (plan.role === 'controller' && live.has(candidates.controller)) return candidates.controller;
  if (plan.role === 'leader') {
    const leaders = candidates.leaders.filter((id) => live.has(id));
    if (leaders.length > 0) return leaders[plan.pick % leaders.length]!;
  }
  if (candidates.brokers.length === 0) return null;
  return candidates.brokers[plan.pick % candidates.brokers.length]!;
}
