/**
 * The controller: one broker at a time, elected with the coordinator's leader-election recipe.
 * On election it holds the fencing epoch (/controller_epoch) and the ephemeral /controller
 * znode; then, on every change of the cluster picture, it
 *   - writes a state znode for each partition that has none (leader = first live replica;
 *     ISR = the leader alone until followers replicate, which comes with replication),
 *   - moves leadership off dead brokers: the first live ISR member becomes leader with
 *     leaderEpoch + 1 (leader -1 when none is alive; the partition is offline),
 *   - carries out topic deletions marked under /admin/delete_topics.
 * Every state write carries the controller epoch and is conditional on the znode version, so
 * a deposed controller's late write fails instead of overwriting its successor's.
 */
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { LeaderElection } from '../../shared/coordinator/recipes/election';
import { hasCode } from '../../shared/coordinator/protocol';
import type { Logger } from '../../shared/logging';
import { ClusterSnapshot, MetadataCache, PartitionState, PATHS, statePath, topicPath } from '../cluster/metadata-cache';

export class Controller {
  private election: LeaderElection | null = null;
  private epoch = 0;
  private active = false;
  private working: Promise<void> | null = null;
  private again = false;
  private readonly onChange = (): void => void this.reconcile();

  constructor(
    private readonly brokerId: number,
    private readonly cache: MetadataCache,
    private readonly logger: Logger,
  ) {}

  get isActive(): boolean {
    return this.active;
  }

  /** Joins the election with this client (a new one after each session expiry). */
  async start(client: CoordinatorClient): Promise<void> {
    this.stopLeading();
    const election = new LeaderElection(client, { path: '/controller_election', id: String(this.brokerId), epochPath: PATHS.controllerEpoch });
    this.election = election;
    election.on('elected', ({ epoch }: { epoch: number }) => void this.becomeController(client, epoch));
    election.on('lost', ({ reason }: { reason: string }) => {
      this.logger.warn({ reason }, 'controller.resigned');
      this.stopLeading();
    });
    election.on('error', (error: unknown) => this.logger.error({ err: error }, 'controller.election_error'));
    await election.start();
  }

  async stop(): Promise<void> {
    this.stopLeading();
    await this.election?.stop();
  }

  private stopLeading(): void {
    this.active = false;
    this.cache.off('change', this.onChange);
  }

  private async becomeController(client: CoordinatorClient, epoch: number): Promise<void> {
    this.epoch = epoch;
    const data = JSON.stringify({ brokerId: this.brokerId, epoch });
    try {
      await client.create(PATHS.controller, data, { mode: 'ephemeral' });
    } catch (error) {
      if (!hasCode(error, 'NodeExists')) throw error;
      // The previous controller's session has not expired yet: its node goes with it. Replace it.
      await client.delete(PATHS.controller).catch(() => undefined);
      await client.create(PATHS.controller, data, { mode: 'ephemeral' }).catch(() => undefined);
    }
    this.active = true;
    this.logger.info({ epoch }, 'controller.elected');
    this.cache.on('change', this.onChange);
    this.client = client;
    await this.cache.refresh();
    await this.reconcile();
  }

  private client: CoordinatorClient | null = null;

  private reconcile(): Promise<void> {
    if (this.working !== null) {
      this.again = true;
      return this.working;
    }
    this.working = (async () => {
      do {
        this.again = false;
        if (!this.active || this.client === null) return;
        try {
          await this.reconcileOnce(this.client, this.cache.view);
        } catch (error) {
          this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'controller.reconcile_failed');
        }
      } while (this.again && this.active);
    })().finally(() => {
      this.working = null;
    });
    return this.working;
  }

  private async reconcileOnce(client: CoordinatorClient, view: ClusterSnapshot): Promise<void> {
    const live = new Set(view.brokers.map((b) => b.id));
    for (const topic of view.pendingDeletions) await this.deleteTopic(client, topic);
    for (const [topic, assignment] of view.assignments) {
      if (view.pendingDeletions.has(topic)) continue;
      for (let p = 0; p < assignment.partitions.length; p++) {
        const replicas = assignment.partitions[p]!;
        const current = view.states.get(`${topic}/${p}`);
        if (current === undefined) {
          // Followers do not copy the leader's log yet (replication is the next step), so only
          // the leader is in sync: when it dies the partition waits for it (no unclean election)
          // rather than handing leadership to a replica that lacks acknowledged batches.
          const leader = replicas.find((id) => live.has(id)) ?? -1;
          const state: PartitionState = { leader, leaderEpoch: 0, isr: leader >= 0 ? [leader] : [replicas[0]!], controllerEpoch: this.epoch };
          try {
            await client.create(statePath(topic, p), JSON.stringify(state), { createParents: true });
            this.logger.info({ topic, partition: p, leader: state.leader, isr: state.isr }, 'partition.state_created');
          } catch (error) {
            if (!hasCode(error, 'NodeExists')) throw error;
          }
          continue;
        }
        const { state, version } = current;
        if (state.leader >= 0 && live.has(state.leader)) continue;
        const candidates = state.isr.filter((id) => live.has(id));
        const leader = candidates[0] ?? -1;
        if (leader === -1 && state.leader === -1) continue; // offline, nothing alive to elect
        const next: PartitionState = {
          leader,
          leaderEpoch: state.leaderEpoch + 1,
          // Kafka keeps the last ISR member when nobody is alive, so it can come back as leader.
          isr: candidates.length > 0 ? candidates : state.isr,
          controllerEpoch: this.epoch,
        };
        try {
          await client.setData(statePath(topic, p), JSON.stringify(next), version);
          this.logger.info({ topic, partition: p, leader, leaderEpoch: next.leaderEpoch, previousLeader: state.leader }, 'partition.leader_elected');
        } catch (error) {
          if (!hasCode(error, 'BadVersion')) throw error;
        }
      }
    }
  }

  private async deleteTopic(client: CoordinatorClient, topic: string): Promise<void> {
    await client.deleteRecursive(topicPath(topic));
    await client.delete(`${PATHS.configTopics}/${topic}`).catch(() => undefined);
    await client.delete(`${PATHS.deleteTopics}/${topic}`).catch(() => undefined);
    this.logger.info({ topic }, 'topic.deleted');
  }
}
