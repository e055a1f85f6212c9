/**
 * Rates from two scrapes of a broker's /metrics: totals and per topic, counter resets (a
 * restarted broker) never negative, p99 latencies with NaN as null, gauges, sums over brokers;
 * and the scrape helper against a real HTTP server (status, size limit, timeout, refusal).
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { brokerGauges, brokerRates, counterIncrease, requestP99Ms, scrape, ScrapeError, sumTopics, type TimedScrape } from '../../../shared/metrics/broker-rates';
import { parseExposition } from '../../../shared/metrics/prometheus-text';

interface Counts {
  records: number;
  bytesIn: number;
  bytesOut: number;
  topics?: Record<string, [records: number, bytesIn: number, bytesOut: number]>;
  started?: number;
  produceP99?: string;
  fetchP99?: string;
  gauges?: string;
}

/** Prometheus text as a broker writes it (prom-client's layout), with these counter values. */
function text(counts: Counts): string {
  const topics = Object.entries(counts.topics ?? {});
  const counter = (name: string, total: number, index: 0 | 1 | 2) => [
    `# HELP ${name} help`,
    `# TYPE ${name} counter`,
    `${name} ${total}`,
    ...topics.map(([topic, values]) => `${name}{topic="${topic}"} ${values[index]}`),
  ];
  return [
    ...counter('kafka_server_brokertopicmetrics_messagesin_total', counts.records, 0),
    ...counter('kafka_server_brokertopicmetrics_bytesin_total', counts.bytesIn, 1),
    ...counter('kafka_server_brokertopicmetrics_bytesout_total', counts.bytesOut, 2),
    '# HELP kafka_network_requestmetrics_totaltimems help',
    '# TYPE kafka_network_requestmetrics_totaltimems gauge',
    `kafka_network_requestmetrics_totaltimems{request="Produce",quantile="0.50"} 1`,
    `kafka_network_requestmetrics_totaltimems{request="Produce",quantile="0.99"} ${counts.produceP99 ?? 'NaN'}`,
    `kafka_network_requestmetrics_totaltimems{request="FetchConsumer",quantile="0.99"} ${counts.fetchP99 ?? 'NaN'}`,
    `kafka_network_requestmetrics_totaltimems{request="FetchFollower",quantile="0.99"} 500`,
    '# HELP process_start_time_seconds help',
    '# TYPE process_start_time_seconds gauge',
    `process_start_time_seconds ${counts.started ?? 1700000000}`,
    counts.gauges ?? '',
    '',
  ].join('\n');
}

const at = (ms: number, counts: Counts): TimedScrape => ({ at: ms, exposition: parseExposition(text(counts)) });

test('rates per second between two scrapes: the unlabelled total and each topic, topics by name', () => {
  const before = at(10_000, { records: 100, bytesIn: 10_000, bytesOut: 500, topics: { orders: [60, 6000, 500], audit: [40, 4000, 0] } });
  const after = at(12_000, { records: 300, bytesIn: 30_000, bytesOut: 2500, topics: { orders: [200, 20_000, 2500], audit: [100, 10_000, 0] } });
  const rates = brokerRates(before, after)!;
  expect(rates).toMatchObject({ seconds: 2, recordsInPerSec: 100, bytesInPerSec: 10_000, bytesOutPerSec: 1000 });
  expect(rates.topics).toEqual([
    { name: 'audit', recordsInPerSec: 30, bytesInPerSec: 3000, bytesOutPerSec: 0 },
    { name: 'orders', recordsInPerSec: 70, bytesInPerSec: 7000, bytesOutPerSec: 1000 },
  ]);
});

test('a topic first seen in the later scrape counts from zero; one gone from it is left out', () => {
  const before = at(0, { records: 10, bytesIn: 100, bytesOut: 0, topics: { old: [10, 100, 0] } });
  const after = at(1000, { records: 15, bytesIn: 150, bytesOut: 0, topics: { fresh: [5, 50, 0] } });
  expect(brokerRates(before, after)!.topics).toEqual([{ name: 'fresh', recordsInPerSec: 5, bytesInPerSec: 50, bytesOutPerSec: 0 }]);
});

test.each([
  ['a counter that went down (the broker restarted between scrapes)', { started: 1700000000 }, { started: 1700000000 }],
  ['a new process start time, even when the counters happen to be higher', { started: 1700000000 }, { started: 1700000100 }],
])('%s: counted from zero, never negative', (_name, first, second) => {
  const before = at(0, { records: 1000, bytesIn: 100_000, bytesOut: 9000, topics: { t: [1000, 100_000, 9000] }, ...first });
  const small = second.started === first.started ? { records: 40, bytesIn: 4000, bytesOut: 100, topics: { t: [40, 4000, 100] as [number, number, number] } } : { records: 1200, bytesIn: 120_000, bytesOut: 9100, topics: { t: [1200, 120_000, 9100] as [number, number, number] } };
  const rates = brokerRates(before, at(2000, { ...small, ...second }))!;
  expect(rates.recordsInPerSec).toBe(small.records / 2);
  expect(rates.bytesInPerSec).toBe(small.bytesIn / 2);
  expect(rates.bytesOutPerSec).toBe(small.bytesOut / 2);
  expect(rates.topics[0]).toEqual({ name: 't', recordsInPerSec: small.records / 2, bytesInPerSec: small.bytesIn / 2, bytesOutPerSec: small.bytesOut / 2 });
});

test.each([
  [undefined, 5, false, 5],
  [3, 5, false, 2],
  [5, 5, false, 0],
  [9, 5, false, 5],
  [3, 5, true, 5],
  [3, NaN, false, 0],
  [3, -1, false, 0],
  [NaN, 5, false, 5],
])('counterIncrease(%p, %p, restarted %p) = %p', (previous, current, restarted, expected) => {
  expect(counterIncrease(previous, current, restarted)).toBe(expected);
});

