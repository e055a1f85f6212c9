/**
 * The console's topics pages and message browser in a real browser (Debian Chromium through
 * playwright-core) against a real 3-broker cluster, checked with independent clients: a topic
 * created in the page is in `kcat -L`; configs set and removed in the page are what kafkajs's
 * DescribeConfigs reports; a topic deleted in the page leaves `kcat -L`; the message browser
 * shows kcat's records (key, header, value; text, JSON, hex) in every codec kcat writes. Plus
 * the API's clear errors for bad browser input.
 */
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import type { Browser, Dialog, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser';
import { startCluster, TestCluster } from '../helpers/cluster';
import { ConsoleHandle, startConsole } from '../helpers/console';
import { kill, runCommand, SAMSA_BIN, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(240_000);

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const UI_TIMEOUT_MS = 20_000;

let cluster: TestCluster;
let consoleHandle: ConsoleHandle;
let browser: Browser;
let page: Page;
let kafka: Kafka;
/** What the page's window.confirm asked, in order; each is accepted unless `dismissNext` is set. */
const dialogs: string[] = [];
let dismissNext = false;

const samsa = (args: string[], input?: string) => runCommand(process.execPath, [SAMSA_BIN, ...args, '--bootstrap', cluster.bootstrap, '--coordinator', cluster.coordinatorUrl], input, { timeoutMs: 60_000 });

async function kcatTopics(): Promise<string> {
  const listed = await runCommand('kcat', ['-L', '-b', cluster.bootstrap], undefined, { timeoutMs: 20_000 });
  if (listed.code !== 0) throw new Error(`kcat -L failed: ${listed.stderr}`);
  return listed.stdout;
}

async function describeConfigs(topic: string): Promise<Map<string, { value: string; isDefault: boolean }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
    return new Map(described.resources[0]!.configEntries.map((c) => [c.configName, { value: c.configValue, isDefault: c.isDefault }]));
  } finally {
    await admin.disconnect();
  }
}

async function api(path: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await fetch(`${consoleHandle.url}${path}`);
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3 });
  kafka = new Kafka({ clientId: 'console-topics-test', brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
  consoleHandle = await startConsole(cluster);
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('dialog', (dialog: Dialog) => {
    dialogs.push(dialog.message());
    const dismiss = dismissNext;
    dismissNext = false;
    void (dismiss ? dialog.dismiss() : dialog.accept());
  });
});

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

