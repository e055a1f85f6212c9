/**
 * The console's consumer-group pages and znode tree browser in a real browser (Debian Chromium
 * through playwright-core) against a real 3-broker cluster:
 *  - a kafkajs consumer group shows in #/groups, and #/groups/<id> shows its member (client id,
 *    assigned partitions) and, after records produced while it is paused, the lag kafkajs's own
 *    admin client computes (end offsets − committed offsets);
 *  - #/tree/brokers/ids lists 1, 2, 3 and a killed broker's child disappears from the open
 *    page; a znode made with `samsa create` appears live in the open #/tree page, its data shows
 *    and follows `samsa set`, its deletion and its re-creation, all without a reload;
 *  - after the console's own coordinator session expired (the console stopped longer than its
 *    session timeout), the open tree page follows its znode on the console's new session;
 *  - with a broker dead, the group list still answers from the live brokers;
 *  - the tree API's edges: 404 for a missing znode, 400 for a bad path (also on the event
 *    stream), 503 once TREE_STREAMS_MAX streams are open.
 */
import http from 'http';
import { Consumer, Kafka, logLevel } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { TREE_STREAMS_MAX } from '../../console/server/znode-view';
import { launchBrowser } from '../helpers/browser';
import { startCluster, TestCluster } from '../helpers/cluster';
import { ConsoleHandle, startConsole } from '../helpers/console';
import { createTopicWith, produceWith } from '../helpers/kafkajs';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { kill, runCommand, SAMSA_BIN, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(240_000);

const TOPIC = 'console-orders';
const PARTITIONS = 3;
const GROUP = 'console-billing';
const CLIENT_ID = 'console-groups-test';
/** A shorter first-rebalance delay than Kafka's 3 s keeps the test quick. */
const BROKER_ARGS = ['--group-initial-rebalance-delay-ms', '500'];
const UI_TIMEOUT_MS = 20_000;

let cluster: TestCluster;
let consoleHandle: ConsoleHandle;
let browser: Browser;
let page: Page;
let kafka: Kafka;
let consumer: Consumer | null = null;

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3, brokerArgs: BROKER_ARGS });
  consoleHandle = await startConsole(cluster);
  browser = await launchBrowser();
  page = await browser.newPage();
  kafka = new Kafka({ brokers: [cluster.bootstrap], clientId: CLIENT_ID, logLevel: logLevel.NOTHING });
});

afterAll(async () => {
  await consumer?.disconnect().catch(() => undefined);
  await browser?.close();
  await stopAll();
});

function samsa(args: string[]): ReturnType<typeof runCommand> {
  return runCommand(process.execPath, [SAMSA_BIN, ...args], undefined, { timeoutMs: 30_000, env: { SAMSA_LOG_PRETTY: 'false' } });
}

