/**
 * Brokers started with --coordinator-auth lock the cluster's tree: a 2-broker cluster works for
 * kafkajs as usual (topic creation, produce, a consumer group, topic deletion), every znode the
 * brokers created carries digest:<broker>:cdrwa + world:anyone:r, and a session without the
 * brokers' credentials reads the tree but cannot change it. The CLI's one direct tree write
 * (topic elect-leaders) needs the credentials too.
 *
 * The cluster lives under a chroot, as README "Access control" recommends: deleting a node needs
 * DELETE on its parent, and the coordinator's root is open to everyone (as ZooKeeper's), so
 * leaves directly under / (/controller, /controller_epoch) could be deleted by anyone. Under a
 * chroot their parent is the brokers' own locked /kafka.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { digestId } from '../../shared/coordinator/acl';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { childPath } from '../../shared/coordinator/paths';
import { Acl, PERMS, PERMS_ALL } from '../../shared/coordinator/protocol';
import { BrokerHandle, startBroker } from '../helpers/cluster';
import { code } from '../helpers/coordinator';
import { createTopicWith } from '../helpers/kafkajs';
import { freePort, RunningProcess, runSamsa, spawnSamsa, startCoordinator, stopAll, tempDir, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const CREDENTIALS = 'broker:brokerpw';
const BROKER_ACL: Acl[] = [{ scheme: 'digest', id: digestId(CREDENTIALS), perms: PERMS_ALL }, { scheme: 'world', id: 'anyone', perms: PERMS.read }];
const TOPIC = 'acl-orders';

const CHROOT = '/kafka';
let coordinatorUrl: string;
let bootstrap: string;
const brokers: BrokerHandle[] = [];
let authenticated: CoordinatorClient;
let anonymous: CoordinatorClient;

const samsa = (args: string[]) => runSamsa(args, {}, 60_000);

/** `path` and every path below it. */
async function allPaths(client: CoordinatorClient, path: string): Promise<string[]> {
  const { children } = await client.getChildren(path);
  const paths = [path];
  for (const name of children) paths.push(...(await allPaths(client, childPath(path, name))));
  return paths;
}

beforeAll(async () => {
  coordinatorUrl = (await startCoordinator()).url;
  const brokerArgs = ['--coordinator-auth', CREDENTIALS, '--offsets-topic-partitions', '3', '--group-initial-rebalance-delay-ms', '100'];
  for (const id of [1, 2]) brokers.push(await startBroker(`${coordinatorUrl}${CHROOT}`, id, { extraArgs: brokerArgs }));
  bootstrap = brokers.map((b) => `127.0.0.1:${b.port}`).join(',');
  // The test's sessions see the whole tree (paths below name the chroot).
  authenticated = new CoordinatorClient({ servers: [coordinatorUrl], auth: [{ scheme: 'digest', auth: CREDENTIALS }] });
  anonymous = new CoordinatorClient({ servers: [coordinatorUrl] });
  await authenticated.connect();
  await anonymous.connect();
});

afterAll(async () => {
  await authenticated?.close();
  await anonymous?.close();
  await stopAll();
});

test('kafkajs creates a topic, produces and consumes in a group, as on an open cluster', async () => {
  const kafka = new Kafka({ brokers: bootstrap.split(','), clientId: 'acl-test', logLevel: logLevel.NOTHING });
  await createTopicWith(kafka, TOPIC, 2, 2);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const sent = Array.from({ length: 20 }, (_, i) => `m${i}`);
  await producer.send({ topic: TOPIC, acks: -1, messages: sent.map((value) => ({ value })) });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'acl-group' });
  const received: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });
    await waitFor('every record consumed', () => received.length >= sent.length, 60_000);
  } finally {
    await consumer.disconnect();
  }
  expect(received.sort()).toEqual([...sent].sort());
});

test('every znode the brokers created is writable by the brokers only and readable by all', async () => {
  const paths = await allPaths(authenticated, CHROOT);
  // The brokers' whole layout is there (DESIGN.md "The tree"), the consumer group's offsets topic too.
  for (const expected of ['/brokers/ids/1', '/brokers/ids/2', '/controller', '/controller_epoch', '/cluster/id', `/brokers/topics/${TOPIC}/partitions/0/state`, `/config/topics/${TOPIC}`, '/admin/delete_topics', '/brokers/topics/__consumer_offsets']) {
    expect(paths).toContain(`${CHROOT}${expected}`);
  }
  // The chroot itself too: the brokers created it.
  expect(paths[0]).toBe(CHROOT);
  for (const path of paths) {
    const { acl } = await authenticated.getACL(path);
    expect({ path, acl }).toEqual({ path, acl: BROKER_ACL });
  }
  // Without ADMIN, the brokers' id shows redacted.
  expect((await anonymous.getACL(`${CHROOT}/brokers`)).acl).toEqual([{ scheme: 'digest', id: 'broker:x', perms: PERMS_ALL }, { scheme: 'world', id: 'anyone', perms: PERMS.read }]);
});