describe('topics', () => {
  const TOPIC = 'made-in-the-page';

  test('a topic created in the page (after confirming) exists in kcat -L with its partitions and configs', async () => {
    await page.goto(`${consoleHandle.url}/#/topics`);
    await page.waitForSelector('[data-testid="create-topic-form"]', { timeout: UI_TIMEOUT_MS });
    await page.fill('[data-testid="create-topic-name"]', TOPIC);
    await page.fill('[data-testid="create-topic-partitions"]', '3');
    await page.fill('[data-testid="create-topic-rf"]', '3');
    await page.fill('[data-testid="create-topic-configs"]', 'max.message.bytes=200000\nretention.ms=3600000');
    // Declined first: nothing is created.
    dismissNext = true;
    await page.click('[data-testid="create-topic-submit"]');
    await waitFor('the confirmation', () => dialogs.length === 1, UI_TIMEOUT_MS);
    expect(dialogs[0]).toBe(`Create topic '${TOPIC}' with 3 partitions, replication factor 3 and max.message.bytes=200000, retention.ms=3600000?`);
    // Then accepted.
    await page.click('[data-testid="create-topic-submit"]');
    await page.waitForSelector(`[data-testid="topic-row-${TOPIC}"]`, { timeout: UI_TIMEOUT_MS });
    expect(dialogs).toHaveLength(2);
    expect(await kcatTopics()).toContain(`topic "${TOPIC}" with 3 partitions:`);
    // name, partitions, replication, under-replicated, offline
    const cells = await page.locator(`[data-testid="topic-row-${TOPIC}"] td`).allTextContents();
    expect(cells.slice(0, 5)).toEqual([TOPIC, '3', '3', '0', '0']);
    const configs = await describeConfigs(TOPIC);
    expect(configs.get('max.message.bytes')).toEqual({ value: '200000', isDefault: false });
    expect(configs.get('retention.ms')).toEqual({ value: '3600000', isDefault: false });
  });

  test('creating it again, or with more replicas than brokers, shows Kafka\'s error in the page', async () => {
    await page.fill('[data-testid="create-topic-name"]', TOPIC);
    await page.click('[data-testid="create-topic-submit"]');
    const exists = page.locator('[data-testid="create-topic-outcome"] [role="alert"]');
    await exists.waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await exists.textContent()).toContain(`TOPIC_ALREADY_EXISTS: ${TOPIC}`);
    await page.fill('[data-testid="create-topic-name"]', 'too-many-replicas');
    await page.fill('[data-testid="create-topic-rf"]', '4');
    await page.click('[data-testid="create-topic-submit"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="create-topic-outcome"] [role="alert"]')?.textContent?.includes('INVALID_REPLICATION_FACTOR'), undefined, { timeout: UI_TIMEOUT_MS });
    const invalidName = await fetch(`${consoleHandle.url}/api/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bad/name', partitions: 1 }) });
    expect(invalidName.status).toBe(400);
    expect(((await invalidName.json()) as { error: string }).error).toMatch(/^INVALID_TOPIC_EXCEPTION: bad\/name/);
    expect(await kcatTopics()).not.toContain('too-many-replicas');
  });

  test('the topic page shows every partition with leader, ISR and offsets; configs set and removed there are what DescribeConfigs reports', async () => {
    await page.goto(`${consoleHandle.url}/#/topics/${TOPIC}`);
    // Offsets come from each leader: the page refreshes itself until every row has them.
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid^="partition-row-"]')];
      return rows.length === 3 && rows.every((row) => row.querySelectorAll('td')[7]?.textContent === '0');
    }, undefined, { timeout: UI_TIMEOUT_MS });
    const rows = await page.$$eval('[data-testid^="partition-row-"]', (trs) => trs.map((tr) => ({ state: tr.getAttribute('data-state'), cells: [...tr.querySelectorAll('td')].map((td) => td.textContent) })));
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.state).toBe('ok');
      expect(['1', '2', '3']).toContain(row.cells[1]); // leader
      expect(row.cells[4]!.split(', ').sort()).toEqual(['1', '2', '3']); // ISR
      expect(row.cells.slice(6, 9)).toEqual(['0', '0', '0']); // earliest, latest, records
    }
    expect(await page.textContent('[data-testid="config-value-max.message.bytes"]')).toBe('200000');

    await page.fill('[data-testid="config-name"]', 'retention.ms');
    await page.fill('[data-testid="config-value"]', '120000');
    await page.click('[data-testid="config-submit"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="config-value-retention.ms"]')?.textContent === '120000', undefined, { timeout: UI_TIMEOUT_MS });
    expect(dialogs.at(-1)).toBe(`Set retention.ms=120000 on topic '${TOPIC}'?`);
    let configs = await describeConfigs(TOPIC);
    expect(configs.get('retention.ms')).toEqual({ value: '120000', isDefault: false });
    // The other override stays (AlterConfigs replaces them all: the page sends the merged set).
    expect(configs.get('max.message.bytes')).toEqual({ value: '200000', isDefault: false });

    await page.click('[data-testid="config-remove-max.message.bytes"]');
    await page.waitForSelector('[data-testid="config-row-max.message.bytes"][data-default="true"]', { timeout: UI_TIMEOUT_MS });
    configs = await describeConfigs(TOPIC);
    expect(configs.get('max.message.bytes')!.isDefault).toBe(true);
    expect(configs.get('retention.ms')).toEqual({ value: '120000', isDefault: false });

    // A value Kafka refuses: the page shows why, and nothing changes.
    await page.fill('[data-testid="config-name"]', 'retention.ms');
    await page.fill('[data-testid="config-value"]', 'soon');
    await page.click('[data-testid="config-submit"]');
    const refused = page.locator('[data-testid="config-outcome"] [role="alert"]');
    await refused.waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await refused.textContent()).toMatch(/^INVALID_CONFIG: /);
    expect((await describeConfigs(TOPIC)).get('retention.ms')).toEqual({ value: '120000', isDefault: false });
  });

  test('deleting it in the page (dialog accepted) removes it from kcat -L', async () => {
    await page.click('[data-testid="delete-topic"]');
    await page.waitForFunction(() => location.hash === '#/topics', undefined, { timeout: UI_TIMEOUT_MS });
    expect(dialogs.at(-1)).toContain(`Delete topic '${TOPIC}'`);
    await waitFor('the topic gone from kcat -L', async () => !(await kcatTopics()).includes(`"${TOPIC}"`), 30_000, 250);
    await page.waitForSelector(`[data-testid="topic-row-${TOPIC}"]`, { state: 'detached', timeout: 30_000 });
    expect((await api(`/api/topics/${TOPIC}`)).status).toBe(404);
    const again = await fetch(`${consoleHandle.url}/api/topics/${TOPIC}`, { method: 'DELETE' });
    expect({ status: again.status, body: await again.json() }).toEqual({ status: 404, body: { error: `UNKNOWN_TOPIC_OR_PARTITION: ${TOPIC}` } });
    const alter = await fetch(`${consoleHandle.url}/api/topics/${TOPIC}/configs`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ configs: { 'retention.ms': '1' } }) });
    expect(alter.status).toBe(404);
  });
});

