/**
 * End to end with real processes: a coordinator and 3 brokers; kafkajs's admin creates a
 * topic of 6 partitions with replication factor 3; kafkajs's producer sends keyed messages
 * (acks=1, some gzip); kcat lists the metadata and reads everything back in order per key; a
 * broker killed with SIGKILL and restarted still has every acknowledged batch; killing the
 * controller moves the role to another broker, visible in `samsa cluster` and in the tree;
 * the samsa CLI creates, describes, produces to and consumes from a topic.
 */
import * as fs from 'fs';
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { BrokerHandle, startBroker, startCluster, TestCluster } from '../helpers/cluster';
import { kill, runCommand, SAMSA_BIN, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const run = runCommand;

const samsa = (args: string[], input?: string) => run(process.execPath, [SAMSA_BIN, ...args], input);

/** Every record of a topic through kcat: [partition, offset, key, value]. */
async function kcatAll(bootstrap: string, topic: string): Promise<Array<{ partition: number; offset: number; key: string; value: string }>> {
  const result = await run('kcat', ['-b', bootstrap, '-C', '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%p %o %k %s\\n']);
  expect(result.code).toBe(0);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [partition, offset, key, value] = line.split(' ');
      return { partition: Number(partition), offset: Number(offset), key: key!, value: value! };
    });
}

let cluster: TestCluster;
let coordinator: CoordinatorClient;

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3 });
  coordinator = new CoordinatorClient({ servers: [cluster.coordinatorUrl] });
  await coordinator.connect();
});
afterAll(async () => {
  await coordinator?.close();
  await stopAll();
});

async function controllerId(): Promise<number> {
  return (JSON.parse((await coordinator.getData('/controller')).data) as { brokerId: number }).brokerId;
}

