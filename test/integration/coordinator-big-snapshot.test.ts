/**
 * Snapshots of a big tree do not stall the coordinator (issue 10, "Snapshots stall the server"):
 * 400 znodes of 1 MiB random bytes (about 400 MiB, over the 512 MiB of base64 that one JSON
 * string could hold) are written through the client to a real coordinator on the file store that
 * snapshots every 100 transactions, while a second client with a 3 s session only pings. Its
 * session survives every snapshot; snapshots are written and old logs purged; after a SIGKILL
 * the restarted coordinator recovers from the newest snapshot (replaying none of the big
 * creates) and gives back every znode's bytes.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import { CoordinatorClient } from '../../shared/coordinator/client';
import type { ConnectionState } from '../../shared/coordinator/client-api';
import { kill, logLines, startCoordinator, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(180_000);

const ZNODES = 400;
const ZNODE_BYTES = 1024 * 1024;
/** Creates in flight at once: keeps the pipe full without queueing hundreds of MiB in the test. */
const CREATES_IN_FLIGHT = 4;
const SNAPSHOT_EVERY_TXNS = 100;
/** Every SNAPSHOT_EVERY_TXNS, however few znodes hold the 400 MiB (no tree ratio). */
const SNAPSHOT_ARGS = ['--snapshot-every-txns', String(SNAPSHOT_EVERY_TXNS), '--snapshot-tree-ratio', '0'];
/** The store's default snapshotsRetained. */
const SNAPSHOTS_RETAINED = 2;

const clients: CoordinatorClient[] = [];
afterAll(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  await stopAll();
});

async function connect(url: string, sessionTimeoutMs: number): Promise<CoordinatorClient> {
  const client = new CoordinatorClient({ servers: [url], sessionTimeoutMs, requestTimeoutMs: 60_000 });
  clients.push(client);
  await client.connect();
  return client;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Snapshot files by zxid (never the temp file of one being written). */
function snapshotZxids(dir: string): number[] {
  return fs
    .readdirSync(dir)
    .filter((name) => /^snapshot\.[0-9a-f]{16}$/.test(name))
    .map((name) => parseInt(name.slice('snapshot.'.length), 16))
    .sort((a, b) => a - b);
}

const logLine = (output: string, msg: string): Record<string, unknown> | null => logLines(output, msg)[0] ?? null;

test('a tree of 400 MiB: snapshots keep a 3 s session alive, purge logs, and recovery starts from one', async () => {
  const first = await startCoordinator({ extraArgs: SNAPSHOT_ARGS });
  const { dataDir } = first;
  const writer = await connect(first.url, 20_000);
  const pinger = await connect(first.url, 3000);
  const pingerSession = pinger.sessionId;
  const pingerStates: ConnectionState[] = [];
  pinger.on('state', (state: ConnectionState) => pingerStates.push(state));

  await writer.create('/big');
  const hashes = new Map<string, string>();
  let next = 0;
  const createSome = async (): Promise<void> => {
    while (next < ZNODES) {
      const path = `/big/n${String(next++).padStart(4, '0')}`;
      const data = randomBytes(ZNODE_BYTES);
      hashes.set(path, sha256(data));
      await writer.create(path, data);
    }
  };
  await Promise.all(Array.from({ length: CREATES_IN_FLIGHT }, createSome));
  const lastBigZxid = (await writer.exists(`/big/n${String(ZNODES - 1).padStart(4, '0')}`))!.czxid;

  // Small writes after the big ones (each round starts a snapshot unless one is being written),
  // until every kept snapshot holds every big create: then no log file holding one is needed.
  await writer.create('/tick', 'tick');
  for (let round = 0; snapshotZxids(dataDir).length < SNAPSHOTS_RETAINED || snapshotZxids(dataDir)[0]! < lastBigZxid; round++) {
    if (round >= 50) {
      const failed = logLine(first.process.output(), 'store.snapshot_failed');
      throw new Error(`no snapshot past zxid ${lastBigZxid}: ${snapshotZxids(dataDir).join(', ')}; ${JSON.stringify(failed)}`);
    }
    for (let i = 0; i < SNAPSHOT_EVERY_TXNS; i++) await writer.setData('/tick', `tick ${round} ${i}`);
    await waitFor('the snapshot being written to be done', () => !fs.readdirSync(dataDir).some((name) => name.endsWith('.tmp')), 60_000, 50);
  }

  // The pinging session lived through every snapshot, and still works.
  expect(await pinger.exists('/big')).not.toBeNull();
  expect(pinger.sessionId).toBe(pingerSession);
  expect(pinger.state).toBe('connected');
  expect(pingerStates).not.toContain('expired');
  const written = first.process.output();
  expect(logLine(written, 'store.snapshot_failed')).toBeNull();
  // Several snapshots of the big tree were written while the pinger's session lived on.
  expect(logLines(written, 'store.snapshot_written').filter((line) => (line.bytes as number) > 100 * ZNODE_BYTES).length).toBeGreaterThanOrEqual(2);
  expect(logLine(written, 'session.expired')).toBeNull();

  // Snapshots were written and the older ones went, and so did every log file of big creates
  // (the purge follows each snapshot: waited for).
  expect(snapshotZxids(dataDir)).toHaveLength(SNAPSHOTS_RETAINED);
  const logBytes = () => fs.readdirSync(dataDir).filter((name) => name.startsWith('log.')).reduce((sum, name) => sum + fs.statSync(`${dataDir}/${name}`).size, 0);
  await waitFor('the logs of big creates to be purged', () => logBytes() < 10 * ZNODE_BYTES, 30_000);
  expect(fs.existsSync(`${dataDir}/log.0000000000000001`)).toBe(false);

  await kill(first.process, 'SIGKILL');
  const second = await startCoordinator({ dataDir, extraArgs: SNAPSHOT_ARGS });
  const recovered = await waitFor('store.recovered', () => logLine(second.process.output(), 'store.recovered'));
  // From a snapshot that holds every big create: what is replayed is ticks and sessions only.
  expect(recovered.snapshotZxid as number).toBeGreaterThanOrEqual(lastBigZxid);
  expect(recovered.txnsReplayed as number).toBeLessThan(ZNODES);

  const reader = await connect(second.url, 20_000);
  expect((await reader.getChildren('/big')).children).toHaveLength(ZNODES);
  const paths = [...hashes.keys()];
  const readSome = async (): Promise<void> => {
    for (let path = paths.pop(); path !== undefined; path = paths.pop()) {
      const { bytes } = await reader.getData(path);
      expect(sha256(bytes)).toBe(hashes.get(path));
    }
  };
  await Promise.all(Array.from({ length: CREATES_IN_FLIGHT }, readSome));
});
