/**
 * The controller: one broker at a time, elected with the coordinator's leader-election recipe
 * (candidates under /controller_election). The winner increments /controller_epoch (the
 * recipe's fencing counter) and writes the ephemeral /controller {brokerId, epoch}; then, on
 * every change of the cluster picture, it writes what broker/controller/decisions.ts decides
 * (new partition states, leaders moved off dead brokers, topic deletions every replica broker
 * has acknowledged).
 *
 * The /controller node of another session (the previous controller, whose session has not
 * expired yet) is never deleted: the new controller waits, with a watch, for it to go with its
 * session, as Kafka does. A controller that resigns on a live session deletes its own node.
 *
 * Fencing: every state write is a multi that first checks /controller_epoch is still at the
 * version this controller saw when it was elected, and then writes the state conditional on
 * its own version. A deposed controller's late write therefore fails as a whole instead of
 * overwriting its successor's, and the controller resigns when it sees that.
 */
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { LeaderElection } from '../../shared/coordinator/recipes/election';
import { CoordinatorError, hasCode, MultiSubOp, MultiSubResult, unlessCode } from '../../shared/coordinator/protocol';
import type { Logger } from '../../shared/logging';
import { randomTopicId } from '../../shared/kafka/uuid';
import { ClusterSnapshot, MetadataCache, PATHS, statePath, topicNodeData, topicPath } from '../cluster/metadata-cache';
import { effectiveConfig } from '../cluster/topic-config';
import type { TopicConfig } from '../context';
import { planDeletions, planStateChanges, StateAction } from './decisions';
import { SerialTask } from '../../shared/serial-task';

export const CONTROLLER_ELECTION_PATH = '/controller_election';
/** Backoff before joining the election again after losing it on a live session. */
const REJOIN_BACKOFF_MIN_MS = 100;
const REJOIN_BACKOFF_MAX_MS = 5000;
/** While waiting for another session's /controller to go, look again this often even without a watch event (belt and braces). */
const CONTROLLER_NODE_RECHECK_MS = 5000;

interface Leadership {
  client: CoordinatorClient;
  epoch: number;
  /** Version of /controller_epoch when this controller was elected: the fencing check. */
  epochVersion: number;
}

/** The check op failed: a newer controller bumped the epoch. */
function deposedBy(error: unknown): boolean {
  const results = (error as { results?: MultiSubResult[] }).results;
  const first = results?.[0];
  return error instanceof CoordinatorError && first !== undefined && first.type === 'error' && first.code === 'BadVersion';
}