describe('message browser', () => {
  const TOPIC = 'browsed';

  beforeAll(async () => {
    expect(await samsa(['topic', 'create', TOPIC, '--partitions', '2', '--replication-factor', '3'])).toMatchObject({ code: 0 });
    const produced = await runCommand('kcat', ['-P', '-b', cluster.bootstrap, '-t', TOPIC, '-p', '0', '-K:', '-H', 'h=v'], 'k1:v1\nk2:{"a":[1,2]}\n', { timeoutMs: 30_000 });
    expect(produced).toMatchObject({ code: 0 });
  });

  test('shows a record kcat produced with its key, header and value; values switch between JSON, text and hex', async () => {
    await page.goto(`${consoleHandle.url}/#/messages?topic=${TOPIC}&partition=0&offset=0`);
    await page.waitForSelector('[data-testid="record-1"]', { timeout: UI_TIMEOUT_MS });
    expect(await page.textContent('[data-testid="record-key-0"]')).toBe('k1');
    expect(await page.textContent('[data-testid="record-headers-0"]')).toBe('h = v');
    expect(await page.textContent('[data-testid="record-value-0-body"]')).toBe('v1');
    expect(await page.textContent('[data-testid="record-codec-0"]')).toBe('none');
    const json = '[data-testid="record-value-1-body"]';
    expect(await page.textContent(json)).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    await page.click('[data-testid="record-value-1"] button[data-mode="hex"]');
    expect(await page.textContent(json)).toBe('00000000  7b 22 61 22 3a 5b 31 2c 32 5d 7d' + ' '.repeat(47 - 32) + '  |{"a":[1,2]}|');
    await page.click('[data-testid="record-value-1"] button[data-mode="text"]');
    expect(await page.textContent(json)).toBe('{"a":[1,2]}');
    // The first record's value is not JSON: no JSON button.
    expect(await page.locator('[data-testid="record-value-0"] button[data-mode="json"]').count()).toBe(0);
  });

  test('pages through with "next page", starts at a time, and links from the topic page', async () => {
    await page.goto(`${consoleHandle.url}/#/messages?topic=${TOPIC}&partition=0&offset=0&limit=1`);
    await page.waitForSelector('[data-testid="record-0"]', { timeout: UI_TIMEOUT_MS });
    expect(await page.locator('tr[data-testid^="record-"]').count()).toBe(1);
    await page.click('[data-testid="messages-next"]');
    await page.waitForSelector('tr[data-testid="record-1"]', { timeout: UI_TIMEOUT_MS });
    expect(await page.locator('tr[data-testid^="record-"]').count()).toBe(1);
    expect(await page.evaluate(() => location.hash)).toBe(`#/messages?topic=${TOPIC}&partition=0&offset=1&limit=1`);
    // A time after every record: nothing to show, and the page says so.
    await page.goto(`${consoleHandle.url}/#/messages?topic=${TOPIC}&partition=0&timestamp=${Date.now() + 3_600_000}`);
    await page.waitForSelector('[data-testid="messages-empty"]', { timeout: UI_TIMEOUT_MS });
    // A time before every record: both.
    await page.goto(`${consoleHandle.url}/#/messages?topic=${TOPIC}&partition=0&timestamp=0`);
    await page.waitForSelector('tr[data-testid="record-1"]', { timeout: UI_TIMEOUT_MS });
    expect(await page.locator('tr[data-testid^="record-"]').count()).toBe(2);
    // From the topic page's "browse" link of partition 0.
    await page.goto(`${consoleHandle.url}/#/topics/${TOPIC}`);
    await page.click('[data-testid="partition-row-0"] a');
    await page.waitForSelector('tr[data-testid="record-1"]', { timeout: UI_TIMEOUT_MS });
  });

  test('bad input gets a clear 400 or 404 naming the valid range; the page shows it', async () => {
    expect(await api(`/api/messages?topic=${TOPIC}&partition=0&offset=abc`)).toEqual({ status: 400, body: { error: "offset 'abc' is not a whole number" } });
    expect(await api(`/api/messages?topic=${TOPIC}&partition=0&offset=5`)).toEqual({ status: 400, body: { error: `OFFSET_OUT_OF_RANGE: offset 5 is not in ${TOPIC}-0, which holds offsets 0 to 1 (the next record gets 2)` } });
    expect(await api(`/api/messages?topic=${TOPIC}&partition=7`)).toEqual({ status: 404, body: { error: `UNKNOWN_TOPIC_OR_PARTITION: ${TOPIC} has partitions 0 to 1, not 7` } });
    expect(await api('/api/messages?topic=no-such-topic&partition=0')).toEqual({ status: 404, body: { error: "UNKNOWN_TOPIC_OR_PARTITION: no topic named 'no-such-topic'" } });
    expect((await api(`/api/messages?topic=${TOPIC}&partition=1&from=latest`)).body).toMatchObject({ records: [], earliest: 0, latest: 0, nextOffset: 0 });
    await page.goto(`${consoleHandle.url}/#/messages?topic=${TOPIC}&partition=0&offset=9`);
    const alert = page.locator('[role="alert"]');
    await alert.waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await alert.textContent()).toContain('holds offsets 0 to 1');
  });

  test.each(CODECS)('records kcat wrote with -z %s are shown decoded, with their codec', async (codec) => {
    const topic = `codec-${codec}`;
    expect(await samsa(['topic', 'create', topic, '--partitions', '1', '--replication-factor', '1'])).toMatchObject({ code: 0 });
    // Repetitive values in one batch (linger.ms): librdkafka sends a batch uncompressed when compressing does not shrink it.
    const values = Array.from({ length: 20 }, (_, i) => `${codec}-${i}-${'abcdefgh'.repeat(20)}`);
    const produced = await runCommand('kcat', ['-P', '-b', cluster.bootstrap, '-t', topic, '-p', '0', '-z', codec, '-X', 'linger.ms=100'], `${values.join('\n')}\n`, { timeoutMs: 30_000 });
    expect(produced).toMatchObject({ code: 0 });
    await page.goto(`${consoleHandle.url}/#/messages?topic=${topic}&partition=0&from=earliest`);
    await page.waitForSelector('tr[data-testid="record-19"]', { timeout: UI_TIMEOUT_MS });
    const shown = await page.$$eval('tr[data-testid^="record-"]', (trs) =>
      trs.map((tr) => ({ codec: tr.querySelector('[data-testid^="record-codec-"]')!.textContent, value: tr.querySelector('pre[data-testid$="-body"][data-testid^="record-value-"]')!.textContent })),
    );
    expect(shown.map((r) => r.value)).toEqual(values);
    expect(new Set(shown.map((r) => r.codec))).toEqual(new Set([codec]));
  });
});