async function getJson(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${consoleHandle.url}${path}`);
  return { status: response.status, body: await response.json() };
}

/** `count` records on each of the given partitions. */
async function produce(perPartition: Record<number, number>, tag: string): Promise<void> {
  const messages = Object.entries(perPartition).flatMap(([partition, count]) => Array.from({ length: count }, (_, i) => ({ partition: Number(partition), value: `${tag}-${partition}-${i}` })));
  await produceWith(kafka, TOPIC, messages);
}

/** The group's lag per partition as kafkajs's admin sees it: end offset (high watermark) − committed offset. */
async function lagByKafkajs(): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(TOPIC);
    const [committed] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const lags = new Map<number, number>();
    for (const end of ends) {
      const offset = Number(committed!.partitions.find((p) => p.partition === end.partition)!.offset);
      lags.set(end.partition, Number(end.high) - offset);
    }
    return lags;
  } finally {
    await admin.disconnect();
  }
}

test('a kafkajs group shows in #/groups, and #/groups/<id> shows its member, its partitions and the lag kafkajs computes', async () => {
  await createTopicWith(kafka, TOPIC, PARTITIONS, 3);
  await produce({ 0: 10, 1: 10, 2: 10 }, 'first');
  consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let seen = 0;
  await consumer.run({ eachMessage: async () => void seen++ });
  await waitFor('the 30 records consumed', () => seen >= 30, 60_000);
  // kafkajs commits after each batch: wait until every partition's commit reached the end.
  await waitFor('the commits at the end of every partition', async () => [...(await lagByKafkajs()).values()].every((lag) => lag === 0), 30_000, 200);

  // Paused: still a member holding its partitions, but no longer consuming (nor committing).
  consumer.pause([{ topic: TOPIC }]);
  await produce({ 0: 7, 1: 5 }, 'while-paused');
  const expected = await lagByKafkajs();
  expect([...expected.entries()].sort()).toEqual([
    [0, 7],
    [1, 5],
    [2, 0],
  ]);

  await page.goto(`${consoleHandle.url}/#/groups`);
  const row = page.locator(`[data-testid="group-row-${GROUP}"]`);
  await row.waitFor({ timeout: UI_TIMEOUT_MS });
  // The list refreshes itself every few seconds: wait for the lag of the paused group.
  await page.waitForFunction((group) => document.querySelector(`[data-testid="group-row-${group}"]`)?.getAttribute('data-lag') === '12', GROUP, { timeout: UI_TIMEOUT_MS });
  expect(await row.getAttribute('data-state')).toBe('Stable');
  expect(await row.getAttribute('data-members')).toBe('1');

  await row.locator('a').click();
  await page.waitForFunction(() => location.hash === '#/groups/console-billing', undefined, { timeout: UI_TIMEOUT_MS });
  await page.locator('[data-testid="group-members"] tr[data-client-id]').waitFor({ timeout: UI_TIMEOUT_MS });
  const members = page.locator('[data-testid="group-members"] tr[data-client-id]');
  expect(await members.count()).toBe(1);
  expect(await members.first().getAttribute('data-client-id')).toBe(CLIENT_ID);
  expect(await members.first().locator('[data-testid="member-assignment"]').textContent()).toBe(`${TOPIC}: 0, 1, 2`);
  expect(await page.getAttribute('[data-testid="group-total-lag"]', 'data-lag')).toBe('12');
  for (const [partition, lag] of expected) {
    const offsetRow = page.locator(`[data-testid="group-offset-${TOPIC}-${partition}"]`);
    expect(await offsetRow.getAttribute('data-lag')).toBe(String(lag));
    expect(await offsetRow.getAttribute('data-committed')).toBe('10');
    expect(await offsetRow.getAttribute('data-end')).toBe(String(10 + lag));
  }

  // Resumed: the page, refreshing itself, sees the lag go back to 0.
  consumer.resume([{ topic: TOPIC }]);
  await page.waitForFunction(() => document.querySelector('[data-testid="group-total-lag"]')?.getAttribute('data-lag') === '0', undefined, { timeout: UI_TIMEOUT_MS });

  const unknown = await getJson('/api/groups/no-such-group');
  expect(unknown).toEqual({ status: 404, body: { error: expect.stringContaining('no-such-group does not exist') } });
});

test('the tree API: a znode with its Stat and sorted children; 404 for a missing one, 400 for a bad path (on the stream too)', async () => {
  const ids = await getJson('/api/tree?path=/brokers/ids');
  expect(ids.status).toBe(200);
  expect(ids.body).toMatchObject({ path: '/brokers/ids', children: ['1', '2', '3'], ephemeral: false, stat: { numChildren: 3, ephemeralOwner: '0' } });
  const one = await getJson('/api/tree?path=/brokers/ids/1');
  expect(one.body).toMatchObject({ ephemeral: true, json: { host: '127.0.0.1' } });
  expect(one.body.stat.ephemeralOwner).not.toBe('0');
  expect(Object.keys(one.body.stat).sort()).toEqual(['aversion', 'ctime', 'cversion', 'czxid', 'dataLength', 'ephemeralOwner', 'mtime', 'mzxid', 'numChildren', 'pzxid', 'version']);
  expect(await getJson('/api/tree?path=/no/such/node')).toEqual({ status: 404, body: { error: 'no znode at /no/such/node' } });
  expect(await getJson('/api/tree?path=brokers')).toEqual({ status: 400, body: { error: expect.stringContaining('path must start with /') } });
  expect(await getJson(`/api/tree/events?path=${encodeURIComponent('/a//b')}`)).toEqual({ status: 400, body: { error: expect.stringContaining('empty segment') } });
});

