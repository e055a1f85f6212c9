/**
 * `make bench`'s NATS JetStream workloads (file storage, R1 on one server or R3 on a 3-node
 * cluster), driven as fast as the npm `nats` client goes:
 *   - `js.publish()`: one message per publish (JetStream has no batch publish), many in flight;
 *   - core publish: `nc.publish()` to the stream's subject with a reply subject, one wildcard
 *     subscription collecting the acknowledgements JetStream sends there, a window in flight;
 *   - consume with an ordered consumer; end-to-end latency at a fixed rate.
 * The publishing connection goes to the stream leader's server (a Kafka client talks to the
 * partition leader too). Every loop is bounded in count and time.
 */
import { performance } from 'perf_hooks';
import { Labels, LatencyTimeline, report, Result } from './bench-results';
import { sendAtFixedRate, waitUntil, WORKLOAD_CAP_MS } from './bench-support';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const nats = require('nats') as typeof import('nats');
type NatsConnection = import('nats').NatsConnection;

const SUBJECTS = 6;
/** Messages in flight (js.publish: concurrent publishes; core: the window of unanswered publishes). */
const IN_FLIGHT = Number(process.env.BENCH_NATS_IN_FLIGHT ?? 1024);

/** Creates the stream (retrying while a new cluster elects its meta leader) and connects to the server that leads it. */
export async function createStream(ports: number[], name: string, replicas: number): Promise<NatsConnection> {
  const admin = await nats.connect({ servers: ports.map((port) => `127.0.0.1:${port}`) });
  try {
    // A new cluster answers JetStream API requests only once its servers have elected a meta leader.
    const jsm = await admin.jetstreamManager({ checkAPI: false, timeout: 2_000 });
    let leader = '';
    await waitUntil(`stream ${name} with ${replicas} replicas`, async () => {
      try {
        const info = await jsm.streams.add({ name, subjects: [`${name}.*`], storage: nats.StorageType.File, num_replicas: replicas, max_msg_size: -1 });
        leader = info.cluster?.leader ?? '';
        if (replicas > 1 && (info.cluster?.replicas ?? []).filter((r) => r.current).length + 1 < replicas) return false;
        return leader !== '' || replicas === 1;
      } catch {
        return false;
      }
    }, 60_000);
    // Servers are named bench-1..n in port order (startNats).
    const index = Number(leader.replace('bench-', '')) - 1;
    const port = ports[index] ?? ports[0]!;
    return await nats.connect({ servers: `127.0.0.1:${port}` });
  } finally {
    await admin.close();
  }
}

export async function deleteStream(ports: number[], name: string): Promise<void> {
  const admin = await nats.connect({ servers: ports.map((port) => `127.0.0.1:${port}`) });
  try {
    await (await admin.jetstreamManager()).streams.delete(name);
  } finally {
    await admin.close();
  }
}

/** js.publish() with IN_FLIGHT publishes awaiting their acknowledgement. */
export async function publishJs(nc: NatsConnection, stream: string, records: number, recordBytes: number, labels: Labels): Promise<Result> {
  const js = nc.jetstream();
  const value = new Uint8Array(recordBytes).fill(0x61);
  const latencies: number[] = [];
  let next = 0;
  let sent = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < records && performance.now() - started < WORKLOAD_CAP_MS) {
        const i = next++;
        const at = performance.now();
        try {
          await js.publish(`${stream}.${i % SUBJECTS}`, value);
        } catch {
          errors++;
          continue;
        }
        if (i % 100 === 0) latencies.push(performance.now() - at);
        sent++;
      }
    }),
  );
  return report(labels, sent, (performance.now() - started) / 1000, latencies, errors);
}

/**
 * Core publish to the stream subject with a reply subject `<inbox>.<i>`; one wildcard
 * subscription receives JetStream's acknowledgement of each message (`{"stream":..,"seq":..}`
 * or `{"error":..}`) and publishes the next while fewer than IN_FLIGHT are unanswered.
 */