test('no time between the scrapes (or a clock step back): no rate rather than infinity', () => {
  const scrape = at(5000, { records: 1, bytesIn: 1, bytesOut: 1 });
  expect(brokerRates(scrape, scrape)).toBeNull();
  expect(brokerRates(scrape, at(4000, { records: 2, bytesIn: 2, bytesOut: 2 }))).toBeNull();
});

test('p99 of Produce and of consumers\' fetches (not followers\'), NaN or absent as null', () => {
  const busy = at(1000, { records: 0, bytesIn: 0, bytesOut: 0, produceP99: '12.5', fetchP99: '501.2' });
  const idle = at(1000, { records: 0, bytesIn: 0, bytesOut: 0 });
  expect(brokerRates(idle, busy)).toBeNull();
  expect(brokerRates(at(0, { records: 0, bytesIn: 0, bytesOut: 0 }), busy)).toMatchObject({ produceP99Ms: 12.5, fetchP99Ms: 501.2 });
  expect(brokerRates(at(0, { records: 0, bytesIn: 0, bytesOut: 0 }), idle)).toMatchObject({ produceP99Ms: null, fetchP99Ms: null });
  expect(requestP99Ms(idle.exposition, 'Metadata')).toBeNull();
  expect(requestP99Ms(idle.exposition, 'FetchFollower')).toBe(500);
});

test('a broker without traffic counters yet: zero rates, no topics', () => {
  const empty = { at: 0, exposition: parseExposition('') };
  expect(brokerRates(empty, { at: 1000, exposition: parseExposition('') })).toEqual({ seconds: 1, recordsInPerSec: 0, bytesInPerSec: 0, bytesOutPerSec: 0, produceP99Ms: null, fetchP99Ms: null, topics: [] });
});

test('gauges: under-replicated, offline (the controller\'s), leader and partition counts; absent as null', () => {
  const gauges = [
    ['kafka_server_replicamanager_underreplicatedpartitions', 2],
    ['kafka_controller_kafkacontroller_offlinepartitionscount', 1],
    ['kafka_controller_kafkacontroller_activecontrollercount', 1],
    ['kafka_server_replicamanager_leadercount', 7],
    ['kafka_server_replicamanager_partitioncount', 12],
  ].flatMap(([name, value]) => [`# TYPE ${name} gauge`, `${name} ${value}`]).join('\n');
  expect(brokerGauges(at(0, { records: 0, bytesIn: 0, bytesOut: 0, gauges }).exposition)).toEqual({ underReplicated: 2, offline: 1, leaderCount: 7, partitionCount: 12, controller: true });
  expect(brokerGauges(parseExposition(''))).toEqual({ underReplicated: null, offline: null, leaderCount: null, partitionCount: null, controller: null });
});

test('topics summed over brokers (each counts the partitions it leads), by name', () => {
  const t = (name: string, records: number, bytesIn: number, bytesOut: number) => ({ name, recordsInPerSec: records, bytesInPerSec: bytesIn, bytesOutPerSec: bytesOut });
  const first = { topics: [t('b', 1, 10, 100), t('c', 5, 5, 5)] };
  expect(sumTopics([first, { topics: [t('a', 2, 20, 0), t('b', 3, 30, 300)] }, { topics: [] }])).toEqual([t('a', 2, 20, 0), t('b', 4, 40, 400), t('c', 5, 5, 5)]);
  expect(first.topics[0]).toEqual(t('b', 1, 10, 100)); // inputs untouched
  expect(sumTopics([])).toEqual([]);
});

describe('scrape', () => {
  let server: http.Server;
  let base: string;
  const handlers = new Map<string, (response: http.ServerResponse) => void>();

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const handler = handlers.get(request.url ?? '');
      if (handler === undefined) response.writeHead(404).end();
      else handler(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    handlers.set('/metrics', (response) => response.writeHead(200, { 'content-type': 'text/plain' }).end(text({ records: 7, bytesIn: 70, bytesOut: 0 })));
    handlers.set('/broken', (response) => response.writeHead(200).end('not prometheus\n'));
    handlers.set('/big', (response) => response.writeHead(200).end(`# TYPE x gauge\n${'x 1\n'.repeat(1000)}`));
    handlers.set('/error', (response) => response.writeHead(500).end('metrics failed\n'));
    handlers.set('/silent', () => undefined); // never answers
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('parses a 200 answer', async () => {
    const exposition = await scrape(`${base}/metrics`, 2000);
    expect(exposition.samples.find((s) => s.name === 'kafka_server_brokertopicmetrics_messagesin_total')?.value).toBe(7);
  });

  test.each([
    ['/error', 2000, undefined, /HTTP 500/],
    ['/broken', 2000, undefined, /undeclared family/],
    ['/big', 2000, 1000, /body over 1000 bytes/],
    ['/silent', 200, undefined, /no answer in 200 ms/],
  ])('%s: ScrapeError', async (path, timeoutMs, bodyBytesMax, message) => {
    const failure = scrape(`${base}${path}`, timeoutMs, { bodyBytesMax });
    await expect(failure).rejects.toThrow(ScrapeError);
    await expect(failure).rejects.toThrow(message);
  });

  test('a port where nothing listens fails at once; an abort stops a scrape', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const started = process.hrtime.bigint();
    await expect(scrape(`http://127.0.0.1:${port}/metrics`, 5000)).rejects.toThrow(/ECONNREFUSED/);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
    const controller = new AbortController();
    const aborted = scrape(`${base}/silent`, 5000, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toThrow(/aborted/);
    await expect(scrape('not a url', 1000)).rejects.toThrow(ScrapeError);
  });
});
