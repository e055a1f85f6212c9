/**
 * Replication with real processes (a coordinator and 3 brokers, kafkajs, kcat, the repo's codec
 * client): a leader killed under an acks=all load loses no acknowledged record and producers
 * carry on; a paused follower leaves the ISR (acks=all with min.insync.replicas=3 is refused)
 * and rejoins after it resumes; a broker whose log diverged truncates exactly its divergent
 * suffix when it returns; a controlled shutdown hands leaderships over before the process
 * exits; a forged replica id is refused.
 */
import { Kafka, logLevel } from 'kafkajs';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import { buildRecordBatch } from '../../shared/kafka/record-batch';
import { BrokerHandle, startBroker, startCluster, TestCluster } from '../helpers/cluster';
import { kill, runCommand, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(180_000);

interface State {
  leader: number;
  leaderEpoch: number;
  isr: number[];
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

const kafka = (): Kafka => new Kafka({ brokers: cluster.brokers.filter((b) => b.process.child.exitCode === null && b.process.child.signalCode === null).map((b) => `127.0.0.1:${b.port}`), clientId: 'replication-test', logLevel: logLevel.NOTHING });

async function stateOf(topic: string, partition: number): Promise<State> {
  return JSON.parse((await coordinator.getData(`/brokers/topics/${topic}/partitions/${partition}/state`)).data) as State;
}

function broker(id: number): BrokerHandle {
  return cluster.brokers.find((b) => b.id === id)!;
}

async function restart(id: number): Promise<void> {
  const old = broker(id);
  const fresh = await startBroker(cluster.coordinatorUrl, id, { port: old.port, dataDir: old.dataDir });
  cluster.brokers[cluster.brokers.indexOf(old)] = fresh;
}

async function createTopic(topic: string, partitions: number, minIsr: number): Promise<void> {
  // A broker paused or restarted by the previous test registers again first.
  await waitFor('3 registered brokers', async () => (await coordinator.getChildren('/brokers/ids')).children.length === 3, 30_000);
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: String(minIsr) }] }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  for (let p = 0; p < partitions; p++) await waitFor(`${topic}-${p} has a full ISR`, async () => (await stateOf(topic, p)).isr.length === 3, 15_000);
}

/** Every record of a partition through kcat (from its leader): offset → value. */
async function readPartition(topic: string, partition: number): Promise<Map<number, string>> {
  const bootstrap = cluster.brokers.filter((b) => b.process.child.exitCode === null && b.process.child.signalCode === null).map((b) => `127.0.0.1:${b.port}`).join(',');
  const result = await runCommand('kcat', ['-b', bootstrap, '-C', '-t', topic, '-p', String(partition), '-e', '-o', 'beginning', '-q', '-f', '%o %s\\n']);
  expect(result.code).toBe(0);
  return new Map(result.stdout.split('\n').filter(Boolean).map((line) => {
    const [offset, value] = line.split(' ');
    return [Number(offset), value!];
  }));
}

/** Each replica's log end offset (ListOffsets with the debugging replica id), by broker id. */
async function logEnds(topic: string, partition: number, ids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const id of ids) {
    const connection = await KafkaConnection.connect('127.0.0.1', broker(id).port);
    try {
      const response = await connection.request<{ topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint }> }> }>(ApiKey.ListOffsets, 3, {
        replicaId: -2, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
      });
      const entry = response.topics[0]!.partitions[0]!;
      expect(entry.errorCode).toBe(KafkaError.NONE);
      out.set(id, Number(entry.offset));
    } finally {
      connection.close();
    }
  }
  return out;
}

/** One Produce straight to broker `id` (the repo's codec client): the partition's error code and base offset. */
async function produceTo(id: number, topic: string, acks: number, value: string): Promise<{ errorCode: number; baseOffset: number }> {
  const connection = await KafkaConnection.connect('127.0.0.1', broker(id).port, { requestTimeoutMs: 15_000 });
  try {
    const response = await connection.request<{ responses: Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: bigint }> }> }>(ApiKey.Produce, 7, {
      transactionalId: null, acks, timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch([{ key: null, value: Buffer.from(value) }]) }] }],
    });
    const entry = response.responses[0]!.partitionResponses[0]!;
    return { errorCode: entry.errorCode, baseOffset: Number(entry.baseOffset) };
  } finally {
    connection.close();
  }
}

