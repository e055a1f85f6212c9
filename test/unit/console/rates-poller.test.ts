/**
 * The console's rates poller against real HTTP servers on 127.0.0.1 standing in for brokers'
 * /metrics (counters that grow with each scrape): samples with per-broker and summed per-topic
 * rates, a bounded history, a broker that never answers left out without delaying the ticks
 * (which never overlap), one log line per failing streak, brokers gone from the list dropped,
 * and nothing scraped after close().
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import pino from 'pino';
import { buildSample, RatesPoller } from '../../../console/server/rates-poller';
import type { RatesSample } from '../../../console/server/types';
import { waitFor } from '../../helpers/processes';

interface FakeBroker {
  url: string;
  requests: number;
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

/** A /metrics whose counters grow by `perScrape` records (100 bytes each) on every request; `silent` never answers. */
async function fakeBroker(perScrape: number, silent = false): Promise<FakeBroker> {
  const state = { requests: 0, inFlight: 0, maxInFlight: 0 };
  const server = http.createServer((request, response) => {
    state.requests++;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    response.on('close', () => state.inFlight--);
    if (silent) return;
    const records = state.requests * perScrape;
    const lines = ['messagesin', 'bytesin', 'bytesout'].flatMap((name, i) => {
      const metric = `kafka_server_brokertopicmetrics_${name}_total`;
      const value = i === 0 ? records : i === 1 ? records * 100 : 0;
      return [`# TYPE ${metric} counter`, `${metric} ${value}`, `${metric}{topic="orders"} ${value}`];
    });
    response.writeHead(200, { 'content-type': 'text/plain' }).end(`${lines.join('\n')}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    get requests() { return state.requests; },
    get inFlight() { return state.inFlight; },
    get maxInFlight() { return state.maxInFlight; },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function capture(): { logger: pino.Logger; events: () => Array<{ msg: string; brokerId?: number }> } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), events: () => lines.map((line) => JSON.parse(line)) };
}

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

test('samples: each broker\'s rates and the topics summed over brokers, a bounded history, listeners told, latest scrape per broker', async () => {
  const [one, two] = await Promise.all([fakeBroker(10), fakeBroker(30)]);
  closers.push(one.close, two.close);
  const poller = new RatesPoller(() => [{ id: 2, metricsUrl: two.url }, { id: 1, metricsUrl: one.url }, { id: 3 }], capture().logger, { intervalMs: 100, historyLength: 4 });
  closers.push(() => poller.close());
  const heard: RatesSample[] = [];
  const unsubscribe = poller.subscribe((sample) => heard.push(sample));
  poller.start();
  await waitFor('six samples', () => heard.length >= 6, 10_000);
  unsubscribe();
  const history = poller.history();
  expect(history).toHaveLength(4);
  expect(history).toEqual(heard.slice(-4)); // the oldest dropped
  for (const [i, sample] of history.entries()) if (i > 0) expect(sample.at).toBeGreaterThanOrEqual(history[i - 1]!.at);
  const last = history[history.length - 1]!;
  expect(last.brokers.map((b) => b.id)).toEqual([1, 2]); // broker 3 has no metrics URL
  const [b1, b2] = last.brokers;
  // 10 and 30 records per scrape, a scrape each ~100 ms: rates near 100/s and 300/s (timers are not exact).
  expect(b1!.recordsInPerSec).toBeGreaterThan(20);
  expect(b2!.recordsInPerSec / b1!.recordsInPerSec).toBeGreaterThan(1.5);
  expect(b1).toMatchObject({ bytesOutPerSec: 0, produceP99Ms: null, fetchP99Ms: null });
  expect(b1!.bytesInPerSec).toBeCloseTo(b1!.recordsInPerSec * 100, 6);
  expect(last.topics).toEqual([{ name: 'orders', recordsInPerSec: b1!.recordsInPerSec + b2!.recordsInPerSec, bytesInPerSec: b1!.bytesInPerSec + b2!.bytesInPerSec, bytesOutPerSec: 0 }]);
  expect([...poller.latest().keys()].sort()).toEqual([1, 2]);
  expect(one.maxInFlight).toBe(1);
});

test('a broker that never answers: left out of each sample, ticks on time and never overlapping, logged once; dropped when gone from the list', async () => {
  const [good, silent] = await Promise.all([fakeBroker(5), fakeBroker(5, true)]);
  closers.push(good.close, silent.close);
  let brokers = [{ id: 1, metricsUrl: good.url }, { id: 2, metricsUrl: silent.url }];
  const { logger, events } = capture();
  const poller = new RatesPoller(() => brokers, logger, { intervalMs: 200 }).start();
  closers.push(() => poller.close());
  await waitFor('four samples', () => poller.history().length >= 4, 10_000);
  for (const sample of poller.history()) expect(sample.brokers.map((b) => b.id)).toEqual([1]);
  // Each scrape of the silent broker is abandoned (80% of the interval) before the next tick asks again.
  expect(silent.maxInFlight).toBe(1);
  expect(silent.requests).toBeGreaterThanOrEqual(4);
  expect(events().filter((e) => e.msg === 'rates.scrape_failed')).toEqual([expect.objectContaining({ brokerId: 2 })]);
  expect([...poller.latest().keys()]).toEqual([1]);

  brokers = [{ id: 2, metricsUrl: silent.url }];
  await waitFor('broker 1 dropped', () => !poller.latest().has(1), 5000);
  const samples = poller.history().length;
  await waitFor('a sample with no broker', () => poller.history().length > samples && poller.history().at(-1)!.brokers.length === 0, 5000);
});

test('close() stops the ticks: no scrape after it', async () => {
  const [broker, clock] = await Promise.all([fakeBroker(1), fakeBroker(1)]);
  closers.push(broker.close, clock.close);
  const poller = new RatesPoller(() => [{ id: 1, metricsUrl: broker.url }], capture().logger, { intervalMs: 100 }).start();
  await waitFor('two samples', () => poller.history().length >= 2, 5000);
  poller.close();
  const requests = broker.requests;
  // Another poller on the same interval is the clock: five of its ticks later, the closed one has asked nothing.
  const witness = new RatesPoller(() => [{ id: 1, metricsUrl: clock.url }], capture().logger, { intervalMs: 100 }).start();
  closers.push(() => witness.close());
  await waitFor('five witness ticks', () => clock.requests >= 5, 5000);
  expect(broker.requests).toBe(requests);
});

test('options are checked: the scrape timeout must be under the interval', () => {
  expect(() => new RatesPoller(() => [], capture().logger, { intervalMs: 100, scrapeTimeoutMs: 100 })).toThrow(/under the interval/);
  expect(() => new RatesPoller(() => [], capture().logger, { historyLength: 0 })).toThrow();
});

test('buildSample: brokers by id, topics summed, only the fields of RatesSample', () => {
  const rates = (records: number, topics: string[]) => ({ seconds: 1, recordsInPerSec: records, bytesInPerSec: records * 10, bytesOutPerSec: 0, produceP99Ms: 3, fetchP99Ms: null, topics: topics.map((name) => ({ name, recordsInPerSec: records, bytesInPerSec: records * 10, bytesOutPerSec: 0 })) });
  expect(buildSample(42, [{ id: 3, rates: rates(1, ['b']) }, { id: 1, rates: rates(2, ['a', 'b']) }])).toEqual({
    at: 42,
    brokers: [
      { id: 1, recordsInPerSec: 2, bytesInPerSec: 20, bytesOutPerSec: 0, produceP99Ms: 3, fetchP99Ms: null },
      { id: 3, recordsInPerSec: 1, bytesInPerSec: 10, bytesOutPerSec: 0, produceP99Ms: 3, fetchP99Ms: null },
    ],
    topics: [
      { name: 'a', recordsInPerSec: 2, bytesInPerSec: 20, bytesOutPerSec: 0 },
      { name: 'b', recordsInPerSec: 3, bytesInPerSec: 30, bytesOutPerSec: 0 },
    ],
  });
});
