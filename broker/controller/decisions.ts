/**
 * The controller's decisions, pure: given the cluster picture (which includes the live brokers)
 * and the controller epoch, which partition state znodes to create or rewrite and which topic
 * deletions to complete. The Controller does the writes, each behind a check on
 * /controller_epoch.
 *
 *   - A partition without a state gets leader = first live replica, leaderEpoch 0, and as ISR
 *     every live replica (all of them are empty, so all are in sync, as in Kafka). With no live
 *     replica: leader -1, ISR = the first replica.
 *   - A partition whose leader is not live (or is in a controlled shutdown) gets, as Kafka's
 *     OfflinePartitionLeaderElection, the first replica in assignment order that is live, not
 *     shutting down and in the ISR, with leaderEpoch + 1 and the ISR cut to such members. With
 *     none: a leader in a controlled shutdown keeps its leadership (nobody else has its data);
 *     a dead leader's partition goes offline (leader -1, ISR kept, so its last member can come
 *     back as leader) unless the topic has unclean.leader.election.enable=true, in which case
 *     the first live replica leads with ISR = [it] and whatever it lacks is lost (logged loudly
 *     by the controller). ISR entries that are not replicas of the partition are never elected.
 *   - A partition whose leader is live keeps it; dead or shutting-down followers leave its ISR
 *     (same leader epoch: the leader's view of its followers stays valid), so acks=all does not
 *     wait on a broker that is gone.
 *   - Preferred leaders (auto.leader.rebalance.enable, or an on-demand election): a partition
 *     whose first replica is live, in the ISR, not shutting down and not the leader gets it as
 *     leader, leaderEpoch + 1, ISR unchanged.
 *   - A state written by a newer controller than this one is left alone (this controller is
 *     deposed and will learn it from the failed epoch check).
 *   - Topics marked for deletion get no state writes. A deletion completes once every broker
 *     in the topic's assignment has acknowledged it (broker/cluster/deletion.ts); a dead
 *     replica keeps the topic marked until it returns, as in Kafka's TopicDeletionManager.
 *
 * Readers of partition states (the brokers' replica managers): every state carries the
 * controllerEpoch of the controller that wrote it. A reader must ignore a state whose
 * controllerEpoch is older than the controllerEpoch of a state it has already applied to the
 * same partition (and, for the same controllerEpoch, one with an older leaderEpoch): such a
 * state can only come from a deposed controller or from a read that raced a newer write. The
 * fenced writes make the first impossible in the tree; the check keeps the rule true for
 * whatever path a state reaches a broker by.
 */
import type { ClusterSnapshot, PartitionState } from '../cluster/metadata-cache';

export type StateAction =
  | { kind: 'create'; topic: string; partition: number; state: PartitionState }
  | { kind: 'update'; topic: string; partition: number; state: PartitionState; version: number; previousLeader: number; reason: 'election' | 'unclean' | 'isr' | 'preferred' };

export function initialState(replicas: readonly number[], live: ReadonlySet<number>, controllerEpoch: number, shuttingDown: ReadonlySet<number> = new Set()): PartitionState {
  const leader = replicas.find((id) => live.has(id) && !shuttingDown.has(id)) ?? replicas.find((id) => live.has(id)) ?? -1;
  const isr = replicas.filter((id) => live.has(id));
  return { leader, leaderEpoch: 0, isr: leader >= 0 ? isr : replicas.slice(0, 1), controllerEpoch };
}

export interface ElectionContext {
  live: ReadonlySet<number>;
  shuttingDown: ReadonlySet<number>;
  /** unclean.leader.election.enable of the partition's topic. */
  unclean: boolean;
  controllerEpoch: number;
}

export interface Elected {
  state: PartitionState;
  /** The new leader came from outside the ISR: records it lacks are lost. */
  unclean: boolean;
}

/** The state after the leader died or is shutting down, or its ISR lost dead members; null when nothing changes. */
export function electedState(state: PartitionState, replicas: readonly number[], context: ElectionContext): Elected | null {
  const { live, shuttingDown, controllerEpoch } = context;
  const eligible = (id: number): boolean => live.has(id) && !shuttingDown.has(id) && replicas.includes(id);
  if (state.leader >= 0 && eligible(state.leader)) {
    const isr = state.isr.filter((id) => id === state.leader || eligible(id));
    if (isr.length === state.isr.length) return null;
    return { state: { leader: state.leader, leaderEpoch: state.leaderEpoch, isr, controllerEpoch }, unclean: false };
  }
  const inIsr = new Set(state.isr);
  const leader = replicas.find((id) => inIsr.has(id) && eligible(id));
  if (leader !== undefined) {
    return { state: { leader, leaderEpoch: state.leaderEpoch + 1, isr: state.isr.filter(eligible), controllerEpoch }, unclean: false };
  }
  // Nobody else in sync. A live leader in a controlled shutdown keeps leading (its followers
  // are not in sync), but dead followers still leave its ISR.
  if (state.leader >= 0 && live.has(state.leader)) {
    const isr = state.isr.filter((id) => id === state.leader || eligible(id));
    return isr.length === state.isr.length ? null : { state: { leader: state.leader, leaderEpoch: state.leaderEpoch, isr, controllerEpoch }, unclean: false };
  }
  if (context.unclean) {
    const anyLive = replicas.find(eligible);
    if (anyLive !== undefined) return { state: { leader: anyLive, leaderEpoch: state.leaderEpoch + 1, isr: [anyLive], controllerEpoch }, unclean: true };
  }
  if (state.leader === -1) return null; // offline already; nothing alive to elect
  return { state: { leader: -1, leaderEpoch: state.leaderEpoch + 1, isr: state.isr, controllerEpoch }, unclean: false };
}

