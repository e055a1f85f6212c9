/**
 * The recipes against a real coordinator: leader election (one leader, succession with a
 * higher fencing epoch, only the successor woken) and the lock (mutual exclusion).
 */
import { CoordinatorClient } from '../../shared/coordinator/client';
import { LeaderElection } from '../../shared/coordinator/recipes/election';
import { DistributedLock } from '../../shared/coordinator/recipes/lock';
import { CoordinatorError } from '../../shared/coordinator/protocol';
import { startCoordinator, stopAll, waitFor } from '../helpers/processes';

const clients: CoordinatorClient[] = [];
async function connected(url: string): Promise<CoordinatorClient> {
  const client = new CoordinatorClient({ servers: [url] });
  clients.push(client);
  await client.connect();
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(stopAll);

describe('leader election', () => {
  test('one leader; its death elects the next with a higher epoch, waking only that candidate', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const candidates: Array<{ client: CoordinatorClient; election: LeaderElection; elected: number[]; woken: number }> = [];
    for (const id of ['a', 'b', 'c']) {
      const client = await connected(url);
      const election = new LeaderElection(client, { path: '/controller_election', id, epochPath: '/controller_epoch' });
      const entry = { client, election, elected: [] as number[], woken: 0 };
      election.on('elected', ({ epoch }: { epoch: number }) => entry.elected.push(epoch));
      election.on('predecessorChanged', () => entry.woken++);
      await election.start();
      candidates.push(entry);
    }
    const [a, b, c] = candidates as [typeof candidates[0], typeof candidates[0], typeof candidates[0]];
    expect(a.election.isLeader).toBe(true);
    expect(a.elected).toEqual([1]);
    expect(b.election.isLeader || c.election.isLeader).toBe(false);

    await a.client.close(); // its ephemeral candidate node goes at once
    await waitFor('b elected', () => b.election.isLeader);
    expect(b.elected).toEqual([2]);
    expect(b.woken).toBe(1);
    await c.client.sync('/');
    expect(c.woken).toBe(0); // no herd: c watches b, not a
    expect(c.election.isLeader).toBe(false);

    await b.election.stop();
    await waitFor('c elected', () => c.election.isLeader);
    expect(c.elected).toEqual([3]);
    const observer = await connected(url);
    expect((await observer.getData('/controller_epoch')).data).toBe('3');
  });

  test('a candidate whose session is closed reports lost', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const client = await connected(url);
    const election = new LeaderElection(client, { path: '/e', id: 'x' });
    const lost = new Promise((resolve) => election.on('lost', resolve));
    await election.start();
    expect(election.isLeader).toBe(true);
    await client.close();
    // As with ZooKeeper, the closing session is told its candidate node went before close() completes.
    await expect(lost).resolves.toMatchObject({ reason: 'candidate node is gone' });
    expect(election.isLeader).toBe(false);
  });
});

describe('leader election: a lost candidate node, a dropped connection', () => {
  test('a leader whose candidate node is deleted by someone else reports lost at once; the next candidate takes over', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const leader = new LeaderElection(await connected(url), { path: '/ctl', id: 'a' });
    const follower = new LeaderElection(await connected(url), { path: '/ctl', id: 'b' });
    const lost = new Promise((resolve) => leader.on('lost', resolve));
    await leader.start();
    await follower.start();
    expect(leader.isLeader).toBe(true);
    const operator = await connected(url);
    await operator.delete(leader.candidatePath!);
    await expect(lost).resolves.toMatchObject({ reason: 'candidate node is gone' });
    expect(leader.isLeader).toBe(false);
    await waitFor('follower elected', () => follower.isLeader);
    expect(follower.epoch).toBe(2);
  });

  test('a follower whose connection drops while the leader steps down is elected once it is back', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const leader = new LeaderElection(await connected(url), { path: '/ctl', id: 'a' });
    const followerClient = new CoordinatorClient({ servers: [url], sessionTimeoutMs: 10_000, reconnectBackoffMinMs: 500, reconnectBackoffMaxMs: 500 });
    clients.push(followerClient);
    await followerClient.connect();
    const follower = new LeaderElection(followerClient, { path: '/ctl', id: 'b' });
    const lost: unknown[] = [];
    follower.on('lost', (reason) => lost.push(reason));
    await leader.start();
    await follower.start();
    (followerClient as unknown as { socket: { terminate(): void } }).socket.terminate();
    await waitFor('follower disconnected', () => followerClient.state === 'disconnected');
    await leader.stop();
    expect(follower.isLeader).toBe(false);
    await waitFor('follower elected after resume', () => follower.isLeader);
    expect(follower.epoch).toBe(2);
    expect(lost).toEqual([]);
  });
});

describe('lock', () => {
  test('mutual exclusion: the second waits until the first releases; a timeout leaves the line', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const first = new DistributedLock(await connected(url), '/locks/job');
    const secondClient = await connected(url);
    const second = new DistributedLock(secondClient, '/locks/job');
    await first.acquire();
    expect(first.held).toBe(true);
    const timedOut = await new DistributedLock(await connected(url), '/locks/job').acquire(200).catch((error: unknown) => error);
    expect(timedOut).toBeInstanceOf(CoordinatorError);
    expect((timedOut as CoordinatorError).code).toBe('OperationTimeout');

    let secondHeld = false;
    const waiting = second.acquire(10_000).then(() => (secondHeld = true));
    await secondClient.sync('/');
    expect(secondHeld).toBe(false);
    await first.release();
    await waiting;
    expect(second.held).toBe(true);
    expect((await secondClient.getChildren('/locks/job')).children).toHaveLength(1);
  });
});
