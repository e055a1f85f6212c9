/**
 * A broker's data directory belongs to one cluster (meta.properties, as Kafka): a coordinator
 * that comes back empty, an emptied coordinator, or the wrong broker id never costs a broker its
 * records. Each case checks the refusal names both sides, the process exits non-zero, the data
 * directory is byte-for-byte as before, and (where the tree is there to look at) nothing was
 * written to the tree.
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Kafka, logLevel } from 'kafkajs';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { startBroker } from '../helpers/cluster';
import { freePort, kill, RunningProcess, spawnSamsa, startCoordinator, stopAll, tempDir, waitFor } from '../helpers/processes';

jest.setTimeout(90_000);

afterAll(async () => {
  await stopAll();
});

/** Every file under `dir` (relative path → sha256), so "intact" means byte for byte. */
function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of fs.readdirSync(at).sort()) {
      const full = path.join(at, name);
      if (fs.statSync(full).isDirectory()) walk(full);
      else out[path.relative(dir, full)] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

async function produce(bootstrap: string, topic: string, count: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'identity-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await admin.connect();
    // A broker that has just started may not know the controller yet (Metadata says -1, which kafkajs's createTopics does not retry).
    await waitFor('a controller in the metadata', async () => {
      const { controller } = await admin.describeCluster();
      return typeof controller === 'number' && controller >= 0;
    }, 15_000);
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
    await producer.connect();
    await producer.send({ topic, acks: 1, messages: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}

/** Every value of `topic` from the beginning, through kcat (bounded by its own timeout). */
function kcatValues(bootstrap: string, topic: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('kcat', ['-b', bootstrap, '-C', '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%s\\n'], { timeout: 30_000 }, (error, stdout) => {
      if (error !== null) reject(error);
      else resolve(stdout.split('\n').filter(Boolean));
    });
  });
}

const metaOf = (dataDir: string): string => fs.readFileSync(path.join(dataDir, 'meta.properties'), 'utf8');
const clusterIdIn = (dataDir: string): string => /cluster\.id=(.+)/.exec(metaOf(dataDir))![1]!;

async function treeClient(url: string): Promise<CoordinatorClient> {
  const client = new CoordinatorClient({ servers: [url], requestTimeoutMs: 5000 });
  await client.connect();
  return client;
}

describe('cluster identity', () => {
  test('a --store memory coordinator restarted empty: every broker keeps its data byte for byte, stops with an error naming the cluster, and refuses to start again', async () => {
    const port = await freePort();
    let coordinator = await startCoordinator({ port, store: 'memory' });
    const brokers = [await startBroker(coordinator.url, 1, { extraArgs: ['--session-timeout-ms', '1000'] }), await startBroker(coordinator.url, 2, { extraArgs: ['--session-timeout-ms', '1000'] })];
    const bootstrap = `127.0.0.1:${brokers[0]!.port}`;
    await produce(bootstrap, 'kept', 50);
    const clusterId = clusterIdIn(brokers[0]!.dataDir);
    expect(clusterIdIn(brokers[1]!.dataDir)).toBe(clusterId);
    expect(metaOf(brokers[0]!.dataDir)).toMatch(/^version=0$/m);
    expect(metaOf(brokers[0]!.dataDir)).toMatch(/^broker\.id=1$/m);
    const partitionDirs = brokers.flatMap((b) => fs.readdirSync(b.dataDir).filter((name) => name.startsWith('kept-')));
    expect(partitionDirs.sort()).toEqual(['kept-0', 'kept-1']);
    // Checkpoints are written in the background after appends: take the picture once they are done.
    const hasTemporary = (dir: string): boolean => fs.readdirSync(dir, { recursive: true }).some((name) => String(name).endsWith('.tmp'));
    // The high-watermark checkpoint is written on a timer once the high watermarks moved: wait until both
    // brokers' checkpoints hold all 50 records (each partition has one replica here).
    const checkpointed = (dir: string): number => {
      try {
        const parsed = JSON.parse(fs.readFileSync(path.join(dir, 'replication-offset-checkpoint'), 'utf8')) as { partitions: Record<string, number> };
        return Object.values(parsed.partitions).reduce((sum, offset) => sum + offset, 0);
      } catch {
        return 0;
      }
    };
    await waitFor('checkpoints written', () => brokers.every((b) => !hasTemporary(b.dataDir)) && brokers.reduce((sum, b) => sum + checkpointed(b.dataDir), 0) === 50, 10_000);
    const before = brokers.map((b) => digest(b.dataDir));

    await kill(coordinator.process);
    coordinator = await startCoordinator({ port, store: 'memory' });
    for (const broker of brokers) {
      expect(await broker.process.exited).toBe(1);
      const output = broker.process.output();
      expect(output).toContain('"msg":"broker.identity_lost"');
      expect(output).toContain(`belongs to cluster ${clusterId}`);
      expect(output).toContain('has no /cluster/id');
      expect(output).not.toContain('"msg":"log.deleted"');
    }
    expect(brokers.map((b) => digest(b.dataDir))).toEqual(before);

    // And they do not come back into the new, empty coordinator either.
    const again = spawnSamsa(['broker', '--id', '1', '--port', '0', '--host', '127.0.0.1', '--coordinator', coordinator.url, '--data-dir', brokers[0]!.dataDir]);
    expect(await again.exited).toBe(1);
    expect(again.output()).toContain(`belongs to cluster ${clusterId}`);
    expect(digest(brokers[0]!.dataDir)).toEqual(before[0]);
    const client = await treeClient(coordinator.url);
    try {
      expect(await client.exists('/cluster/id')).toBeNull();
      expect(await client.exists('/brokers')).toBeNull();
    } finally {
      await client.close();
    }
  });

  test('a broker started against an emptied coordinator refuses to start, leaves its data intact and the tree untouched', async () => {
    const first = await startCoordinator();
    const broker = await startBroker(first.url, 1);
    await produce(`127.0.0.1:${broker.port}`, 'orders', 20);
    const clusterId = clusterIdIn(broker.dataDir);
    broker.process.child.kill('SIGTERM');
    expect(await broker.process.exited).toBe(0);
    const before = digest(broker.dataDir);

    const emptied = await startCoordinator(); // a new data directory: what a wiped coordinator looks like
    const refused = spawnSamsa(['broker', '--id', '1', '--port', '0', '--host', '127.0.0.1', '--coordinator', emptied.url, '--data-dir', broker.dataDir]);
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toContain(`belongs to cluster ${clusterId}`);
    expect(refused.output()).toContain(emptied.url);
    expect(digest(broker.dataDir)).toEqual(before);
    const client = await treeClient(emptied.url);
    try {
      expect((await client.getChildren('/')).children.filter((name) => name !== 'zookeeper')).toEqual([]);
    } finally {
      await client.close();
    }

    // The right coordinator still takes it, with its records.
    const back = await startBroker(first.url, 1, { dataDir: broker.dataDir });
    const values = await kcatValues(`127.0.0.1:${back.port}`, 'orders');
    expect(values.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
  });

  test('a data directory started with another broker id is refused, naming both ids; nothing registered', async () => {
    const coordinator = await startCoordinator();
    const broker = await startBroker(coordinator.url, 1);
    await produce(`127.0.0.1:${broker.port}`, 'mine', 5);
    broker.process.child.kill('SIGTERM');
    expect(await broker.process.exited).toBe(0);
    const before = digest(broker.dataDir);
    const wrong: RunningProcess = spawnSamsa(['broker', '--id', '2', '--port', '0', '--host', '127.0.0.1', '--coordinator', coordinator.url, '--data-dir', broker.dataDir]);
    expect(await wrong.exited).toBe(1);
    expect(wrong.output()).toContain('belongs to broker 1');
    expect(wrong.output()).toContain('started with id 2');
    expect(digest(broker.dataDir)).toEqual(before);
    const client = await treeClient(coordinator.url);
    try {
      await waitFor('no registration of broker 2', async () => (await client.exists('/brokers/ids/2')) === null);
      expect((await client.getChildren('/brokers/ids')).children).toEqual([]);
    } finally {
      await client.close();
    }
  });

  test('logs from an earlier version (no meta.properties) adopt the existing cluster id; with an empty coordinator they are refused', async () => {
    const coordinator = await startCoordinator();
    const broker = await startBroker(coordinator.url, 1);
    await produce(`127.0.0.1:${broker.port}`, 'old', 5);
    const clusterId = clusterIdIn(broker.dataDir);
    broker.process.child.kill('SIGTERM');
    expect(await broker.process.exited).toBe(0);
    fs.rmSync(path.join(broker.dataDir, 'meta.properties'));
    const before = digest(broker.dataDir);

    const emptied = await startCoordinator();
    const refused = spawnSamsa(['broker', '--id', '1', '--port', '0', '--host', '127.0.0.1', '--coordinator', emptied.url, '--data-dir', broker.dataDir]);
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toContain('no meta.properties');
    expect(digest(broker.dataDir)).toEqual(before);

    const adopted = await startBroker(coordinator.url, 1, { dataDir: broker.dataDir });
    expect(adopted.process.output()).toContain('"msg":"broker.identity_adopted_legacy"');
    expect(clusterIdIn(broker.dataDir)).toBe(clusterId);
  });
});
