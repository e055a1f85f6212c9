/**
 * `samsa top`'s frames: rates per broker and topic from two scrapes, the cluster counts (offline
 * from the controller only), brokers that stopped answering or left shown as such, and the text.
 */
import { buildFrame, formatByteRate, formatRate, frameJson, renderFrame, table, type BrokerObservation } from '../../../cli/top-view';
import { parseExposition } from '../../../shared/metrics/prometheus-text';

interface Figures {
  records: number;
  bytes: number;
  topics?: Record<string, number>;
  controller?: boolean;
  underReplicated?: number;
  offline?: number;
  produceP99?: string;
}

/** A broker's /metrics with these figures (each topic's bytes = records * 100). */
function metrics(f: Figures): string {
  const counter = (name: string, total: number, per: (records: number) => number) => [
    `# TYPE ${name} counter`,
    `${name} ${total}`,
    ...Object.entries(f.topics ?? {}).map(([topic, records]) => `${name}{topic="${topic}"} ${per(records)}`),
  ];
  const gauge = (name: string, value: number) => [`# TYPE ${name} gauge`, `${name} ${value}`];
  return [
    ...counter('kafka_server_brokertopicmetrics_messagesin_total', f.records, (r) => r),
    ...counter('kafka_server_brokertopicmetrics_bytesin_total', f.bytes, (r) => r * 100),
    ...counter('kafka_server_brokertopicmetrics_bytesout_total', 0, () => 0),
    '# TYPE kafka_network_requestmetrics_totaltimems gauge',
    `kafka_network_requestmetrics_totaltimems{request="Produce",quantile="0.99"} ${f.produceP99 ?? 'NaN'}`,
    ...gauge('kafka_server_replicamanager_underreplicatedpartitions', f.underReplicated ?? 0),
    ...gauge('kafka_controller_kafkacontroller_offlinepartitionscount', f.offline ?? 0),
    ...gauge('kafka_controller_kafkacontroller_activecontrollercount', f.controller ? 1 : 0),
    ...gauge('kafka_server_replicamanager_leadercount', 4),
    '',
  ].join('\n');
}

const scrape = (at: number, f: Figures) => ({ at, exposition: parseExposition(metrics(f)) });

function broker(id: number, overrides: Partial<BrokerObservation>): BrokerObservation {
  return { id, metricsUrl: `http://127.0.0.1:${7191 + id}/metrics`, registered: true, previous: null, current: null, error: null, ...overrides };
}

test('rates per broker and per topic summed over brokers; counts from the brokers that answered; offline from the controller', () => {
  const frame = buildFrame(1_700_000_000_000, [
    broker(2, { previous: scrape(0, { records: 0, bytes: 0, topics: { orders: 0 } }), current: scrape(1000, { records: 50, bytes: 5000, topics: { orders: 50 }, controller: true, offline: 2, underReplicated: 1, produceP99: '7.5' }) }),
    broker(1, { previous: scrape(0, { records: 100, bytes: 10_000, topics: { orders: 60, audit: 40 } }), current: scrape(2000, { records: 300, bytes: 30_000, topics: { orders: 160, audit: 140 } }) }),
  ]);
  expect(frame.brokers.map((b) => [b.id, b.status, b.rates?.recordsInPerSec, b.rates?.produceP99Ms])).toEqual([[1, 'up', 100, null], [2, 'up', 50, 7.5]]);
  expect(frame.topics).toEqual([
    { name: 'audit', recordsInPerSec: 50, bytesInPerSec: 5000, bytesOutPerSec: 0 },
    { name: 'orders', recordsInPerSec: 100, bytesInPerSec: 10_000, bytesOutPerSec: 0 },
  ]);
  expect(frame).toMatchObject({ controller: 2, offline: 2, underReplicated: 1, coordinatorError: null });
});

test('a broker that stopped answering is DOWN with the reason, one whose registration ended GONE; the controller gone makes offline unknown', () => {
  const frame = buildFrame(0, [
    broker(1, { previous: scrape(0, { records: 0, bytes: 0 }), current: scrape(1000, { records: 10, bytes: 100, underReplicated: 3 }) }),
    broker(2, { previous: scrape(0, { records: 0, bytes: 0, controller: true }), error: 'ECONNREFUSED' }),
    broker(3, { registered: false, error: 'ECONNREFUSED' }),
    broker(4, { metricsUrl: null }),
  ], 'could not connect');
  expect(frame.brokers.map((b) => [b.id, b.status, b.error, b.rates])).toEqual([[1, 'up', null, expect.anything()], [2, 'down', 'ECONNREFUSED', null], [3, 'gone', 'ECONNREFUSED', null], [4, 'no-metrics', null, null]]);
  expect(frame).toMatchObject({ controller: null, offline: null, underReplicated: 3 });
  const text = renderFrame(frame, { intervalSec: 1 });
  expect(text).toMatch(/^ {0,5}2 +DOWN .*ECONNREFUSED$/m);
  expect(text).toMatch(/^ {0,5}3 +GONE /m);
  expect(text).toMatch(/^ {0,5}4 +no metrics/m);
  expect(text).toContain('Brokers: 1 up of 4  controller: ?  under-replicated: 3  offline: ?');
  expect(text).toContain('Coordinator unreachable (brokers as last seen): could not connect');
});