test(`at most ${TREE_STREAMS_MAX} open tree streams: one more gets a 503, and a slot frees when a stream closes`, async () => {
  const open: http.ClientRequest[] = [];
  const openStream = (): Promise<{ status: number; request: http.ClientRequest; body: Promise<string> }> =>
    new Promise((resolve, reject) => {
      const request = http.get(`${consoleHandle.url}/api/tree/events?path=/brokers`, (response) => {
        let text = '';
        const body = new Promise<string>((done) => {
          response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          response.on('end', () => done(text));
        });
        resolve({ status: response.statusCode ?? 0, request, body });
      });
      request.on('error', reject);
    });
  try {
    for (let i = 0; i < TREE_STREAMS_MAX; i++) {
      const stream = await openStream();
      open.push(stream.request);
      expect(stream.status).toBe(200);
    }
    const refused = await openStream();
    expect(refused.status).toBe(503);
    expect(JSON.parse(await refused.body)).toEqual({ error: expect.stringContaining('too many open znode streams') });
    open.pop()!.destroy();
    const again = await waitFor('a freed stream slot', async () => {
      const stream = await openStream();
      if (stream.status === 200) return stream;
      return null;
    }, 10_000, 100);
    open.push(again.request);
  } finally {
    for (const request of open) request.destroy();
  }
});

test('#/tree/brokers/ids lists the brokers live; a znode created, changed, deleted and created again shows in the open page', async () => {
  await page.goto(`${consoleHandle.url}/#/tree/brokers/ids`);
  for (const id of [1, 2, 3]) await page.locator(`[data-testid="znode-child-${id}"]`).waitFor({ timeout: UI_TIMEOUT_MS });
  expect(await page.getAttribute('[data-testid="znode-child-2"]', 'href')).toBe('#/tree/brokers/ids/2');
  expect(await page.textContent('[data-testid="znode-breadcrumbs"]')).toBe('/ › brokers › ids');
  // A mark on the window: still there at the end means no reload happened.
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

  await kill(cluster.brokers[2]!.process);
  // The broker's registration is ephemeral: it goes when the coordinator ends its session.
  await page.locator('[data-testid="znode-child-3"]').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
  expect(await page.locator('[data-testid="znode-children"] a').allTextContents()).toEqual(['1', '2']);

  // A broker's own znode: ephemeral, owner highlighted, JSON data pretty-printed.
  await page.click('[data-testid="znode-child-1"]');
  await page.waitForSelector('[data-testid="znode"][data-path="/brokers/ids/1"] [data-testid="znode-stat"]', { timeout: UI_TIMEOUT_MS });
  expect(await page.getAttribute('[data-testid="znode-ephemeral-owner"]', 'class')).toContain('row-warn');
  expect(await page.getAttribute('[data-testid="znode-data"]', 'data-json')).toBe('true');
  expect(JSON.parse((await page.textContent('[data-testid="znode-data"]'))!)).toMatchObject({ host: '127.0.0.1' });
  expect(await page.textContent('[data-testid="znode-data"]')).toContain('\n  "host"');

  await page.click('[data-testid="znode-breadcrumbs"] a >> text="/"');
  await page.locator('[data-testid="znode-child-brokers"]').waitFor({ timeout: UI_TIMEOUT_MS });
  expect(await page.locator('[data-testid="znode-child-console-test"]').count()).toBe(0);
  const server = ['--server', cluster.coordinatorUrl];
  expect(await samsa(['create', '/console-test', 'hello', ...server])).toMatchObject({ code: 0 });
  await page.locator('[data-testid="znode-child-console-test"]').waitFor({ timeout: UI_TIMEOUT_MS });

  await page.click('[data-testid="znode-child-console-test"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="znode"][data-path="/console-test"] [data-testid="znode-data"]')?.textContent === 'hello', undefined, { timeout: UI_TIMEOUT_MS });
  expect(await page.getAttribute('[data-testid="znode-ephemeral-owner"]', 'class')).not.toContain('row-warn');

  expect(await samsa(['set', '/console-test', '{"a":1}', ...server])).toMatchObject({ code: 0 });
  await page.waitForFunction(() => document.querySelector('[data-testid="znode-data"]')?.textContent === '{\n  "a": 1\n}', undefined, { timeout: UI_TIMEOUT_MS });
  expect(await page.textContent('[data-testid="stat-version"] td')).toBe('1');
  expect(await page.textContent('[data-testid="stat-dataLength"] td')).toBe('7');

  expect(await samsa(['create', '/console-test/child', ...server])).toMatchObject({ code: 0 });
  await page.locator('[data-testid="znode-child-child"]').waitFor({ timeout: UI_TIMEOUT_MS });

  expect(await samsa(['rm', '/console-test', '--recursive', ...server])).toMatchObject({ code: 0 });
  await page.locator('[data-testid="znode-missing"]').waitFor({ timeout: UI_TIMEOUT_MS });
  expect(await samsa(['create', '/console-test', 'back', ...server])).toMatchObject({ code: 0 });
  await page.waitForFunction(() => document.querySelector('[data-testid="znode-data"]')?.textContent === 'back', undefined, { timeout: UI_TIMEOUT_MS });

  // All of it without a reload.
  expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  expect(consoleHandle.process.output()).not.toContain('"msg":"console.request_failed"');

  // A path the server refuses (a control character): the page says why instead of retrying for ever.
  await page.goto(`${consoleHandle.url}/#/tree/bad%01name`);
  await page.locator('[data-testid="znode"] [role="alert"]', { hasText: 'invalid character U+0001' }).waitFor({ timeout: UI_TIMEOUT_MS });
  expect(await page.textContent('[data-testid="live-status"]')).toBe('not live');
});

