/**
 * The controller's decisions, pure: given the cluster picture (which includes the live brokers)
 * and the controller epoch, which partition state znodes to create or rewrite and which topic
 * deletions to complete. The Controller does the writes, each behind a check on
 * /controller_epoch.
 *
 *   - A partition without a state gets leader = first live replica, leaderEpoch 0. Its ISR is
 *     the leader alone: followers do not copy the leader's log until replication lands, so only
 *     the leader is in sync. (When replication comes, the leader expands the ISR as followers
 *     catch up, as Kafka does.) With no live replica: leader -1, ISR = the first replica.
 *   - A partition whose leader is not live gets, as Kafka's OfflinePartitionLeaderElection, the
 *     first replica in assignment order that is live and in the ISR, with leaderEpoch + 1 and
 *     the ISR cut to its live members; with none, leader -1 (offline) and the ISR kept, so its
 *     last member can come back as leader (no unclean election: nothing acknowledged is lost).
 *     ISR entries that are not replicas of the partition are never elected.
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
  | { kind: 'update'; topic: string; partition: number; state: PartitionState; version: number; previousLeader: number };

export function initialState(replicas: readonly number[], live: ReadonlySet<number>, controllerEpoch: number): PartitionState {
  const leader = replicas.find((id) => live.has(id)) ?? -1;
  return { leader, leaderEpoch: 0, isr: leader >= 0 ? [leader] : replicas.slice(0, 1), controllerEpoch };
}

/** The state after the leader died, or null when nothing changes. */
export function electedState(state: PartitionState, replicas: readonly number[], live: ReadonlySet<number>, controllerEpoch: number): PartitionState | null {
  if (state.leader >= 0 && live.has(state.leader)) return null;
  const inIsr = new Set(state.isr);
  const leader = replicas.find((id) => inIsr.has(id) && live.has(id)) ?? -1;
  if (leader === -1 && state.leader === -1) return null; // offline already; nothing alive to elect
  const liveIsr = state.isr.filter((id) => live.has(id) && replicas.includes(id));
  return { leader, leaderEpoch: state.leaderEpoch + 1, isr: leader === -1 ? state.isr : liveIsr, controllerEpoch };
}

type DecisionView = Pick<ClusterSnapshot, 'brokers' | 'assignments' | 'states' | 'pendingDeletions'>;

/** Every state write the picture calls for, in topic/partition order. */
export function planStateChanges(view: DecisionView, controllerEpoch: number): StateAction[] {
  const live = new Set(view.brokers.map((broker) => broker.id));
  const actions: StateAction[] = [];
  const topics = [...view.assignments.keys()].sort();
  for (const topic of topics) {
    if (view.pendingDeletions.has(topic)) continue;
    view.assignments.get(topic)!.partitions.forEach((replicas, partition) => {
      if (replicas.length === 0) return; // not a partition anyone can hold; the cache logs such assignments
      const current = view.states.get(`${topic}/${partition}`);
      if (current === undefined) {
        actions.push({ kind: 'create', topic, partition, state: initialState(replicas, live, controllerEpoch) });
        return;
      }
      if (current.state.controllerEpoch > controllerEpoch) return;
      const next = electedState(current.state, replicas, live, controllerEpoch);
      if (next !== null) actions.push({ kind: 'update', topic, partition, state: next, version: current.version, previousLeader: current.state.leader });
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