test('killing a leader under an acks=all kafkajs load loses no acknowledged record; producers carry on on the new leader', async () => {
  await createTopic('load', 3, 2);
  const producer = kafka().producer({ retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 } });
  await producer.connect();
  const acknowledged: Array<{ partition: number; offset: number; value: string }> = [];
  let failures = 0;
  let stop = false;
  let seq = 0;
  const deadline = Date.now() + 60_000;
  const load = (async () => {
    while (!stop && Date.now() < deadline && seq < 20_000) {
      const value = `v${seq++}`;
      try {
        const [meta] = await producer.send({ topic: 'load', acks: -1, messages: [{ value, partition: seq % 3 }] });
        acknowledged.push({ partition: meta!.partition, offset: Number(meta!.baseOffset), value });
      } catch {
        failures++;
      }
    }
  })();
  await waitFor('300 acknowledged records', () => acknowledged.length >= 300, 30_000);
  const victim = (await stateOf('load', 0)).leader;
  const before = acknowledged.length;
  await kill(broker(victim).process);
  await waitFor('a new leader for load-0', async () => {
    const state = await stateOf('load', 0);
    return state.leader >= 0 && state.leader !== victim;
  }, 15_000);
  await waitFor('300 more acknowledged records after the kill', () => acknowledged.length >= before + 300, 45_000);
  stop = true;
  await load;
  await producer.disconnect();
  await restart(victim);
  for (let p = 0; p < 3; p++) await waitFor(`load-${p} ISR full again`, async () => (await stateOf('load', p)).isr.length === 3, 30_000);

  for (let p = 0; p < 3; p++) {
    const log = await readPartition('load', p);
    const mine = acknowledged.filter((a) => a.partition === p);
    const missing = mine.filter((a) => log.get(a.offset) !== a.value);
    expect(missing).toEqual([]);
    // The replicas are identical in length once the ISR is full again.
    const ends = await logEnds('load', p, [1, 2, 3]);
    expect(new Set(ends.values()).size).toBe(1);
  }
  expect(acknowledged.length).toBeGreaterThanOrEqual(600);
  // Failed sends are allowed (retries may give out around the kill), never lost acknowledged ones.
  expect(failures).toBeLessThan(acknowledged.length);
});

test('a paused follower leaves the ISR (acks=all with min.insync.replicas=3 is refused), and rejoins after it resumes', async () => {
  await createTopic('strict', 1, 3);
  const state = await stateOf('strict', 0);
  const follower = state.isr.find((id) => id !== state.leader)!;
  // Straight to the leader with the codec client: a client's metadata refresh could pick the paused broker and hang.
  expect((await produceTo(state.leader, 'strict', -1, 'before')).errorCode).toBe(KafkaError.NONE);
  process.kill(broker(follower).process.pid, 'SIGSTOP');
  try {
    await waitFor(`broker ${follower} out of the ISR`, async () => !(await stateOf('strict', 0)).isr.includes(follower), 20_000);
    expect((await produceTo(state.leader, 'strict', -1, 'refused')).errorCode).toBe(KafkaError.NOT_ENOUGH_REPLICAS);
    // acks=1 does not ask for the ISR.
    expect((await produceTo(state.leader, 'strict', 1, 'acks1')).errorCode).toBe(KafkaError.NONE);
  } finally {
    process.kill(broker(follower).process.pid, 'SIGCONT');
  }
  await waitFor(`broker ${follower} back in the ISR`, async () => (await stateOf('strict', 0)).isr.includes(follower), 30_000);
  expect((await produceTo(state.leader, 'strict', -1, 'after')).errorCode).toBe(KafkaError.NONE);
  const values = [...(await readPartition('strict', 0)).values()];
  expect(values).toContain('before');
  expect(values).toContain('after');
  expect(values).not.toContain('refused');
});

