/**
 * When the coordinator writes a snapshot (file store): once --snapshot-every-txns transactions
 * were logged since the last one and, on a tree bigger than that, once there were
 * --snapshot-tree-ratio transactions per znode of the last snapshot (Redis's
 * auto-aof-rewrite-percentage: a big tree is not rewritten every few transactions, and a restart
 * replays at most that many transactions per znode it loads). Read from the server's own
 * `store.snapshot_written` lines (zxid, znodes) while 300 creates go through one at a time.
 */
import { CoordinatorClient } from '../../shared/coordinator/client';
import { logLines, runSamsa, startCoordinator, stopAll, waitFor } from '../helpers/processes';

const EVERY_TXNS = 20;
const CREATES = 300;

const clients: CoordinatorClient[] = [];
afterAll(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  await stopAll();
});

interface Written { zxid: number; nodes: number }

test.each([
  // ratio, at least / at most this many snapshots of the 300 creates, the last one at or past this zxid
  [0, 13, 16, 260],
  // With 2 transactions a znode the gaps grow with the tree: about zxid 20, 64 and 196.
  [2, 3, 3, 180],
])('--snapshot-tree-ratio %d', async (ratio, fewest, most, lastAtLeast) => {
  const coordinator = await startCoordinator({ extraArgs: ['--snapshot-every-txns', String(EVERY_TXNS), '--snapshot-tree-ratio', String(ratio)] });
  const client = new CoordinatorClient({ servers: [coordinator.url] });
  clients.push(client);
  await client.connect();
  await client.create('/p', '');
  for (let i = 0; i < CREATES; i++) await client.create(`/p/n-${i}`, '', { withStat: false });
  const written = (): Written[] => logLines(coordinator.process.output(), 'store.snapshot_written') as unknown as Written[];
  await waitFor(`a snapshot at zxid ${lastAtLeast} or later`, () => written().some((line) => line.zxid >= lastAtLeast));

  const snapshots = written();
  expect(snapshots.length).toBeGreaterThanOrEqual(fewest);
  expect(snapshots.length).toBeLessThanOrEqual(most);
  // The first counts from the tree the server started with: the root and /zookeeper's three nodes.
  const before = [{ zxid: 0, nodes: 4 }, ...snapshots];
  const tooSoon = snapshots.filter((snapshot, i) => snapshot.zxid - before[i]!.zxid < Math.max(EVERY_TXNS, ratio * before[i]!.nodes));
  expect(tooSoon).toEqual([]);
});

test.each(['-1', 'many', '101'])('--snapshot-tree-ratio %s is refused with a clear error', async (value) => {
  const result = await runSamsa(['coordinator', '--store', 'memory', '--port', '0', '--metrics-port', '-1', '--snapshot-tree-ratio', value]);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('snapshotTreeRatio must be a number from 0 to 100');
});