describe('a 3-broker cluster', () => {
  const acknowledged: Array<{ key: string; value: string }> = [];

  test('kafkajs creates a topic and produces keyed messages; kcat reads them back in order per key', async () => {
    const kafka = new Kafka({ brokers: [cluster.bootstrap], clientId: 'e2e', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true })).toBe(true);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let round = 0; round < 30; round++) {
      const messages = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `k${i}-${round}` }));
      await producer.send({ topic: 'orders', acks: 1, compression: round % 3 === 0 ? CompressionTypes.GZIP : CompressionTypes.None, messages });
      acknowledged.push(...messages);
    }
    await producer.disconnect();
    await admin.disconnect();

    const listing = await run('kcat', ['-b', cluster.bootstrap, '-L', '-t', 'orders']);
    expect(listing.stdout).toContain('3 brokers:');
    expect(listing.stdout).toMatch(/topic "orders" with 6 partitions/);
    expect((listing.stdout.match(/partition \d+, leader \d+, replicas: \d+,\d+,\d+/g) ?? []).length).toBe(6);

    const records = await kcatAll(cluster.bootstrap, 'orders');
    expect(records).toHaveLength(300);
    for (let i = 0; i < 10; i++) {
      const forKey = records.filter((r) => r.key === `k${i}`);
      expect(new Set(forKey.map((r) => r.partition)).size).toBe(1); // one key, one partition
      expect(forKey.map((r) => r.value)).toEqual(Array.from({ length: 30 }, (_, round) => `k${i}-${round}`));
    }
  });

  test('a broker killed with SIGKILL and restarted still has every acknowledged batch', async () => {
    const victim = cluster.brokers[1]!;
    await kill(victim.process, 'SIGKILL');
    const restarted: BrokerHandle = await startBroker(cluster.coordinatorUrl, victim.id, { port: victim.port, dataDir: victim.dataDir });
    cluster.brokers[1] = restarted;
    // Its partitions are offline while it is down (only the leader has the data until
    // replication lands) and come back with it: wait until every partition has a leader.
    await waitFor('all partitions led', async () => {
      const listing = await run('kcat', ['-b', cluster.bootstrap, '-L', '-t', 'orders']);
      return (listing.stdout.match(/leader -1/g) ?? []).length === 0 && (listing.stdout.match(/partition \d+, leader \d+/g) ?? []).length === 6;
    }, 30_000);
    const records = await kcatAll(cluster.bootstrap, 'orders');
    expect(records.map((r) => r.value).sort()).toEqual(acknowledged.map((m) => m.value).sort());
  });

  test('killing the controller moves the role to another broker, in the tree and in samsa cluster', async () => {
    const before = await controllerId();
    const epochBefore = Number((await coordinator.getData('/controller_epoch')).data);
    const index = cluster.brokers.findIndex((b) => b.id === before);
    await kill(cluster.brokers[index]!.process, 'SIGKILL');
    const survivor = cluster.brokers.find((b) => b.id !== before)!;
    await waitFor('a new controller', async () => {
      const node = await coordinator.exists('/controller');
      return node !== null && (await controllerId()) !== before;
    }, 15_000);
    const after = await controllerId();
    expect(after).not.toBe(before);
    expect(Number((await coordinator.getData('/controller_epoch')).data)).toBeGreaterThan(epochBefore);
    await waitFor('samsa cluster shows it', async () => {
      const shown = await samsa(['cluster', '--bootstrap', `127.0.0.1:${survivor.port}`, '--json']);
      const parsed = JSON.parse(shown.stdout) as { controller: number; brokers: Array<{ id: number }> };
      return parsed.controller === after && parsed.brokers.every((b) => b.id !== before);
    }, 15_000);
    const tree = await samsa(['tree', '--server', cluster.coordinatorUrl, '/brokers/ids']);
    expect(tree.stdout).not.toMatch(new RegExp(`── ${before}\\b`));
    cluster.brokers[index] = await startBroker(cluster.coordinatorUrl, before, { port: cluster.brokers[index]!.port, dataDir: cluster.brokers[index]!.dataDir });
  });

  test('kcat produces snappy-compressed batches to an auto-created topic and reads them back', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line-${i}`);
    const produced = await run('kcat', ['-b', cluster.bootstrap, '-P', '-t', 'auto-snappy', '-z', 'snappy', '-p', '0'], `${lines.join('\n')}\n`);
    expect(produced.code).toBe(0);
    const records = await kcatAll(cluster.bootstrap, 'auto-snappy');
    expect(records.map((r) => r.value)).toEqual(lines);
    expect(records.map((r) => r.offset)).toEqual(lines.map((_, i) => i));
  });

  test('the samsa CLI: topic create/describe/alter-config/list, produce, consume, delete', async () => {
    const bootstrap = ['--bootstrap', cluster.bootstrap];
    expect(await samsa(['topic', 'create', 'cli', '--partitions', '3', '--replication-factor', '2', ...bootstrap])).toMatchObject({ code: 0, stdout: 'Created topic cli\n' });
    const again = await samsa(['topic', 'create', 'cli', ...bootstrap]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^TOPIC_ALREADY_EXISTS: cli/);
    expect((await samsa(['topic', 'alter-config', 'cli', 'retention.ms=60000', ...bootstrap])).code).toBe(0);
    const described = JSON.parse((await samsa(['topic', 'describe', 'cli', '--json', ...bootstrap])).stdout);
    expect(described.configs['retention.ms']).toBe('60000');
    expect(described.partitions).toHaveLength(3);
    expect(described.partitions.every((p: { replicas: number[] }) => p.replicas.length === 2 && new Set(p.replicas).size === 2)).toBe(true);
    expect((await samsa(['topic', 'list', ...bootstrap])).stdout.split('\n')).toEqual(expect.arrayContaining(['cli', 'orders']));

    const produced = await samsa(['produce', 'cli', '--key-separator', ':', ...bootstrap], 'k1:hello\nk2:world\nk1:again\n');
    expect(produced.code).toBe(0);
    const consumed = await samsa(['consume', 'cli', '--from-beginning', '--max', '3', '--json', ...bootstrap]);
    const lines = consumed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { key: string; value: string; partition: number });
    expect(lines.map((l) => `${l.key}:${l.value}`).sort()).toEqual(['k1:again', 'k1:hello', 'k2:world']);
    const k1 = lines.filter((l) => l.key === 'k1');
    expect(k1[0]!.partition).toBe(k1[1]!.partition);
    expect(k1.map((l) => l.value)).toEqual(['hello', 'again']);

    const logDirs = (): string[] => cluster.brokers.flatMap((b) => fs.readdirSync(b.dataDir).filter((name) => name.startsWith('cli-')));
    expect(logDirs().sort()).toEqual(['cli-0', 'cli-0', 'cli-1', 'cli-1', 'cli-2', 'cli-2']); // 3 partitions x 2 replicas
    expect((await samsa(['topic', 'delete', 'cli', ...bootstrap])).code).toBe(0);
    await waitFor('log directories removed on every broker', () => logDirs().length === 0, 15_000);
    expect((await samsa(['topic', 'list', ...bootstrap])).stdout.split('\n')).not.toContain('cli');
    const missing = await samsa(['consume', 'cli', '--max', '1', ...bootstrap]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^UNKNOWN_TOPIC_OR_PARTITION: cli/) });
  });
});
