/**
 * `make bench`: Samsa's brokers against NATS JetStream (file storage), same machine, same run,
 * in the spirit of kafka-producer-perf-test and kafka-consumer-perf-test:
 *   - RF 1: one Samsa broker (acks=1) against one nats-server (R1 stream);
 *   - RF 3: a coordinator + 3 Samsa brokers (acks=all and acks=1) against a 3-node JetStream
 *     cluster (R3 stream);
 * each with a 6-partition topic (6 subjects): produce N records of 100 B and of 1 KiB
 * (Samsa: its codec producer, kcat/librdkafka, kafkajs; JetStream: js.publish() and core
 * publish with a reply subject), consume them back, and end-to-end latency at fixed rates.
 * One JSON line per workload, then the Samsa/JetStream ratios (JetStream's faster publisher).
 * Every loop is bounded in count and time; all servers listen on 127.0.0.1 on free ports and
 * are stopped by pid. Knobs (environment):
 *   BENCH_SYSTEMS=samsa,jetstream  BENCH_RF=1,3  BENCH_SIZES=100,1024  BENCH_ACKS=all,1 (RF 3)
 *   BENCH_PRODUCERS=codec,kcat,kafkajs,platformatic (@platformatic/kafka: producer, and its consumer)  BENCH_NATS_PUBLISHERS=js.publish,core-publish
 *   BENCH_WORKLOADS=produce,consume,e2e,groups,validation (groups: scripts/bench-groups.ts, Samsa only)  BENCH_E2E_RATES=1000,10000
 *   BENCH_E2E_SECONDS=10  BENCH_E2E_WARMUP_SECONDS=10  BENCH_E2E_ROUNDS=3  BENCH_E2E_REWARMUP_SECONDS=2  BENCH_RECORDS (100 B, 1,000,000)  BENCH_RECORDS_1K (200,000)
 *   BENCH_RECORDS_KAFKAJS (50,000; platformatic too)  BENCH_RECORDS_NATS (300,000: JetStream publishes at most this many)
 *   BENCH_REPEAT=3 (produce rounds per workload, the systems alternating; ratios use the median)  BENCH_QUICK=1 (short runs)
 *   BENCH_OBSERVED=1: Samsa's produce and consume runs each round twice, plain and observed (/metrics scraped every
 *     second, `samsa console` open in Chromium: scripts/bench-observer.ts), alternating, and prints observed/plain;
 *     BENCH_OBSERVER=scrape,console,browser (which watchers the observed runs have)
 *   BENCH_CODEC_BATCH_BYTES (65,536: the codec producer's batch per partition)  BENCH_KCAT_BATCH_BYTES (1,000,000)  BENCH_KCAT_QUEUE_KBYTES (16,384)
 *   BENCH_BROKER_ARGS, BENCH_BROKER_NODE_ARGS (Node/V8 flags of the broker processes), SAMSA_ROOT (another build's servers)
 *   BENCH_SERVER_OUTPUT_DIR (each server's whole output to <dir>/<command>-<pid>.log, e.g. for --trace-gc)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runGroupBench } from './bench-groups';
import { consumeStream, createStream, deleteStream, endToEndStream, publishCore, publishJs } from './bench-jetstream';
import { Client, Labels, printLine, Result, Results } from './bench-results';
import { closeTarget, connectTarget, consume, createTopic, deleteTopics, endToEnd, produceCodec, produceKafkajs, produceKcat, writeKcatInput } from './bench-samsa';
import { log, runBenchmark, startNats, startSamsaCluster, stopProcess, stopSamsaCluster, warningsSince } from './bench-support';
import { validationCost } from './bench-validate';
import { modesOfRound, OBSERVER_PARTS, ObserverPart, printObservedRatios, runInMode } from './bench-observer';
import { consumePlatformatic, producePlatformatic } from './bench-platformatic';

const QUICK = process.env.BENCH_QUICK === '1';
const list = (name: string, fallback: string): string[] => (process.env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
const num = (name: string, fallback: number, quick: number): number => Number(process.env[name] ?? (QUICK ? quick : fallback));

const SYSTEMS = list('BENCH_SYSTEMS', 'samsa,jetstream');
const RFS = list('BENCH_RF', '1,3').map(Number);
const SIZES = list('BENCH_SIZES', '100,1024').map(Number);
const ACKS_RF3 = list('BENCH_ACKS', 'all,1').map((a) => (a === 'all' ? -1 : Number(a)));
const PRODUCERS = list('BENCH_PRODUCERS', 'codec,kcat,kafkajs,platformatic') as Client[];
const NATS_PUBLISHERS = list('BENCH_NATS_PUBLISHERS', 'js.publish,core-publish') as Client[];
const WORKLOADS = list('BENCH_WORKLOADS', 'produce,consume,e2e,groups,validation');
const E2E_RATES = list('BENCH_E2E_RATES', '1000,10000').map(Number);
const E2E_SECONDS = num('BENCH_E2E_SECONDS', 10, 1);
/**
 * Sent at the rate before the measured seconds, the same for both systems: fresh processes
 * compile their hot paths then. Each e2e result's p99ByWindowMs shows the curve: Samsa's RF 3
 * brokers (V8 still optimizing, ~5 functions a second at 5-10 s) had a p99 of 18-23 ms in the
 * first 5 s and 2.1-3.2 ms in the next 5, then 0.9-2.0 ms; JetStream's Go servers 2.0-2.7, then
 * 1.3-2.8 ms. A 5 s warm-up measured only Samsa's second window. End to end also runs after
 * the produce workloads on the same servers, whose bulk writes leave old-generation collections
 * behind for a few seconds (a 2 s warm-up once measured those as the RF 3 tail).
 */
