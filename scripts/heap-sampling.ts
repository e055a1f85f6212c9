/**
 * A preload for measurements: samples what a process allocates, garbage included, and writes a
 * `.heapprofile` (open it in Chrome DevTools' Memory tab, or sum `samples` by node). Node's own
 * `--heap-prof` keeps only what is still alive when it stops, which says nothing about the young
 * objects a request makes and drops, the ones that cost scavenges.
 *
 *   BENCH_BROKER_NODE_ARGS="--require $PWD/dist/scripts/heap-sampling.js" \
 *   HEAP_SAMPLING_START_MS=6000 HEAP_SAMPLING_STOP_MS=14000 \
 *   BENCH_RF=3 BENCH_WORKLOADS=e2e BENCH_E2E_RATES=1000 node dist/scripts/bench.js
 *
 * With HEAP_SAMPLING_KEEP=promoted only the objects that survived their scavenges are kept.
 *
 * Sampling runs from HEAP_SAMPLING_START_MS to HEAP_SAMPLING_STOP_MS after the process starts
 * (defaults 6,000 and 14,000: past a benchmark's warm-up), every HEAP_SAMPLING_INTERVAL_BYTES
 * (4,096) on average; the profile goes to HEAP_SAMPLING_DIR (the working directory) as
 * `<pid>.heapprofile`, with `ms`, how long it sampled. The timers do not keep the process alive.
 */
import * as fs from 'fs';
import * as inspector from 'inspector';
import * as path from 'path';

const startMs = Number(process.env.HEAP_SAMPLING_START_MS ?? 6_000);
const stopMs = Number(process.env.HEAP_SAMPLING_STOP_MS ?? 14_000);
const intervalBytes = Number(process.env.HEAP_SAMPLING_INTERVAL_BYTES ?? 4_096);
const dir = process.env.HEAP_SAMPLING_DIR ?? process.cwd();

function report(what: string, error: Error | null): void {
  if (error !== null) process.stderr.write(`heap-sampling (pid ${process.pid}): ${what}: ${error.message}\n`);
}

const session = new inspector.Session();
session.connect();
setTimeout(() => {
  const began = Date.now();
  // The two include… flags keep samples of objects the GC has collected: the garbage is the point.
  // HEAP_SAMPLING_KEEP=promoted drops what a scavenge collected: what is left is what lived long
  // enough to be promoted (or is still alive), the objects that make scavenges long.
  const keepYoungGarbage = process.env.HEAP_SAMPLING_KEEP !== 'promoted';
  session.post('HeapProfiler.startSampling', { samplingInterval: intervalBytes, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: keepYoungGarbage } as object, (error) => report('start', error));
  setTimeout(() => {
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error !== null) return report('stop', error);
      const file = path.join(dir, `${process.pid}.heapprofile`);
      fs.writeFileSync(file, JSON.stringify({ ms: Date.now() - began, ...result.profile }));
      process.stderr.write(`heap-sampling (pid ${process.pid}): ${file}\n`);
    });
  }, Math.max(0, stopMs - startMs)).unref();
}, startMs).unref();