test('a leader whose log diverged (acks=1 records its followers never got) truncates exactly that suffix when it returns', async () => {
  await createTopic('diverge', 1, 1);
  const producer = kafka().producer({ retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 } });
  await producer.connect();
  for (let i = 0; i < 20; i++) await producer.send({ topic: 'diverge', acks: -1, messages: [{ value: `committed-${i}` }] });
  const { leader: oldLeader } = await stateOf('diverge', 0);
  const followers = [1, 2, 3].filter((id) => id !== oldLeader);
  // Followers paused for a moment (well within the session timeout): the leader takes acks=1
  // records they never copy, then dies.
  for (const id of followers) process.kill(broker(id).process.pid, 'SIGSTOP');
  const divergent: number[] = [];
  try {
    const direct = new Kafka({ brokers: [`127.0.0.1:${broker(oldLeader).port}`], clientId: 'diverge', logLevel: logLevel.NOTHING }).producer({ retry: { retries: 0 } });
    await direct.connect();
    for (let i = 0; i < 5; i++) divergent.push(Number((await direct.send({ topic: 'diverge', acks: 1, messages: [{ value: `lost-${i}` }] }))[0]!.baseOffset));
    await direct.disconnect();
    await kill(broker(oldLeader).process);
  } finally {
    for (const id of followers) process.kill(broker(id).process.pid, 'SIGCONT');
  }
  expect(divergent).toEqual([20, 21, 22, 23, 24]);
  await waitFor('a new leader', async () => {
    const state = await stateOf('diverge', 0);
    return state.leader >= 0 && state.leader !== oldLeader;
  }, 15_000);
  // The new leader writes other records at the offsets the old one used. (A follower may have had
  // lost-0 in its socket buffer when it was paused: then the new leader has it too, legitimately.)
  const newValues: string[] = [];
  for (let i = 0; i < 8; i++) {
    newValues.push(`new-${i}`);
    await producer.send({ topic: 'diverge', acks: -1, messages: [{ value: `new-${i}` }] });
  }
  await producer.disconnect();
  const onNewLeader = [...(await readPartition('diverge', 0)).entries()];
  expect(onNewLeader.slice(0, 20).map(([, value]) => value)).toEqual(Array.from({ length: 20 }, (_, i) => `committed-${i}`));
  expect(onNewLeader.slice(-8).map(([, value]) => value)).toEqual(newValues);
  expect(onNewLeader.map(([, value]) => value)).not.toContain('lost-4'); // never copied: the followers were paused

  await restart(oldLeader);
  await waitFor('the old leader back in the ISR', async () => (await stateOf('diverge', 0)).isr.includes(oldLeader), 30_000);
  expect(broker(oldLeader).process.output()).toMatch(/"msg":"log\.truncated"/);
  const ends = await logEnds('diverge', 0, [1, 2, 3]);
  expect([...ends.values()]).toEqual([onNewLeader.length, onNewLeader.length, onNewLeader.length]);
  // It was the first replica: the controller's preferred election makes it leader again, so this read is of its log.
  await waitFor('preferred leadership back on the first replica', async () => (await stateOf('diverge', 0)).leader === oldLeader, 30_000);
  expect([...(await readPartition('diverge', 0)).entries()]).toEqual(onNewLeader);
});

test('a controlled shutdown (SIGTERM) moves every leadership to another in-sync replica before the process exits', async () => {
  await createTopic('handover', 6, 2);
  const led = async (id: number): Promise<number[]> => {
    const out: number[] = [];
    for (let p = 0; p < 6; p++) if ((await stateOf('handover', p)).leader === id) out.push(p);
    return out;
  };
  const victim = cluster.brokers.find((b) => b.process.child.exitCode === null)!.id;
  const partitions = await led(victim);
  expect(partitions.length).toBeGreaterThan(0);
  const epochs = await Promise.all(partitions.map(async (p) => (await stateOf('handover', p)).leaderEpoch));
  process.kill(broker(victim).process.pid, 'SIGTERM');
  await broker(victim).process.exited;
  const output = broker(victim).process.output();
  expect(output).toMatch(/"movableLeft":0,"msg":"broker\.controlled_shutdown_done"/);
  expect(output.indexOf('broker.controlled_shutdown_done')).toBeLessThan(output.indexOf('"msg":"broker.stopped"'));
  // Right after the exit: other leaders, new epochs, never offline.
  for (const [i, p] of partitions.entries()) {
    const state = await stateOf('handover', p);
    expect(state.leader).not.toBe(victim);
    expect(state.leader).toBeGreaterThanOrEqual(0);
    expect(state.leaderEpoch).toBe(epochs[i]! + 1);
    expect(state.isr).not.toContain(victim);
  }
  await restart(victim);
  for (let p = 0; p < 6; p++) await waitFor(`handover-${p} ISR full`, async () => (await stateOf('handover', p)).isr.length === 3, 30_000);
});

test('only an assigned follower may fetch as a replica (a forged replica id is refused)', async () => {
  await createTopic('forged', 1, 1);
  const { leader } = await stateOf('forged', 0);
  const connection = await KafkaConnection.connect('127.0.0.1', broker(leader).port);
  try {
    for (const replicaId of [99, leader]) {
      const response = await connection.request<{ responses: Array<{ partitions: Array<{ errorCode: number }> }> }>(ApiKey.Fetch, 11, {
        replicaId, maxWaitMs: 0, minBytes: 0, maxBytes: 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'forged', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1024 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      expect(response.responses[0]!.partitions[0]!.errorCode).toBe(KafkaError.CLUSTER_AUTHORIZATION_FAILED);
    }
  } finally {
    connection.close();
  }
});