const E2E_WARMUP_SECONDS = num('BENCH_E2E_WARMUP_SECONDS', 10, 0.5);
/** End-to-end rounds per rate and system (runReplicationFactor), and the warm-up of every round after the first (the processes are warm by then). */
const E2E_ROUNDS = num('BENCH_E2E_ROUNDS', 3, 1);
const E2E_REWARMUP_SECONDS = num('BENCH_E2E_REWARMUP_SECONDS', 2, 0.5);
const RECORDS_100 = num('BENCH_RECORDS', 1_000_000, 20_000);
const RECORDS_1K = num('BENCH_RECORDS_1K', 200_000, 5_000);
const RECORDS_KAFKAJS = num('BENCH_RECORDS_KAFKAJS', 50_000, 5_000);
const RECORDS_NATS = num('BENCH_RECORDS_NATS', 300_000, 5_000);
const REPEAT = num('BENCH_REPEAT', 3, 1);
const OBSERVED = process.env.BENCH_OBSERVED === '1';
/** Samsa's produce blocks start with an unmeasured codec workload of the same shape (BENCH_LEAD_IN=0: none). */
const LEAD_IN = process.env.BENCH_LEAD_IN !== '0' && !OBSERVED;
const OBSERVER = list('BENCH_OBSERVER', OBSERVER_PARTS.join(',')) as ObserverPart[];
/** Samsa topics of the RF 3 runs refuse acks=all once fewer than 2 replicas are in sync (Kafka's usual production setting). */
const MIN_INSYNC_RF3 = '2';

const recordsFor = (recordBytes: number): number => (recordBytes <= 100 ? RECORDS_100 : RECORDS_1K);
const acksName = (acks: number): string => (acks === -1 ? 'all' : String(acks));
/** ", round 2 of 3" in a produce round's log line when there are several. */
const roundOf = (run: number): string => (REPEAT > 1 ? `, round ${run + 1} of ${REPEAT}` : '');

/** One system's servers for one replication factor, its workloads run one block at a time so that main can interleave the systems. */
interface Bench {
  produce(recordBytes: number, run: number): Promise<void>;
  e2e(rate: number, warmupSeconds: number): Promise<void>;
  /** Samsa only: consumer groups are a Kafka feature. */
  groups?(): Promise<void>;
  stop(): Promise<void>;
}

