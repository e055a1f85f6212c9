/**
 * Consumer groups with real processes (a coordinator, 3 brokers, kafkajs consumers as child
 * processes, kcat -G): the Kafka quick start consumer works unchanged; two members split six
 * partitions and one takes over when the other is SIGKILLed, resuming from the committed
 * offsets; two kcat members split a topic and one takes over when the other stops; committed
 * offsets survive the SIGKILL of the group coordinator's broker and a restart of every broker.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { BrokerHandle, startBroker } from '../helpers/cluster';
import { canBind, freePort, kill, REPO_ROOT, RunningProcess, spawnProcess, startCoordinator, stopAll, tempDir, waitFor } from '../helpers/processes';
import { createTopicWith, produceWith } from '../helpers/kafkajs';

jest.setTimeout(240_000);

const QUICKSTART_PORT = 9092;
let coordinatorUrl: string;
const brokers: BrokerHandle[] = [];

/** Shorter initial rebalance delay than Kafka's 3 s keeps the test quick; everything else is default. */
const BROKER_ARGS = ['--group-initial-rebalance-delay-ms', '500'];

beforeAll(async () => {
  coordinatorUrl = (await startCoordinator()).url;
  // Broker 1 on 9092 when it is free, so the quick start runs with its own address.
  const firstPort = (await canBind(QUICKSTART_PORT)) ? QUICKSTART_PORT : await freePort();
  brokers.push(await startBroker(coordinatorUrl, 1, { port: firstPort, extraArgs: BROKER_ARGS }));
  for (const id of [2, 3]) brokers.push(await startBroker(coordinatorUrl, id, { extraArgs: BROKER_ARGS }));
});
afterAll(async () => {
  await stopAll();
});

const alive = (): BrokerHandle[] => brokers.filter((b) => b.process.child.exitCode === null && b.process.child.signalCode === null);
const bootstrap = (): string => alive().map((b) => `127.0.0.1:${b.port}`).join(',');
const kafka = (): Kafka => new Kafka({ brokers: bootstrap().split(','), clientId: 'groups-test', logLevel: logLevel.NOTHING });

const createTopic = (topic: string, partitions: number): Promise<void> => createTopicWith(kafka(), topic, partitions, 3);

const produce = (topic: string, values: Array<{ value: string; partition: number }>): Promise<void> => produceWith(kafka(), topic, values);

interface Line {
  event: string;
  partitions?: number[];
  partition?: number;
  offset?: number;
  value?: string;
}

function lines(member: RunningProcess): Line[] {
  return member.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Line);
}

function lastAssignment(member: RunningProcess): number[] | null {
  const assigned = lines(member).filter((line) => line.event === 'assigned');
  return assigned.length === 0 ? null : assigned[assigned.length - 1]!.partitions!;
}

function spawnMember(topic: string, groupId: string): RunningProcess {
  return spawnProcess(process.execPath, [path.join(REPO_ROOT, 'test', 'fixtures', 'group-consumer.js'), bootstrap(), topic, groupId]);
}

async function coordinatorOf(groupId: string): Promise<number> {
  const connection = await KafkaConnection.connect('127.0.0.1', alive()[0]!.port, { requestTimeoutMs: 15_000 });
  try {
    return await waitFor(`coordinator of ${groupId}`, async () => {
      const answer = await connection.request<{ errorCode: number; nodeId: number }>(ApiKey.FindCoordinator, 2, { key: groupId, keyType: 0 });
      return answer.errorCode === 0 ? answer.nodeId : null;
    }, 30_000);
  } finally {
    connection.close();
  }
}

test('the Kafka quick start consumer prints the message', async () => {
  await createTopic('test-topic', 1);
  await produce('test-topic', [{ value: 'hello from the quick start', partition: 0 }]);
  let script = path.join(REPO_ROOT, 'test', 'fixtures', 'quickstart-consumer.js');
  if (brokers[0]!.port !== QUICKSTART_PORT) {
    // Port 9092 is taken on this machine: the same script with broker 1's port instead.
    const copy = path.join(tempDir('quickstart'), 'quickstart-consumer.js');
    fs.writeFileSync(copy, fs.readFileSync(script, 'utf8').replace("require('kafkajs')", `require(${JSON.stringify(require.resolve('kafkajs'))})`).replace('localhost:9092', `localhost:${brokers[0]!.port}`));
    script = copy;
  }
  const consumer = spawnProcess(process.execPath, [script]);
  try {
    await waitFor('the quick start consumer prints the message', () => consumer.output().includes('hello from the quick start'), 60_000);
  } finally {
    await kill(consumer);
  }
});

