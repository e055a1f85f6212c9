/**
 * The console's live traffic charts in a real browser (Debian Chromium through playwright-core)
 * against a real 3-broker cluster and a kafkajs producer: records/s by broker and by topic rise
 * above 0 while records flow and fall back to 0 when they stop, without a reload (server-sent
 * events); a page opened later starts from the history; a SIGKILLed broker's series ends (no
 * latest value) while the others go on.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser';
import { startCluster, TestCluster } from '../helpers/cluster';
import { ConsoleHandle, startConsole } from '../helpers/console';
import { createTopicWith, produceContinuously } from '../helpers/kafkajs';
import { kill, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(180_000);

const TOPIC = 'charts-orders';

let cluster: TestCluster;
let consoleHandle: ConsoleHandle;
let kafka: Kafka;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3 });
  kafka = new Kafka({ brokers: cluster.brokers.map((b) => `127.0.0.1:${b.port}`), clientId: 'charts-test', logLevel: logLevel.NOTHING });
  await createTopicWith(kafka, TOPIC, 3, 3);
  consoleHandle = await startConsole(cluster);
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await stopAll();
});


const latest = (on: Page, testid: string) => on.getAttribute(`[data-testid="${testid}"]`, 'data-latest', { timeout: 1000 }).catch(() => null);

/** Points drawn for a series (its path's M and L commands). */
const points = (on: Page, chart: string, series: string) =>
  on.evaluate(([c, s]) => (document.querySelector(`[data-testid="${c}"] path[data-series="${s}"]`)?.getAttribute('d') ?? '').split(/[ML]/).length - 1, [chart, series] as const);

test('records/s by broker and by topic go above 0 while records flow, and back to 0 when they stop, without a reload', async () => {
  await page.goto(`${consoleHandle.url}/#/charts`);
  const producer = produceContinuously(kafka, TOPIC);
  try {
    await page.waitForFunction(
      (topic) => {
        const value = (testid: string) => Number(document.querySelector(`[data-testid="${testid}"]`)?.getAttribute('data-latest') || '0');
        return value(`chart-records-topic-${topic}`) > 0 && [1, 2, 3].some((id) => value(`chart-records-broker-${id}`) > 0) && value(`chart-bytesin-topic-${topic}`) > 0;
      },
      TOPIC,
      { timeout: 30_000 },
    );
    // Every broker leads one of the 3 partitions: each has its own series in each broker chart.
    for (const metric of ['records', 'bytesin', 'bytesout']) {
      for (const id of [1, 2, 3]) expect(await page.locator(`[data-testid="chart-${metric}-brokers"] [data-testid="chart-${metric}-broker-${id}"]`).count()).toBe(1);
    }
    expect(await points(page, 'chart-records-topics', `topic-${TOPIC}`)).toBeGreaterThanOrEqual(1);
    expect(await page.textContent('[data-testid="live-status"]')).toContain('live');
    expect(producer.sent()).toBeGreaterThan(0);
  } finally {
    await producer.stop();
  }
  // Nothing flows now: the next samples, pushed to the open page, bring the topic to 0.
  await page.waitForFunction((topic) => document.querySelector(`[data-testid="chart-records-topic-${topic}"]`)?.getAttribute('data-latest') === '0', TOPIC, { timeout: 15_000 });
});

test('a page opened later starts from the history (/api/rates) rather than from nothing', async () => {
  type History = { history: Array<{ at: number; brokers: Array<{ id: number }> }> };
  // One sample a second: wait for ten.
  const history = await waitFor('ten samples of history', async () => {
    const body = (await (await fetch(`${consoleHandle.url}/api/rates`, { signal: AbortSignal.timeout(5000) })).json()) as History;
    return body.history.length >= 10 ? body.history : null;
  }, 20_000, 250);
  expect(history.every((sample, i) => i === 0 || sample.at > history[i - 1]!.at)).toBe(true);
  expect(history.at(-1)!.brokers.map((b) => b.id)).toEqual([1, 2, 3]);
  const later = await browser.newPage();
  try {
    await later.goto(`${consoleHandle.url}/#/charts`);
    await later.waitForSelector(`[data-testid="chart-records-topics"] path[data-series="topic-${TOPIC}"]`, { timeout: 10_000 });
    // Drawn from the history at once: far more points than the one or two samples since the page opened.
    expect(await points(later, 'chart-records-topics', `topic-${TOPIC}`)).toBeGreaterThanOrEqual(8);
  } finally {
    await later.close();
  }
});

test('a SIGKILLed broker\'s series ends (no latest value) while the other brokers\' go on', async () => {
  await page.goto(`${consoleHandle.url}/#/charts`);
  await waitFor('broker 3 charted', async () => (await latest(page, 'chart-records-broker-3')) === '0', 15_000);
  await kill(cluster.brokers[2]!.process);
  await waitFor('broker 3 without a latest value', async () => (await latest(page, 'chart-records-broker-3')) === '', 20_000);
  expect(await latest(page, 'chart-records-broker-1')).toBe('0');
  expect(await latest(page, 'chart-records-broker-2')).toBe('0');
  expect(await page.textContent('[data-testid="chart-records-broker-3"]')).toContain('—');
  // Its past stays drawn.
  expect(await points(page, 'chart-records-brokers', 'broker-3')).toBeGreaterThanOrEqual(1);
});