async function openSamsa(root: string, rf: number, results: Results): Promise<Bench> {
  const cluster = await startSamsaCluster(path.join(root, `samsa-rf${rf}`), rf);
  const target = await connectTarget(cluster.brokers);
  const acksList = rf === 1 ? [1] : ACKS_RF3;
  const configs: Record<string, string> = rf === 1 ? {} : { 'min.insync.replicas': MIN_INSYNC_RF3 };
  let topics = 0;
  const created: string[] = [];
  const topic = async (): Promise<{ name: string; leaders: number[] }> => {
    const name = `bench-rf${rf}-${topics++}`;
    created.push(name);
    return { name, leaders: await createTopic(target, name, rf, configs) };
  };
  const kcatFiles = new Map<number, string>();
  const kcatFile = (recordBytes: number): string => {
    let file = kcatFiles.get(recordBytes);
    if (file === undefined) {
      file = path.join(root, `kcat-rf${rf}-${recordBytes}.txt`);
      writeKcatInput(file, recordsFor(recordBytes), recordBytes);
      kcatFiles.set(recordBytes, file);
    }
    return file;
  };
  return {
    async produce(recordBytes, run) {
      const records = recordsFor(recordBytes);
      for (const acks of acksList) {
        // Observed runs compare with plain ones, so both consume in every round.
        const consumes = WORKLOADS.includes('consume') && (run === 0 || OBSERVED) && acks === acksList[0];
        for (const observed of modesOfRound(OBSERVED, run)) {
          const mode = OBSERVED ? { observed } : {};
          const block = async (): Promise<void> => {
            if (LEAD_IN) {
              // Unmeasured, so that the first measured producer follows a deletion of the same size as
              // every other one does (and as JetStream's core publish follows js.publish's): on this
              // project's VMs that decides whether its writes land in pages freed a moment before or in
              // pages the host must hand back first, 2-4× apart (README, "Measured").
              const { name, leaders } = await topic();
              log(`samsa RF ${rf}: lead-in (codec producer, not measured), acks=${acksName(acks)}, ${recordBytes} B`);
              await produceCodec(target, name, leaders, records, recordBytes, acks, { system: 'samsa', rf, acks, client: 'codec', workload: 'lead-in', recordBytes });
              await deleteTopics(target, created.splice(0));
            }
            for (const client of PRODUCERS) {
              const labels: Labels = { system: 'samsa', rf, acks, client, workload: 'produce', recordBytes, ...mode };
              const { name, leaders } = await topic();
              log(`samsa RF ${rf}: ${client} produce, acks=${acksName(acks)}, ${recordBytes} B${OBSERVED ? (observed ? ', observed' : ', plain') : ''}${roundOf(run)}`);
              if (client === 'codec') {
                results.add(await produceCodec(target, name, leaders, records, recordBytes, acks, labels));
                if (consumes) {
                  log(`samsa RF ${rf}: consume ${recordBytes} B`);
                  results.add(await consume(target, name, leaders, { system: 'samsa', rf, workload: 'consume', recordBytes, ...mode }));
                }
              } else if (client === 'kcat') results.add(await produceKcat(target, name, leaders, kcatFile(recordBytes), records, recordBytes, acks, labels));
              else if (client === 'platformatic') {
                // Its consumer reads back what its producer wrote (a fresh group, from the earliest offset).
                const produced = await producePlatformatic(target, name, Math.min(records, RECORDS_KAFKAJS), recordBytes, acks, labels);
                results.add(produced);
                if (consumes) results.add(await consumePlatformatic(target, name, produced.records + 1, { system: 'samsa', rf, client, workload: 'consume', recordBytes, ...mode }));
              } else results.add(await produceKafkajs(target, name, Math.min(records, RECORDS_KAFKAJS), recordBytes, acks, labels));
              // Each workload's topic goes when it ends, as each JetStream publisher's stream does (why: the lead-in above).
              if (!OBSERVED) await deleteTopics(target, created.splice(0));
            }
          };
          if (OBSERVED) {
            await runInMode(cluster, observed, OBSERVER, { rf, acks: acksName(acks), recordBytes, run }, block);
            await deleteTopics(target, created.splice(0));
          } else await block();
        }
      }
    },
    async e2e(rate, warmupSeconds) {
      const acks = rf === 1 ? 1 : -1;
      const { name, leaders } = await topic();
      log(`samsa RF ${rf}: end-to-end latency, acks=${acksName(acks)}, ${rate} records/s for ${warmupSeconds} + ${E2E_SECONDS} s`);
      const before = cluster.brokers.map((broker) => new Map(broker.process.warnings));
      results.add(await endToEnd(target, name, leaders, 100, rate, E2E_SECONDS, warmupSeconds, acks, { system: 'samsa', rf, acks, client: 'codec', workload: 'e2e', recordBytes: 100, rate }));
      // A tail far off the usual (an ISR change, a lost connection) shows in the brokers' warnings: named here.
      cluster.brokers.forEach((broker, index) => {
        const warned = warningsSince(broker.process, before[index]!);
        if (warned.length > 0) log(`samsa RF ${rf}: broker ${broker.id} logged during it: ${warned.join(', ')}`);
      });
    },
    async groups() {
      log(`samsa RF ${rf}: consumer groups (kafkajs group of 3 with auto-commit; rebalance times)`);
      await runGroupBench(target, rf);
    },
    async stop() {
      for (const file of kcatFiles.values()) fs.rmSync(file, { force: true });
      closeTarget(target);
      await stopSamsaCluster(cluster);
    },
  };
}

