/**
 * The controller's decisions, pure: given the cluster picture and the controller epoch, which
 * partition state znodes to create and which to rewrite. The Controller does the writes.
 *
 *   - A partition without a state gets leader = first live replica, leaderEpoch 0. Its ISR is
 *     the leader alone: followers do not copy the leader's log until replication lands, so only
 *     the leader is in sync. (When replication comes, the leader expands the ISR as followers
 *     catch up, as Kafka does.) With no live replica: leader -1, ISR = the first replica.
 *   - A partition whose leader is not live gets the first live ISR member as leader with
 *     leaderEpoch + 1; with none alive, leader -1 (offline) and the ISR kept, so its last
 *     member can come back as leader (no unclean election: nothing acknowledged is lost).
 *   - Topics marked for deletion are left alone (the controller deletes them).
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
export function electedState(state: PartitionState, live: ReadonlySet<number>, controllerEpoch: number): PartitionState | null {
  if (state.leader >= 0 && live.has(state.leader)) return null;
  const candidates = state.isr.filter((id) => live.has(id));
  const leader = candidates[0] ?? -1;
  if (leader === -1 && state.leader === -1) return null; // offline already; nothing alive to elect
  return { leader, leaderEpoch: state.leaderEpoch + 1, isr: candidates.length > 0 ? candidates : state.isr, controllerEpoch };
}

/** Every state write the picture calls for, in topic/partition order. */
export function planStateChanges(view: Pick<ClusterSnapshot, 'brokers' | 'assignments' | 'states' | 'pendingDeletions'>, controllerEpoch: number): StateAction[] {
  const live = new Set(view.brokers.map((broker) => broker.id));
  const actions: StateAction[] = [];
  for (const [topic, assignment] of view.assignments) {
    if (view.pendingDeletions.has(topic)) continue;
    assignment.partitions.forEach((replicas, partition) => {
      const current = view.states.get(`${topic}/${partition}`);
      if (current === undefined) {
        if (replicas.length > 0) actions.push({ kind: 'create', topic, partition, state: initialState(replicas, live, controllerEpoch) });
        return;
      }
      const next = electedState(current.state, live, controllerEpoch);
      if (next !== null) actions.push({ kind: 'update', topic, partition, state: next, version: current.version, previousLeader: current.state.leader });
    });
  }
  return actions;
}
