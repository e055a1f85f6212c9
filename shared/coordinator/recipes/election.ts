/**
 * Leader election (the ZooKeeper recipe): every candidate creates an ephemeral-sequential
 * node under `path`; the lowest sequence number leads. Each other candidate watches only the
 * candidate just before it, so a leader's death wakes one process, not the herd. The winner
 * increments a counter znode and learns the result as its fencing epoch: anything it writes
 * on behalf of its leadership carries the epoch, and readers ignore writes from older epochs.
 *
 *   const election = new LeaderElection(client, { path: '/controller_election', id: '1' });
 *   election.on('elected', ({ epoch }) => ...);   // this process leads from now on
 *   election.on('lost', () => ...);               // session expired or our node vanished: stop leading
 *   await election.start();
 *
 * After 'lost' the election is finished; make a new client and a new election.
 */
import { EventEmitter } from 'events';
import type { CoordinatorClient } from '../client';
import { childPath } from '../paths';
import { CoordinatorError, hasCode } from '../protocol';
import { incrementCounter, sortBySequence } from './sequence';
import { SerialTask } from '../../serial-task';

export interface LeaderElectionOptions {
  /** The parent of the candidate nodes. */
  path: string;
  /** This candidate's identity, stored in its node. */
  id: string;
  /** Extra data stored with the candidate. */
  data?: string;
  /** The counter znode the fencing epoch comes from. Default `<path>_epoch`. */
  epochPath?: string;
}

const CANDIDATE_PREFIX = 'n_';

export class LeaderElection extends EventEmitter {
  private node: string | null = null;
  private leading = false;
  private currentEpoch = 0;
  private finished = false;
  /** Re-evaluates our place in line; one at a time, again if asked while running; a failure rejects to the caller. */
  private readonly checks = new SerialTask(async () => {
    if (this.finished) return false;
    await this.checkOnce();
  });
  /** A check failed on a lost connection: run it again once the client is back. */
  private retryOnConnect = false;
  private readonly onState = (state: string): void => {
    if (state === 'expired' || state === 'closed') this.lose(`session ${state}`);
    else if (state === 'connected' && this.retryOnConnect) {
      this.retryOnConnect = false;
      this.recheckSoon();
    }
  };

  constructor(
    private readonly client: CoordinatorClient,
    private readonly options: LeaderElectionOptions,
  ) {
    super();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The fencing epoch of this leadership (0 until elected). */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** The candidate node's full path, once created. */
  get candidatePath(): string | null {
    return this.node;
  }

  async start(): Promise<void> {
    this.client.on('state', this.onState);
    await this.client.ensurePath(this.options.path);
    const data = JSON.stringify({ id: this.options.id, data: this.options.data ?? null });
    const created = await this.client.create(childPath(this.options.path, CANDIDATE_PREFIX), data, { mode: 'ephemeral_sequential' });
    this.node = created.path;
    await this.watchOwnNode();
    await this.check();
  }

  async stop(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.leading = false;
    this.client.off('state', this.onState);
    if (this.node !== null) {
      await this.client.delete(this.node).catch(() => undefined);
    }
  }

  private check(): Promise<void> {
    return this.checks.request();
  }

  private async checkOnce(): Promise<void> {
    if (this.finished || this.node === null || this.leading) return;
    const { children } = await this.client.getChildren(this.options.path);
    const line = sortBySequence(children, CANDIDATE_PREFIX);
    const ours = this.node.slice(this.node.lastIndexOf('/') + 1);
    const index = line.indexOf(ours);
    if (index < 0) {
      this.lose('candidate node is gone');
      return;
    }
    if (index === 0) {
      this.currentEpoch = await incrementCounter(this.client, this.options.epochPath ?? `${this.options.path}_epoch`);
      if (this.finished) return;
      this.leading = true;
      this.emit('elected', { epoch: this.currentEpoch });
      return;
    }
    const predecessor = childPath(this.options.path, line[index - 1]!);
    const stat = await this.client.exists(predecessor, () => {
      this.emit('predecessorChanged', predecessor);
      this.recheckSoon();
    });
    if (stat === null) void this.checks.request(); // it went between the listing and the watch: one more round (this round's caller handles failures)
  }

  private recheckSoon(): void {
    this.check().catch((error: unknown) => this.onCheckFailed(error));
  }

  /**
   * A lost connection is retried when the client reconnects (its watches are registered again
   * by the client); anything else ends the election, since we can no longer tell whether we lead.
   */
  private onCheckFailed(error: unknown): void {
    if (this.finished) return;
    if (hasCode(error, 'ConnectionLoss', 'OperationTimeout', 'Throttled')) {
      if (this.client.state === 'connected') this.recheckSoon();
      else this.retryOnConnect = true;
      return;
    }
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.lose(error instanceof CoordinatorError ? error.code : 'check failed');
  }

  /**
   * A watch on our own candidate: if someone deletes it (an operator, a stale cleanup) we are
   * no longer in line, even as leader, and say so at once.
   */
  private async watchOwnNode(): Promise<void> {
    const node = this.node;
    if (node === null || this.finished) return;
    const stat = await this.client.exists(node, (event) => {
      if (this.finished) return;
      if (event.event === 'NodeDeleted') this.lose('candidate node is gone');
      else this.watchOwnNode().catch((error: unknown) => this.onCheckFailed(error));
    });
    if (stat === null) this.lose('candidate node is gone');
  }

  private lose(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.leading = false;
    this.client.off('state', this.onState);
    this.emit('lost', { reason });
  }
}