async function openJetStream(root: string, rf: number, results: Results): Promise<Bench> {
  const { ports, processes } = await startNats(path.join(root, `nats-r${rf}`), rf);
  let streams = 0;
  return {
    async produce(recordBytes, run) {
      const records = Math.min(recordsFor(recordBytes), RECORDS_NATS);
      for (const client of NATS_PUBLISHERS) {
        const stream = `R${rf}_${streams++}`;
        const nc = await createStream(ports, stream, rf);
        try {
          log(`jetstream R${rf}: ${client} ${records} x ${recordBytes} B${roundOf(run)}`);
          const labels: Labels = { system: 'jetstream', rf, client, workload: 'produce', recordBytes };
          const produced = client === 'js.publish' ? await publishJs(nc, stream, records, recordBytes, labels) : await publishCore(nc, stream, records, recordBytes, labels);
          results.add(produced);
          if (WORKLOADS.includes('consume') && run === 0 && client === NATS_PUBLISHERS[0]) {
            log(`jetstream R${rf}: consume ${recordBytes} B`);
            results.add(await consumeStream(nc, stream, produced.records, { system: 'jetstream', rf, workload: 'consume', recordBytes }));
          }
        } finally {
          await nc.close();
        }
        await deleteStream(ports, stream);
      }
    },
    async e2e(rate, warmupSeconds) {
      const stream = `E2E_R${rf}_${streams++}`;
      const nc = await createStream(ports, stream, rf);
      try {
        log(`jetstream R${rf}: end-to-end latency, ${rate} records/s for ${warmupSeconds} + ${E2E_SECONDS} s`);
        results.add(await endToEndStream(nc, stream, 100, rate, E2E_SECONDS, warmupSeconds, { system: 'jetstream', rf, client: 'js.publish', workload: 'e2e', recordBytes: 100, rate }));
      } finally {
        await nc.close();
      }
    },
    async stop() {
      for (const started of processes) await stopProcess(started);
    },
  };
}

/**
 * One replication factor: both systems' servers run side by side (the idle one costs next to
 * nothing) and their workloads alternate, so that a slow spell of this shared machine lands on
 * both rather than on whichever system ran then. Produce: BENCH_REPEAT rounds, each system's
 * whole produce block in turn. End to end: BENCH_E2E_ROUNDS rounds per rate in ABBA order, the
 * first with the full warm-up (fresh processes compile their hot paths), later ones with
 * BENCH_E2E_REWARMUP_SECONDS; the ratio uses each system's median round (by p99).
 */
async function runReplicationFactor(root: string, rf: number, results: Results): Promise<void> {
  const benches: Bench[] = [];
  try {
    if (SYSTEMS.includes('samsa')) benches.push(await openSamsa(root, rf, results));
    if (SYSTEMS.includes('jetstream')) benches.push(await openJetStream(root, rf, results));
    if (WORKLOADS.includes('produce')) {
      for (const recordBytes of SIZES) {
        for (let run = 0; run < REPEAT; run++) for (const bench of benches) await bench.produce(recordBytes, run);
      }
    }
    if (WORKLOADS.includes('e2e')) {
      for (const rate of E2E_RATES) {
        for (let round = 0; round < E2E_ROUNDS; round++) {
          const order = round % 2 === 0 ? benches : [...benches].reverse();
          for (const bench of order) await bench.e2e(rate, round === 0 ? E2E_WARMUP_SECONDS : E2E_REWARMUP_SECONDS);
        }
      }
    }
    if (WORKLOADS.includes('groups')) for (const bench of benches) await bench.groups?.();
  } finally {
    for (const bench of benches) await bench.stop();
  }
}