test('no broker answered: the counts are unknown, not zero', () => {
  const frame = buildFrame(0, [broker(1, { error: 'no answer in 800 ms' })]);
  expect(frame).toMatchObject({ underReplicated: null, offline: null, topics: [] });
  expect(renderFrame(frame, { intervalSec: 1 })).toContain('No topic traffic counted yet.');
});

test('the first scrape of a broker has no rate yet and says so', () => {
  const frame = buildFrame(0, [broker(1, { current: scrape(1000, { records: 10, bytes: 10 }) })]);
  expect(frame.brokers[0]).toMatchObject({ status: 'up', rates: null });
  expect(renderFrame(frame, { intervalSec: 0.5 })).toMatch(/^ {0,5}1 +up +- +- +- +- +- +4 +0 +first scrape$/m);
});

test('the text: a header, the broker table and the topic table with numbers right-aligned', () => {
  const frame = buildFrame(Date.UTC(2026, 11, 2, 7, 0, 0), [
    broker(1, { previous: scrape(0, { records: 0, bytes: 0, topics: { orders: 0, 'a-much-longer-topic': 0 } }), current: scrape(1000, { records: 1234.4, bytes: 2 * 1024 * 1024, topics: { orders: 1234, 'a-much-longer-topic': 0.4 }, controller: true, produceP99: '12.25' }) }),
  ]);
  expect(renderFrame(frame, { intervalSec: 1 }).split('\n')).toEqual([
    'samsa top  2026-12-02 07:00:00Z  every 1 s',
    'Brokers: 1 up of 1  controller: 1  under-replicated: 0  offline: 0',
    '',
    'BROKER  STATUS  RECORDS IN/S  BYTES IN/S  BYTES OUT/S  PRODUCE P99 MS  FETCH P99 MS  LEADERS  UNDER-REPL  NOTE',
    '     1  up             1,234   2.0 MiB/s        0 B/s            12.3             -        4           0',
    '',
    'TOPIC                RECORDS IN/S   BYTES IN/S  BYTES OUT/S',
    'a-much-longer-topic           0.4       40 B/s        0 B/s',
    'orders                      1,234  120.5 KiB/s        0 B/s',
    '',
  ]);
});

test.each([
  [0, '0.0'],
  [9.94, '9.9'],
  [10, '10'],
  [123456.7, '123,457'],
])('formatRate(%p) = %p', (value, text) => expect(formatRate(value)).toBe(text));

test.each([
  [0, '0 B/s'],
  [1023.4, '1023 B/s'],
  [1024, '1.0 KiB/s'],
  [5.5 * 1024 * 1024 * 1024, '5.5 GiB/s'],
])('formatByteRate(%p) = %p', (value, text) => expect(formatByteRate(value)).toBe(text));

test('table pads every column to its widest cell, right-aligning the numeric ones', () => {
  expect(table([['A', 'NUM', 'NOTE'], ['long', '1', ''], ['x', '1000', 'z']], [false, true, false])).toEqual(['A      NUM  NOTE', 'long     1', 'x     1000  z']);
});

test('--json: rates as numbers (null when unknown), one object per frame', () => {
  const frame = buildFrame(Date.UTC(2026, 0, 1), [broker(1, { previous: scrape(0, { records: 0, bytes: 0 }), current: scrape(500, { records: 5, bytes: 50 }) }), broker(2, { error: 'ECONNREFUSED' })]);
  const json = JSON.parse(JSON.stringify(frameJson(frame)));
  expect(json.at).toBe('2026-01-01T00:00:00.000Z');
  expect(json.brokers).toEqual([
    { id: 1, status: 'up', error: null, recordsInPerSec: 10, bytesInPerSec: 100, bytesOutPerSec: 0, produceP99Ms: null, fetchP99Ms: null, leaderCount: 4, partitionCount: null, underReplicated: 0 },
    { id: 2, status: 'down', error: 'ECONNREFUSED', recordsInPerSec: null, bytesInPerSec: null, bytesOutPerSec: null, produceP99Ms: null, fetchP99Ms: null, leaderCount: null, partitionCount: null, underReplicated: null },
  ]);
});