/** The state with the first replica leading again, or null when it already leads or cannot. */
export function preferredState(state: PartitionState, replicas: readonly number[], context: Omit<ElectionContext, 'unclean'>): PartitionState | null {
  const preferred = replicas[0];
  if (preferred === undefined || state.leader === preferred) return null;
  if (!context.live.has(preferred) || context.shuttingDown.has(preferred) || !state.isr.includes(preferred)) return null;
  return { leader: preferred, leaderEpoch: state.leaderEpoch + 1, isr: state.isr, controllerEpoch: context.controllerEpoch };
}

type DecisionView = Pick<ClusterSnapshot, 'brokers' | 'assignments' | 'states' | 'pendingDeletions' | 'shuttingDown'>;

export interface PlanOptions {
  /** unclean.leader.election.enable per topic. */
  unclean(topic: string): boolean;
  /** Also move leaderships back to preferred replicas: all partitions (true) or the listed ones. */
  preferred?: true | ReadonlyArray<{ topic: string; partition: number }>;
}

/** Every state write the picture calls for, in topic/partition order. */
export function planStateChanges(view: DecisionView, controllerEpoch: number, options: PlanOptions = { unclean: () => false }): StateAction[] {
  const live = new Set(view.brokers.map((broker) => broker.id));
  const shuttingDown = view.shuttingDown;
  const preferredWanted = options.preferred === true ? null : new Set((options.preferred ?? []).map(({ topic, partition }) => `${topic}/${partition}`));
  const actions: StateAction[] = [];
  const topics = [...view.assignments.keys()].sort();
  for (const topic of topics) {
    if (view.pendingDeletions.has(topic)) continue;
    const unclean = options.unclean(topic); // a topic's config, worked out once for all its partitions
    view.assignments.get(topic)!.partitions.forEach((replicas, partition) => {
      if (replicas.length === 0) return; // not a partition anyone can hold; the cache logs such assignments
      const current = view.states.get(`${topic}/${partition}`);
      if (current === undefined) {
        actions.push({ kind: 'create', topic, partition, state: initialState(replicas, live, controllerEpoch, shuttingDown) });
        return;
      }
      if (current.state.controllerEpoch > controllerEpoch) return;
      const elected = electedState(current.state, replicas, { live, shuttingDown, unclean, controllerEpoch });
      if (elected !== null) {
        actions.push({ kind: 'update', topic, partition, state: elected.state, version: current.version, previousLeader: current.state.leader, reason: elected.unclean ? 'unclean' : elected.state.leader === current.state.leader ? 'isr' : 'election' });
        return;
      }
      const wantsPreferred = options.preferred !== undefined && (preferredWanted === null || preferredWanted.has(`${topic}/${partition}`));
      const preferred = wantsPreferred ? preferredState(current.state, replicas, { live, shuttingDown, controllerEpoch }) : null;
      if (preferred !== null) actions.push({ kind: 'update', topic, partition, state: preferred, version: current.version, previousLeader: current.state.leader, reason: 'preferred' });
    });
  }
  return actions;
}

export interface DeletionPlan {
  /** Every replica broker has acknowledged (or the topic has no assignment left): remove the topic's znodes. */
  complete: string[];
  /** Still waiting, with the brokers that have not acknowledged yet. */
  waiting: Array<{ topic: string; missing: number[] }>;
}

export function planDeletions(view: Pick<ClusterSnapshot, 'assignments' | 'pendingDeletions' | 'deletionAcks'>): DeletionPlan {
  const plan: DeletionPlan = { complete: [], waiting: [] };
  for (const topic of [...view.pendingDeletions].sort()) {
    const replicas = new Set((view.assignments.get(topic)?.partitions ?? []).flat());
    const acks = view.deletionAcks.get(topic) ?? new Set<number>();
    const missing = [...replicas].filter((id) => !acks.has(id)).sort((a, b) => a - b);
    if (missing.length === 0) plan.complete.push(topic);
    else plan.waiting.push({ topic, missing });
  }
  return plan;
}