const round2 = (x: number): number => Number(x.toFixed(2));

/** JetStream's faster publisher for the fair ratio. */
function bestJetStream(results: Results, rf: number, recordBytes: number): Result | undefined {
  return NATS_PUBLISHERS.map((client) => results.median({ system: 'jetstream', rf, client, workload: 'produce', recordBytes }))
    .filter((r): r is Result => r !== undefined)
    .sort((a, b) => b.recordsPerSecond - a.recordsPerSecond)[0];
}

function printRatios(results: Results): void {
  for (const rf of RFS) {
    for (const recordBytes of SIZES) {
      const jetstream = bestJetStream(results, rf, recordBytes);
      if (jetstream === undefined) continue;
      for (const acks of rf === 1 ? [1] : ACKS_RF3) {
        for (const client of PRODUCERS) {
          const samsa = results.median({ system: 'samsa', rf, acks, client, workload: 'produce', recordBytes });
          if (samsa === undefined) continue;
          printLine({ ratio: 'samsa/jetstream', workload: 'produce', rf, acks: acksName(acks), samsaClient: client, jetstreamClient: jetstream.client, recordBytes, samsaRecordsPerSecond: samsa.recordsPerSecond, jetstreamRecordsPerSecond: jetstream.recordsPerSecond, recordsPerSecond: round2(samsa.recordsPerSecond / jetstream.recordsPerSecond) });
        }
      }
      const samsaConsume = results.median({ system: 'samsa', rf, workload: 'consume', recordBytes });
      const jetstreamConsume = results.median({ system: 'jetstream', rf, workload: 'consume', recordBytes });
      if (samsaConsume !== undefined && jetstreamConsume !== undefined) printLine({ ratio: 'samsa/jetstream', workload: 'consume', rf, recordBytes, recordsPerSecond: round2(samsaConsume.recordsPerSecond / jetstreamConsume.recordsPerSecond) });
    }
    for (const rate of E2E_RATES) {
      const samsa = results.median({ system: 'samsa', rf, acks: rf === 1 ? 1 : -1, client: 'codec', workload: 'e2e', recordBytes: 100, rate });
      const jetstream = results.median({ system: 'jetstream', rf, client: 'js.publish', workload: 'e2e', recordBytes: 100, rate });
      if (samsa === undefined || jetstream === undefined) continue;
      printLine({ ratio: 'samsa/jetstream', workload: 'e2e', rf, rate, samsa: [samsa.p50Ms, samsa.p99Ms, samsa.p999Ms], jetstream: [jetstream.p50Ms, jetstream.p99Ms, jetstream.p999Ms], p50: round2(samsa.p50Ms! / jetstream.p50Ms!), p99: round2(samsa.p99Ms! / jetstream.p99Ms!), p999: round2(samsa.p999Ms! / jetstream.p999Ms!) });
    }
  }
  // The aim: Samsa RF 3 acks=all ≥ 4× JetStream R3 at 100 B and ≥ 2× at 1 KiB, with the codec producer and with kcat.
  for (const [recordBytes, aim] of [[100, 4], [1024, 2]] as const) {
    const jetstream = bestJetStream(results, 3, recordBytes);
    for (const client of ['codec', 'kcat'] as const) {
      const samsa = results.median({ system: 'samsa', rf: 3, acks: -1, client, workload: 'produce', recordBytes });
      if (samsa === undefined || jetstream === undefined) continue;
      const ratio = round2(samsa.recordsPerSecond / jetstream.recordsPerSecond);
      printLine({ aim: `samsa RF3 acks=all ${client} / jetstream R3 ${jetstream.client}`, recordBytes, ratio, target: aim, met: ratio >= aim });
    }
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-'));
  const results = new Results();
  try {
    for (const rf of RFS) await runReplicationFactor(root, rf, results);
    printRatios(results);
    if (OBSERVED) printObservedRatios(results);
    if (SYSTEMS.includes('samsa') && WORKLOADS.includes('validation')) {
      // What the broker's record validation costs on one core (64 KiB batches of 1 KiB records), for reading the produce figures.
      log('samsa: cost of record validation per codec');
      for (const cost of await validationCost()) printLine({ validation: cost.codec, ...cost });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

runBenchmark(main);