test('the topics list shows sizes from the leaders\' metrics and record counts from their offsets', async () => {
  await waitFor('sizes scraped', async () => {
    const { body } = await api('/api/topics');
    const browsed = (body.topics as Array<{ name: string; sizeBytes: number | null; records: number | null }>).find((t) => t.name === 'browsed');
    return browsed !== undefined && browsed.sizeBytes !== null && browsed.sizeBytes > 0 && browsed.records === 2;
  }, 20_000, 250);
  await page.goto(`${consoleHandle.url}/#/topics`);
  const row = page.locator('[data-testid="topic-row-browsed"]');
  await row.waitFor({ timeout: UI_TIMEOUT_MS });
  const cells = await row.locator('td').allTextContents();
  expect(cells[5]).toBe('2');
  expect(cells[6]).toMatch(/^\d+(\.\d+)? (B|KiB)$/);
});

// Last: it kills a broker.
test('after a broker dies, its partitions show offline (RF 1) or under-replicated (RF 3), and browsing an offline one says why', async () => {
  expect(await samsa(['topic', 'create', 'fragile', '--partitions', '3', '--replication-factor', '1'])).toMatchObject({ code: 0 });
  await page.goto(`${consoleHandle.url}/#/topics/fragile`);
  await page.waitForSelector('[data-testid="partition-row-2"]', { timeout: UI_TIMEOUT_MS });
  const leaders = await page.$$eval('[data-testid^="partition-row-"]', (trs) => trs.map((tr) => Number(tr.querySelectorAll('td')[1]!.textContent)));
  const victim = cluster.brokers.find((b) => b.id !== 1 && leaders.includes(b.id)); // not broker 1: the console's bootstrap
  if (victim === undefined) throw new Error(`no partition of fragile is led by broker 2 or 3: ${leaders.join(',')}`);
  const lost = leaders.indexOf(victim.id);
  await kill(victim.process);
  // The page refreshes by itself.
  await page.waitForSelector(`[data-testid="partition-row-${lost}"][data-state="bad"]`, { timeout: 30_000 });
  expect(await page.$$eval('[data-testid^="partition-row-"]', (trs) => trs.map((tr) => tr.getAttribute('data-state')))).toEqual(leaders.map((_, i) => (i === lost ? 'bad' : 'ok')));
  await page.goto(`${consoleHandle.url}/#/topics/browsed`);
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid^="partition-row-"]')];
    return rows.length === 2 && rows.every((row) => row.getAttribute('data-state') === 'warn');
  }, undefined, { timeout: 30_000 });
  await page.goto(`${consoleHandle.url}/#/topics`);
  await page.waitForSelector('[data-testid="topic-row-fragile"]', { timeout: UI_TIMEOUT_MS });
  const cells = await page.locator('[data-testid="topic-row-fragile"] td').allTextContents();
  expect(cells.slice(3, 5)).toEqual(['0', '1']);
  expect(await page.getAttribute('[data-testid="topic-row-fragile"]', 'class')).toBe('row-bad');
  const offline = await api(`/api/messages?topic=fragile&partition=${lost}`);
  expect(offline.status).toBe(503);
  expect(offline.body.error).toMatch(/^LEADER_NOT_AVAILABLE: fragile-\d has no leader right now/);
});