test('a session without the credentials reads the tree but cannot change it', async () => {
  const at = (path: string): string => `${CHROOT}${path}`;
  const state = at(`/brokers/topics/${TOPIC}/partitions/0/state`);
  const before = (await anonymous.getData(state)).data;
  expect(JSON.parse(before)).toMatchObject({ leader: expect.any(Number), isr: expect.any(Array) });
  expect(await code(anonymous.setData(state, '{"leader":-1}'))).toBe('NoAuth');
  expect(await code(anonymous.setData(at('/controller_epoch'), '999'))).toBe('NoAuth');
  expect(await code(anonymous.delete(at('/brokers/ids/1')))).toBe('NoAuth');
  expect(await code(anonymous.delete(at('/controller')))).toBe('NoAuth');
  expect(await code(anonymous.delete(at('/controller_epoch')))).toBe('NoAuth');
  expect(await code(anonymous.create(at('/brokers/topics/evil'), '{"partitions":{"0":[1]}}'))).toBe('NoAuth');
  expect(await code(anonymous.create(at(`/admin/delete_topics/${TOPIC}`), ''))).toBe('NoAuth');
  expect(await code(anonymous.setACL(at('/brokers'), [{ scheme: 'world', id: 'anyone', perms: PERMS_ALL }]))).toBe('NoAuth');
  expect(await code(anonymous.multi([{ op: 'setData', path: at('/controller_epoch'), data: '999', version: -1 }]))).toBe('NoAuth');
  expect((await anonymous.getData(state)).data).toBe(before);
  expect(await anonymous.exists(at('/brokers/ids/1'))).not.toBeNull();
  expect(await anonymous.exists(at('/controller'))).not.toBeNull();
  expect(await anonymous.exists(at('/brokers/topics/evil'))).toBeNull();
});

test('a broker without the credentials (or with others) refuses to start, saying why; the tree is untouched', async () => {
  const start = async (id: number, extraArgs: string[]): Promise<RunningProcess> => {
    const url = `${coordinatorUrl}${CHROOT}`;
    return spawnSamsa(['broker', '--id', String(id), '--port', String(await freePort()), '--host', '127.0.0.1', '--coordinator', url, '--data-dir', tempDir(`broker-${id}`), '--metrics-port', '0', ...extraArgs]);
  };
  const without = await start(3, []);
  expect(await without.exited).toBe(1);
  expect(without.output()).toMatch(/NoAuth: \/brokers\/ids\/3 .*the cluster's tree is locked; start this broker with --coordinator-auth/);
  const wrong = await start(4, ['--coordinator-auth', 'broker:wrong']);
  expect(await wrong.exited).toBe(1);
  expect(wrong.output()).toMatch(/NoAuth: .*differs from the credentials the tree was locked with/);
  expect((await anonymous.getChildren(`${CHROOT}/brokers/ids`)).children.sort()).toEqual(['1', '2']);
});

test('topic elect-leaders writes the tree: NoAuth without --coordinator-auth, done with it', async () => {
  const common = ['topic', 'elect-leaders', TOPIC, '--bootstrap', bootstrap, '--coordinator', `${coordinatorUrl}${CHROOT}`];
  const refused = await samsa(common);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^NoAuth: \/admin\/preferred_replica_election .*--coordinator-auth/);
  const done = await samsa([...common, '--coordinator-auth', CREDENTIALS, '--json']);
  expect(done.code).toBe(0);
  expect(JSON.parse(done.stdout)).toMatchObject({ topic: TOPIC, partitions: [expect.objectContaining({ partition: 0 }), expect.objectContaining({ partition: 1 })] });
  // The controller (a broker) removed the request znode.
  expect(await anonymous.exists(`${CHROOT}/admin/preferred_replica_election`)).toBeNull();
});

test('topic deletion through Kafka still works: the brokers delete what they locked', async () => {
  const kafka = new Kafka({ brokers: bootstrap.split(','), clientId: 'acl-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [TOPIC] });
  } finally {
    await admin.disconnect();
  }
  await waitFor('the topic gone from the tree', async () => (await anonymous.exists(`${CHROOT}/brokers/topics/${TOPIC}`)) === null && (await anonymous.exists(`${CHROOT}/admin/delete_topics/${TOPIC}`)) === null, 30_000);
});