export class Controller {
  private election: LeaderElection | null = null;
  private leadership: Leadership | null = null;
  private stopped = false;
  private rejoinAttempt = 0;
  private rejoinTimer: NodeJS.Timeout | null = null;
  private readonly reconciling = new SerialTask(
    () => this.reconcileRound(),
    (error) => this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'controller.reconcile_failed'),
  );
  /** Per topic waiting for acknowledgements: who was missing when last logged (logged again when that changes). */
  private readonly deletionsWaiting = new Map<string, string>();
  private readonly onChange = (): void => void this.reconcile();
  /** auto.leader.rebalance.enable: the next round also moves leaderships back to preferred replicas. */
  private rebalanceDue = false;
  private rebalanceTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly brokerId: number,
    private readonly cache: MetadataCache,
    private readonly logger: Logger,
    private readonly options: { topicDefaults: TopicConfig; autoLeaderRebalance: boolean; leaderImbalanceCheckIntervalMs: number } = { topicDefaults: {} as TopicConfig, autoLeaderRebalance: false, leaderImbalanceCheckIntervalMs: 5000 },
  ) {}

  get isActive(): boolean {
    return this.leadership !== null;
  }

  get epoch(): number {
    return this.leadership?.epoch ?? 0;
  }

  /** Joins the election with this client (a new one after each session expiry). */
  async start(client: CoordinatorClient): Promise<void> {
    this.stopped = false;
    await this.join(client);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.rejoinTimer !== null) clearTimeout(this.rejoinTimer);
    this.stopLeading();
    await this.election?.stop();
  }

  private async join(client: CoordinatorClient): Promise<void> {
    this.stopLeading();
    const election = new LeaderElection(client, { path: CONTROLLER_ELECTION_PATH, id: String(this.brokerId), epochPath: PATHS.controllerEpoch });
    this.election = election;
    election.on('elected', ({ epoch }: { epoch: number }) => {
      this.becomeController(client, election, epoch).catch((error: unknown) => {
        this.logger.warn({ err: error instanceof Error ? error.message : String(error), epoch }, 'controller.takeover_failed');
        void this.resign(client, election);
      });
    });
    election.on('lost', ({ reason }: { reason: string }) => {
      if (this.election !== election) return;
      this.logger.warn({ reason }, 'controller.resigned');
      this.stopLeading();
      void this.releaseControllerNode(client);
      this.rejoinSoon(client);
    });
    election.on('error', (error: unknown) => this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'controller.election_error'));
    await election.start();
  }

  /** Back in line after losing the election on a session that is still valid (an expired one is replaced by the broker). */
  private rejoinSoon(client: CoordinatorClient): void {
    if (this.stopped || client.state === 'expired' || client.state === 'closed' || this.rejoinTimer !== null) return;
    const delayMs = Math.min(REJOIN_BACKOFF_MAX_MS, REJOIN_BACKOFF_MIN_MS * 2 ** Math.min(this.rejoinAttempt, 6));
    this.rejoinAttempt++;
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = null;
      if (this.stopped || client.state === 'expired' || client.state === 'closed') return;
      this.join(client).catch((error: unknown) => {
        this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'controller.rejoin_failed');
        this.rejoinSoon(client);
      });
    }, delayMs);
    this.rejoinTimer.unref();
  }

  private async resign(client: CoordinatorClient, election: LeaderElection): Promise<void> {
    if (this.election !== election) return;
    this.stopLeading();
    this.election = null;
    await this.releaseControllerNode(client);
    await election.stop().catch(() => undefined);
    this.rejoinSoon(client);
  }

  /** Our own /controller, if we still hold it, so that the next controller need not wait for our session to end. Never rejects. */
  private async releaseControllerNode(client: CoordinatorClient): Promise<void> {
    try {
      const stat = await client.exists(PATHS.controller);
      // Only a node of our own session; a node of our session cannot be replaced by anyone between the check and the delete.
      if (stat !== null && stat.ephemeralOwner === client.sessionId) await client.delete(PATHS.controller, stat.version);
    } catch (error) {
      this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'controller.release_failed');
    }
  }

  private stopLeading(): void {
    this.leadership = null;
    this.cache.off('change', this.onChange);
    if (this.rebalanceTimer !== null) clearInterval(this.rebalanceTimer);
    this.rebalanceTimer = null;
  }

  private async becomeController(client: CoordinatorClient, election: LeaderElection, epoch: number): Promise<void> {
    const { data, stat } = await client.getData(PATHS.controllerEpoch);
    if (Number(data) !== epoch) throw new CoordinatorError('BadVersion', `controller epoch moved on to ${data} past ${epoch}`, PATHS.controllerEpoch);
    if (!(await this.writeControllerNode(client, election, epoch))) return;
    if (this.election !== election || !election.isLeader) return;
    this.leadership = { client, epoch, epochVersion: stat.version };
    this.rejoinAttempt = 0;
    this.logger.info({ epoch }, 'controller.elected');
    this.cache.on('change', this.onChange);
    if (this.options.autoLeaderRebalance) {
      this.rebalanceTimer = setInterval(() => {
        this.rebalanceDue = true;
        void this.reconcile();
      }, this.options.leaderImbalanceCheckIntervalMs);
      this.rebalanceTimer.unref();
    }
    await this.cache.refresh();
    await this.reconcile();
  }

  /**
   * The visible /controller znode. One of another session (the previous controller's) is
   * waited for until it goes with its session or is released, never deleted: deleting it could
   * remove a live controller's node. False when the election was lost while waiting.
   */
  private async writeControllerNode(client: CoordinatorClient, election: LeaderElection, epoch: number): Promise<boolean> {
    const data = JSON.stringify({ brokerId: this.brokerId, epoch });
    let waitingLogged = false;
    for (;;) {
      if (this.election !== election || !election.isLeader || this.stopped) return false;
      try {
        await client.create(PATHS.controller, data, { mode: 'ephemeral' });
        return true;
      } catch (error) {
        if (!hasCode(error, 'NodeExists')) throw error;
      }
      let wake: () => void = () => undefined;
      const changed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const existing = await client.exists(PATHS.controller, () => wake());
      if (existing === null) continue;
      if (existing.ephemeralOwner === client.sessionId) {
        await client.setData(PATHS.controller, data, existing.version);
        return true;
      }
      if (!waitingLogged) this.logger.info({ epoch, owner: existing.ephemeralOwner }, 'controller.waiting_for_previous');
      waitingLogged = true;
      const timer = setTimeout(() => wake(), CONTROLLER_NODE_RECHECK_MS);
      const onLost = (): void => wake();
      election.once('lost', onLost);
      await changed;
      clearTimeout(timer);
      election.off('lost', onLost);
    }
  }

  /** One round at a time, coalescing changes that arrive meanwhile. */
  private reconcile(): Promise<void> {
    return this.reconciling.request();
  }

  /** False ends the rounds: not leading, or deposed (then resigning). */
  private async reconcileRound(): Promise<boolean> {
    const leadership = this.leadership;
    if (leadership === null) return false;
    try {
      await this.reconcileOnce(leadership, this.cache.view);
    } catch (error) {
      if (!deposedBy(error)) throw error;
      this.logger.warn({ epoch: leadership.epoch }, 'controller.deposed');
      if (this.election !== null) void this.resign(leadership.client, this.election);
      return false;
    }
    return this.leadership !== null;
  }

  private async reconcileOnce(leadership: Leadership, view: ClusterSnapshot): Promise<void> {
    await this.assignTopicIds(leadership, view);
    const deletions = planDeletions(view);
    for (const topic of deletions.complete) await this.completeDeletion(leadership, topic);
    this.logWaitingDeletions(deletions.waiting);
    const preferred = view.preferredElection ?? (this.rebalanceDue ? true : undefined);
    this.rebalanceDue = false;
    const unclean = (topic: string): boolean => effectiveConfig(this.options.topicDefaults, view.overrides.get(topic) ?? {})['unclean.leader.election.enable'] === 'true';
    const actions = planStateChanges(view, leadership.epoch, { unclean, preferred });
    const creates = new Map<string, Array<Extract<StateAction, { kind: 'create' }>>>();
    for (const action of actions) {
      if (action.kind === 'create') creates.set(action.topic, [...(creates.get(action.topic) ?? []), action]);
      else await this.writeFenced(leadership, [{ op: 'setData', path: statePath(action.topic, action.partition), data: JSON.stringify(action.state), version: action.version }], () => this.logStateChange(action));
    }
    if (view.preferredElection !== null) await this.completePreferredElection(leadership, view.preferredElection);
    for (const [topic, topicCreates] of creates) {
      // Parents first (harmless if they exist); then every new state of the topic in one multi.
      for (const { partition } of topicCreates) await leadership.client.ensurePath(`${topicPath(topic)}/partitions/${partition}`);
      const ops: MultiSubOp[] = topicCreates.map(({ partition, state }) => ({ op: 'create', path: statePath(topic, partition), data: JSON.stringify(state), mode: 'persistent' }));
      await this.writeFenced(leadership, ops, () => {
        for (const { partition, state } of topicCreates) this.logger.info({ topic, partition, leader: state.leader, isr: state.isr }, 'partition.state_created');
      });
    }
  }

  /**
   * Topics created before topic ids existed get one (on the first start after the upgrade),
   * conditional on the znode version: a CreatePartitions racing with it makes the write fail,
   * and the next picture, with the new assignment, gets it then.
   */
  private async assignTopicIds(leadership: Leadership, view: ClusterSnapshot): Promise<void> {
    for (const [topic, assignment] of view.assignments) {
      if (assignment.topicId !== undefined || view.pendingDeletions.has(topic)) continue;
      const topicId = randomTopicId();
      await this.writeFenced(leadership, [{ op: 'setData', path: topicPath(topic), data: topicNodeData(assignment.partitions, topicId), version: assignment.version }], () =>
        this.logger.info({ topic, topicId }, 'topic.id_assigned'));
    }
  }

  private logStateChange(action: Extract<StateAction, { kind: 'update' }>): void {
    const fields = { topic: action.topic, partition: action.partition, leader: action.state.leader, leaderEpoch: action.state.leaderEpoch, isr: action.state.isr, previousLeader: action.previousLeader };
    switch (action.reason) {
      case 'unclean':
        this.logger.error({ ...fields, reason: 'no in-sync replica is alive; unclean.leader.election.enable=true: records the new leader lacks are lost' }, 'partition.unclean_leader_elected');
        return;
      case 'isr':
        this.logger.info({ ...fields, reason: 'dead or shutting-down followers removed from the ISR' }, 'partition.isr_shrunk_by_controller');
        return;
      case 'preferred':
        this.logger.info(fields, 'partition.preferred_leader_elected');
        return;
      case 'election':
        this.logger.info(fields, 'partition.leader_elected');
    }
  }

  /** The on-demand election is done (every partition it could move was moved): its znode goes, behind the epoch check. */
  private async completePreferredElection(leadership: Leadership, partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<void> {
    await this.writeFenced(leadership, [{ op: 'delete', path: PATHS.preferredElection, version: -1 }], () =>
      this.logger.info({ partitions: partitions.length }, 'controller.preferred_election_done'));
  }

  /** `ops` behind the epoch check. A lost race on the state itself is fine: the next picture shows who won. */
  private async writeFenced(leadership: Leadership, ops: MultiSubOp[], onDone: () => void): Promise<void> {
    try {
      await leadership.client.multi([{ op: 'check', path: PATHS.controllerEpoch, version: leadership.epochVersion }, ...ops]);
      onDone();
    } catch (error) {
      if (deposedBy(error) || !hasCode(error, 'BadVersion', 'NodeExists', 'NoNode')) throw error;
    }
  }

  /**
   * Every replica broker has deleted its logs: the topic's znodes go (topic, then config, then
   * the marker with the acknowledgements). The topic's partition nodes go first; its own node
   * goes in one fenced multi with the config and the marker, so that no moment exists where
   * the topic is gone but the marker is not (a CreateTopics of the name then would have its new
   * config deleted and its logs deleted by the brokers).
   */
  private async completeDeletion(leadership: Leadership, topic: string): Promise<void> {
    const client = leadership.client;
    await client.deleteRecursive(`${topicPath(topic)}/partitions`);
    const root = await client.exists(topicPath(topic));
    const config = await client.exists(`${PATHS.configTopics}/${topic}`);
    const marker = `${PATHS.deleteTopics}/${topic}`;
    const acks = (await unlessCode(client.getChildren(marker), ['NoNode'], null))?.children ?? [];
    const ops: MultiSubOp[] = [
      ...(root !== null ? [{ op: 'delete' as const, path: topicPath(topic), version: -1 }] : []),
      ...(config !== null ? [{ op: 'delete' as const, path: `${PATHS.configTopics}/${topic}`, version: -1 }] : []),
      ...acks.map((ack) => ({ op: 'delete' as const, path: `${marker}/${ack}`, version: -1 })),
      { op: 'delete', path: marker, version: -1 },
    ];
    await this.writeFenced(leadership, ops, () => {
      this.deletionsWaiting.delete(topic);
      this.logger.info({ topic, acknowledgedBy: acks }, 'topic.deleted');
    });
  }

  private logWaitingDeletions(waiting: Array<{ topic: string; missing: number[] }>): void {
    const now = new Set<string>();
    for (const { topic, missing } of waiting) {
      now.add(topic);
      const key = missing.join(',');
      if (this.deletionsWaiting.get(topic) === key) continue;
      this.deletionsWaiting.set(topic, key);
      this.logger.info({ topic, waitingFor: missing }, 'topic.deletion_waiting');
    }
    for (const topic of [...this.deletionsWaiting.keys()]) if (!now.has(topic)) this.deletionsWaiting.delete(topic);
  }
}