export async function publishCore(nc: NatsConnection, stream: string, records: number, recordBytes: number, labels: Labels): Promise<Result> {
  const value = new Uint8Array(recordBytes).fill(0x61);
  const inbox = nats.createInbox();
  const sentAt = new Float64Array(records);
  const latencies: number[] = [];
  let next = 0;
  let answered = 0;
  let acked = 0;
  let errors = 0;
  const started = performance.now();
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const pump = (): void => {
    while (next - answered < IN_FLIGHT && next < records && performance.now() - started < WORKLOAD_CAP_MS) {
      sentAt[next] = performance.now();
      nc.publish(`${stream}.${next % SUBJECTS}`, value, { reply: `${inbox}.${next}` });
      next++;
    }
  };
  const subscription = nc.subscribe(`${inbox}.*`, {
    callback: (error, message) => {
      answered++;
      // `{"error":...}` against `{"stream":...}`: the third byte tells them apart.
      if (error !== null || message.data[2] === 0x65) errors++;
      else {
        acked++;
        const i = Number(message.subject.slice(inbox.length + 1));
        if (i % 100 === 0) latencies.push(performance.now() - sentAt[i]!);
      }
      if (answered >= next && (next >= records || performance.now() - started >= WORKLOAD_CAP_MS)) finish();
      else pump();
    },
  });
  await nc.flush(); // the subscription is in place before the first publish
  pump();
  const cap = setTimeout(finish, WORKLOAD_CAP_MS + 5_000);
  await finished;
  clearTimeout(cap);
  const seconds = (performance.now() - started) / 1000;
  subscription.unsubscribe();
  return report(labels, acked, seconds, latencies, errors + (next - answered));
}

/** Reads the whole stream with an ordered consumer. */
export async function consumeStream(nc: NatsConnection, stream: string, records: number, labels: Labels): Promise<Result> {
  const consumer = await nc.jetstream().consumers.get(stream);
  let seen = 0;
  const started = performance.now();
  const messages = await consumer.consume({ max_messages: 10_000 });
  const timer = setTimeout(() => messages.stop(), WORKLOAD_CAP_MS);
  for await (const message of messages) {
    void message;
    if (++seen >= records) break;
  }
  clearTimeout(timer);
  return report(labels, seen, (performance.now() - started) / 1000);
}

/** End-to-end latency: `rate` messages/s for `warmupSeconds` (not measured) and `seconds` through js.publish(), an ordered consumer receiving them. */
export async function endToEndStream(nc: NatsConnection, stream: string, recordBytes: number, rate: number, seconds: number, warmupSeconds: number, labels: Labels): Promise<Result> {
  const js = nc.jetstream();
  const consumer = await js.consumers.get(stream);
  const total = rate * (warmupSeconds + seconds);
  const latencies: number[] = [];
  const timeline = new LatencyTimeline();
  let received = 0;
  let errors = 0;
  const messages = await consumer.consume({ max_messages: 1000 });
  const started = performance.now();
  const measuredFrom = started + warmupSeconds * 1000;
  const timer = setTimeout(() => messages.stop(), WORKLOAD_CAP_MS);
  const reader = (async () => {
    for await (const message of messages) {
      const sentAt = Buffer.from(message.data).readDoubleBE(0);
      const latency = performance.now() - sentAt;
      if (sentAt >= measuredFrom) latencies.push(latency);
      timeline.add(sentAt - started, latency);
      if (++received + errors >= total) break;
    }
  })();
  const onFailure = (): void => {
    errors++;
  };
  await sendAtFixedRate(total, rate, recordBytes, started, (i, value) => void js.publish(`${stream}.${i % SUBJECTS}`, value).catch(onFailure));
  await reader;
  clearTimeout(timer);
  return report(labels, latencies.length, (performance.now() - measuredFrom) / 1000, latencies, errors, timeline);
}