test('after the console\'s coordinator session expired, the open tree page follows its znode on the new session', async () => {
  const server = ['--server', cluster.coordinatorUrl];
  await page.goto(`${consoleHandle.url}/#/tree/console-test`);
  await page.waitForFunction(() => document.querySelector('[data-testid="znode-data"]')?.textContent === 'back', undefined, { timeout: UI_TIMEOUT_MS });
  const observer = new CoordinatorClient({ servers: [cluster.coordinatorUrl] });
  await observer.connect();
  try {
    const sessions = (await observer.stats()).sessions;
    // Stopped, the console cannot ping: the coordinator expires its session after its timeout (10 s).
    process.kill(consoleHandle.process.pid, 'SIGSTOP');
    try {
      await waitFor('the console\'s session expired', async () => (await observer.stats()).sessions < sessions, 30_000, 250);
    } finally {
      process.kill(consoleHandle.process.pid, 'SIGCONT');
    }
    await waitFor('a new console session', () => consoleHandle.process.output().includes('"msg":"console.session_renewed"'), 30_000);
  } finally {
    await observer.close();
  }
  expect(await samsa(['set', '/console-test', 'after-expiry', ...server])).toMatchObject({ code: 0 });
  await page.waitForFunction(() => document.querySelector('[data-testid="znode-data"]')?.textContent === 'after-expiry', undefined, { timeout: UI_TIMEOUT_MS });
});

test('with a broker dead (killed above), the groups page still lists the group from the live brokers', async () => {
  const listed = await waitFor('the group listed by the live brokers', async () => {
    const answer = await getJson('/api/groups');
    return answer.status === 200 && answer.body.groups.some((g: { groupId: string }) => g.groupId === GROUP) ? answer.body : null;
  }, 60_000, 500);
  expect(listed.unreachableBrokers).toEqual([]);
  expect(listed.groups.find((g: { groupId: string }) => g.groupId === GROUP).coordinator).not.toBe(3);
  await page.goto(`${consoleHandle.url}/#/groups`);
  await page.locator(`[data-testid="group-row-${GROUP}"]`).waitFor({ timeout: UI_TIMEOUT_MS });
});