test('two kafkajs members split 6 partitions 3/3; after a SIGKILL the other owns all 6 and resumes from the committed offsets', async () => {
  const topic = 'split-orders';
  await createTopic(topic, 6);
  const first = Array.from({ length: 600 }, (_, i) => ({ value: `v-${i}`, partition: i % 6 }));
  await produce(topic, first);
  const a = spawnMember(topic, 'split-group');
  const b = spawnMember(topic, 'split-group');
  const seen = (): Set<string> => new Set([...lines(a), ...lines(b)].filter((line) => line.event === 'message').map((line) => line.value!));
  await waitFor('a 3/3 split', () => {
    const [pa, pb] = [lastAssignment(a), lastAssignment(b)];
    return pa !== null && pb !== null && pa.length === 3 && pb.length === 3 && new Set([...pa, ...pb]).size === 6;
  }, 60_000);
  await waitFor('every first-round record read', () => seen().size === 600, 60_000);
  const takenOver = lastAssignment(a)!;
  // What A consumed has been committed (kafkajs commits after each batch): wait until B's takeover can only resume past it.
  await kill(a, 'SIGKILL');
  const second = Array.from({ length: 600 }, (_, i) => ({ value: `v-${600 + i}`, partition: i % 6 }));
  await produce(topic, second);
  await waitFor('the survivor owns all 6 partitions', () => lastAssignment(b)?.length === 6, 60_000);
  await waitFor('every record read by one member or the other', () => seen().size === 1200, 60_000);
  // B resumed A's partitions from A's commits, not from the beginning: its first read of each is past offset 0.
  const bLines = lines(b);
  const takeoverAt = bLines.map((line) => line.event === 'assigned' && line.partitions!.length === 6).lastIndexOf(true);
  for (const partition of takenOver) {
    const firstRead = bLines.slice(takeoverAt).find((line) => line.event === 'message' && line.partition === partition);
    expect(firstRead).toBeDefined();
    expect(firstRead!.offset).toBeGreaterThanOrEqual(100);
  }
  await kill(b, 'SIGTERM');
});

test('kcat -G: two members split the topic; when one stops the other takes its partitions over', async () => {
  const topic = 'kcat-orders';
  await createTopic(topic, 6);
  const kcatMember = (): RunningProcess => spawnProcess('kcat', ['-u', '-b', bootstrap(), '-G', 'kcat-group', topic, '-f', 'record %p %o %s\n', '-X', 'auto.offset.reset=earliest', '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=500']);
  const assigned = (member: RunningProcess): number[] | null => {
    const found = [...member.output().matchAll(/rebalanced \(memberid [^)]*\): assigned: ([^\n]*)/g)];
    if (found.length === 0) return null;
    return [...found[found.length - 1]![1]!.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort((x, y) => x - y);
  };
  const one = kcatMember();
  const two = kcatMember();
  await waitFor('two kcat members with 3 partitions each', () => {
    const [p1, p2] = [assigned(one), assigned(two)];
    return p1 !== null && p2 !== null && p1.length === 3 && p2.length === 3 && new Set([...p1, ...p2]).size === 6;
  }, 90_000);
  const [p1, p2] = [assigned(one)!, assigned(two)!];
  await produce(topic, Array.from({ length: 60 }, (_, i) => ({ value: `k-${i}`, partition: i % 6 })));
  const records = (member: RunningProcess): Array<{ partition: number; value: string }> => [...member.output().matchAll(/^record (\d+) (\d+) (\S+)$/gm)].map((m) => ({ partition: Number(m[1]), value: m[3]! }));
  await waitFor('each kcat member reads its own partitions', () => records(one).length + records(two).length >= 60, 60_000).catch((error: Error) => {
    throw new Error(`${error.message}\n--- member one:\n${one.output().slice(-3000)}\n--- member two:\n${two.output().slice(-3000)}`);
  });
  expect(records(one).every((r) => p1.includes(r.partition))).toBe(true);
  expect(records(two).every((r) => p2.includes(r.partition))).toBe(true);
  await kill(two, 'SIGTERM'); // kcat leaves the group on SIGTERM
  await waitFor('the remaining kcat member owns all 6', () => assigned(one)?.length === 6, 60_000);
  await produce(topic, Array.from({ length: 60 }, (_, i) => ({ value: `k2-${i}`, partition: i % 6 })));
  await waitFor('the remaining member reads the stopped one\'s partitions', () => records(one).filter((r) => r.value.startsWith('k2-')).length === 60, 60_000);
  await kill(one, 'SIGTERM');
});

test('committed offsets survive the SIGKILL of the group coordinator\'s broker and a restart of every broker', async () => {
  const topic = 'durable-orders';
  const groupId = 'durable-group';
  await createTopic(topic, 3);
  const admin = kafka().admin();
  await admin.connect();
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '11' }, { partition: 1, offset: '22' }, { partition: 2, offset: '33' }] });
  await admin.disconnect();
  const expected = [{ partition: 0, offset: '11' }, { partition: 1, offset: '22' }, { partition: 2, offset: '33' }];
  const committed = async (): Promise<Array<{ partition: number; offset: string }>> => {
    const reader = kafka().admin();
    await reader.connect();
    try {
      const [found] = await reader.fetchOffsets({ groupId, topics: [topic] });
      return found!.partitions.map(({ partition, offset }) => ({ partition, offset })).sort((x, y) => x.partition - y.partition);
    } finally {
      await reader.disconnect();
    }
  };
  expect(await committed()).toEqual(expected);

  const coordinatorId = await coordinatorOf(groupId);
  const victim = brokers.find((b) => b.id === coordinatorId)!;
  await kill(victim.process, 'SIGKILL');
  await waitFor('the group served by another broker', async () => (await coordinatorOf(groupId)) !== coordinatorId, 60_000);
  await waitFor('the offsets read back from the new coordinator', async () => JSON.stringify(await committed().catch(() => null)) === JSON.stringify(expected), 60_000);

  // Every broker down (SIGKILL), then all back on their ports and data.
  for (const broker of alive()) await kill(broker.process, 'SIGKILL');
  for (let i = 0; i < brokers.length; i++) {
    const old = brokers[i]!;
    brokers[i] = await startBroker(coordinatorUrl, old.id, { port: old.port, dataDir: old.dataDir, extraArgs: BROKER_ARGS });
  }
  await waitFor('the offsets read back after a full restart', async () => JSON.stringify(await committed().catch(() => null)) === JSON.stringify(expected), 90_000);
});
