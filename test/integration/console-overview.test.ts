/**
 * The console's overview in a real browser (Debian Chromium through playwright-core) against a
 * real 3-broker cluster: three live brokers; a broker killed with SIGKILL shows as dead, and its
 * partitions re-led, without a reload; the client software connections named. Plus the console's HTTP edges: unknown API paths, wrong
 * methods, malformed URL encoding and paths outside the asset folder get clear errors.
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser';
import { startCluster, TestCluster } from '../helpers/cluster';
import { ConsoleHandle, startConsole } from '../helpers/console';
import { kill, runCommand, SAMSA_BIN, spawnProcess, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(180_000);

const TOPIC = 'overview-topic';

let cluster: TestCluster;
let consoleHandle: ConsoleHandle;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3 });
  const created = await runCommand(process.execPath, [SAMSA_BIN, 'topic', 'create', TOPIC, '--partitions', '6', '--replication-factor', '3', '--bootstrap', cluster.bootstrap, '--coordinator', cluster.coordinatorUrl], '', { timeoutMs: 60_000 });
  expect(created).toMatchObject({ code: 0 });
  consoleHandle = await startConsole(cluster);
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

const brokerLive = (id: number) => page.getAttribute(`[data-testid="broker-row-${id}"]`, 'data-live', { timeout: 1000 }).catch(() => null);

test('the overview shows three live brokers, the controller and every partition with its leader and ISR', async () => {
  await page.goto(consoleHandle.url);
  await page.waitForSelector('[data-testid="broker-row-3"]', { timeout: 20_000 });
  expect(await Promise.all([1, 2, 3].map(brokerLive))).toEqual(['true', 'true', 'true']);
  expect(await page.textContent('[data-testid="count-live"] .stat-value')).toBe('3');
  // All 6 partitions, each led by a live broker with all three replicas in sync (acks=all waits for ISR: give them a moment).
  await page.waitForFunction((topic) => {
    const rows = [...document.querySelectorAll(`[data-testid^="partition-row-${topic}-"]`)];
    return rows.length === 6 && rows.every((row) => row.getAttribute('data-state') === 'ok');
  }, TOPIC, { timeout: 20_000 });
  const controller = await page.textContent('[data-testid="controller"] .stat-value');
  expect(controller).toMatch(/^broker [123]$/);
  expect(await page.textContent('[data-testid="live-status"]')).toContain('live');
});

test('the client software a connection named (ApiVersions v3+) is shown with its version: kcat is librdkafka', async () => {
  const kcat = spawnProcess('kcat', ['-C', '-b', cluster.bootstrap, '-t', TOPIC, '-q']);
  try {
    const row = page.locator('[data-testid="clients"] tr', { hasText: 'librdkafka' }).first();
    await row.waitFor({ timeout: 20_000 });
    const cells = await row.locator('td').allTextContents();
    expect(cells[1]).toBe('librdkafka');
    expect(cells[2]).toMatch(/^\d+\.\d+\.\d+/);
    expect(Number(cells[3])).toBeGreaterThanOrEqual(1);
  } finally {
    await kill(kcat);
  }
});

test('a broker killed with SIGKILL shows as dead and its partitions move to live leaders, without a reload', async () => {
  const leaders = await page.$$eval(`[data-testid^="partition-row-${TOPIC}-"]`, (rows) => rows.map((row) => Number(row.getAttribute('data-leader'))));
  // Kill a broker that leads something, so there is something to re-lead.
  const victim = cluster.brokers.find((b) => leaders.includes(b.id))!;
  // The page must update in place: a reload would reset this marker.
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  await kill(victim.process);
  await page.waitForSelector(`[data-testid="broker-row-${victim.id}"][data-live="false"]`, { timeout: 20_000 });
  await page.waitForFunction(({ topic, dead }) => {
    const rows = [...document.querySelectorAll(`[data-testid^="partition-row-${topic}-"]`)];
    return rows.length === 6 && rows.every((row) => Number(row.getAttribute('data-leader')) !== dead && row.getAttribute('data-state') !== 'offline');
  }, { topic: TOPIC, dead: victim.id }, { timeout: 30_000 });
  // The dead broker is out of every ISR: each partition is under-replicated (RF 3, 2 live brokers).
  const states = await page.$$eval(`[data-testid^="partition-row-${TOPIC}-"]`, (rows) => rows.map((row) => row.getAttribute('data-state')));
  expect(new Set(states)).toEqual(new Set(['under-replicated']));
  expect(await page.textContent('[data-testid="count-dead"] .stat-value')).toBe('1');
  expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
});

describe('HTTP edges', () => {
  const get = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${consoleHandle.url}${path}`, init);
    return { status: response.status, text: await response.text() };
  };

  test('the page, its stylesheet and its compiled modules are served', async () => {
    expect(await get('/')).toMatchObject({ status: 200, text: expect.stringContaining('<main id="page">') });
    expect((await get('/style.css')).status).toBe(200);
    expect(await get('/js/app.js')).toMatchObject({ status: 200, text: expect.stringContaining('ROUTES') });
  });

  test('unknown paths, wrong methods, malformed URL encoding and escapes from the asset folder get clear errors', async () => {
    expect(await get('/api/nothing-here')).toEqual({ status: 404, text: JSON.stringify({ error: 'nothing at /api/nothing-here' }) });
    expect(await get('/api/overview', { method: 'DELETE' })).toEqual({ status: 405, text: JSON.stringify({ error: 'DELETE is not allowed on /api/overview' }) });
    expect((await get('/js/../../package.json')).status).toBe(404);
    expect((await get('/%2e%2e/%2e%2e/package.json')).status).toBe(404);
    expect((await get('/%E0%A4%A')).status).toBe(400);
    const overview = await get('/api/overview');
    expect(JSON.parse(overview.text)).toMatchObject({ loaded: true, brokers: expect.any(Array) });
  });

  test('an event stream answers at once with the current picture', async () => {
    await waitFor('an overview event', async () => {
      const controller = new AbortController();
      const response = await fetch(`${consoleHandle.url}/api/overview/events`, { signal: controller.signal });
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const reader = response.body!.getReader();
      let text = '';
      for (let reads = 0; reads < 10 && !text.includes('event: overview'); reads++) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      return text.includes('event: overview\ndata: {');
    }, 10_000);
  });
});
