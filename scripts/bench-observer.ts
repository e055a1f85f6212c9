/**
 * The "observed" runs of `make bench` (BENCH_OBSERVED=1, `make bench-observed`): the issue asks
 * that metrics scraped every second and the console open leave produce and consume within 5% of
 * the same workloads without them. While a Samsa workload runs observed, a separate process
 * (this file run as a script, like a Prometheus server beside the cluster) keeps up to three
 * watchers busy, each a part one can leave out (BENCH_OBSERVER=scrape,console,browser):
 *   - scrape: GETs every broker's /metrics (found as Prometheus's service discovery would: the
 *     `metricsUrl` of each /brokers/ids/<id> registration) and the coordinator's, every second,
 *     and parses the text strictly (shared/metrics/prometheus-text.ts);
 *   - console: `samsa console` against the cluster (it polls the brokers and scrapes /metrics itself);
 *   - browser: Debian's headless Chromium (playwright-core) with the overview `#/` open in one tab
 *     and the live charts `#/charts` in another (BENCH_OBSERVER_PAGES=#/,#/charts).
 * Plain runs have none of them; metrics collection is on in both (it is on by default).
 * The bench process only starts and stops this child, so no watcher competes with the load
 * generator's event loop; the child reports the CPU each watcher took (/proc), and the bench
 * the CPU the brokers took, so a gap can be put down to its cause on a 2-core machine.
 * Everything is stopped by pid; every wait is bounded.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { performance } from 'perf_hooks';
import type { Browser, Page } from 'playwright-core';
import { CoordinatorClient } from '../shared/coordinator/client';
import { parseExposition } from '../shared/metrics/prometheus-text';
import { key, Labels, printLine, Result, Results } from './bench-results';
import { CLOCK_TICKS_PER_SECOND, cpuByPid, cpuSeconds, freePort, log, REPO_ROOT, SAMSA_ROOT, SamsaCluster, statFields } from './bench-support';

export type ObserverPart = 'scrape' | 'console' | 'browser';
export const OBSERVER_PARTS: ObserverPart[] = ['scrape', 'console', 'browser'];

/** Prometheus's scrape_interval as the issue asks (every second); a scrape taking longer is abandoned (scrape_timeout ≤ interval). */
const SCRAPE_INTERVAL_MS = 1000;
/** After the watchers are up, before the workload starts: the pages' first renders and event streams are in by then. */
const SETTLE_MS = Number(process.env.BENCH_OBSERVER_SETTLE_MS ?? 2000);
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
/** The child gives up on its own after this long, whatever the bench does. */
const MAX_LIFETIME_MS = 60 * 60_000;
const CHROMIUM = process.env.SAMSA_CHROMIUM ?? '/usr/bin/chromium';
/** The console's pages open in the browser, one tab each: the overview and the live charts (BENCH_OBSERVER_PAGES, for finding what a page costs). */
const PAGES = (process.env.BENCH_OBSERVER_PAGES ?? '#/,#/charts').split(',').filter(Boolean);

// ---------------------------------------------------------------------------------------------
// CPU time of process trees, from /proc (Linux).

/** pid → parent pid of every process visible now. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields !== null) out.set(Number(entry), Number(fields[1]));
  }
  return out;
}

/** `root` and every process below it now. */
export function processTree(root: number, table = parents()): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, parent] of table) if (parent === out[i]) out.push(pid);
  return out;
}

/**
 * CPU seconds a changing set of processes (Chromium starts and ends helpers) took between two
 * readings: each process now, less what it had then (0 if new). One that ended in between is
 * left out (what it took after the first reading is lost; Chromium's helpers live as long as the tabs).
 */
export function cpuSince(then: Map<number, number>, now: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of now) total += seconds - (then.get(pid) ?? 0);
  return total;
}

/** CPU seconds the whole machine spent busy (every core, /proc/stat), to see what else ran during a block. */
export function machineBusySeconds(): number {
  const [, user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS_PER_SECOND;
}

// ---------------------------------------------------------------------------------------------
// The watchers (the child process).

interface ChildOptions {
  coordinatorUrl: string;
  coordinatorMetricsUrl: string | null;
  bootstrap: string;
  brokers: number;
  parts: ObserverPart[];
}

export interface ObserverSummary {
  parts: ObserverPart[];
  seconds: number;
  targets: number;
  scrapes: number;
  scrapeFailures: number;
  lastScrapeError?: string;
  /** Samples per target in the last round of scrapes. */
  samplesPerTarget: number[];
  scrapeP50Ms: number;
  scrapeMaxMs: number;
  /** Did the pages' content change while the workload ran (they are live)? */
  pagesChanged?: boolean;
  /** CPU seconds each watcher took between ready and stop. */
  cpu: { observer: number; console?: number; chromium?: number };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One GET of a /metrics URL, as Prometheus asks for it (text format 0.0.4), bounded by the scrape interval. */
function scrapeOnce(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, timeout: SCRAPE_INTERVAL_MS, headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`${url}: HTTP ${response.statusCode}`))));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer within ${SCRAPE_INTERVAL_MS} ms`)));
    request.on('error', reject);
  });
}

/** Each broker's registered metrics URL, once all `brokers` have registered one (bounded). */
async function discoverTargets(coordinatorUrl: string, brokers: number): Promise<string[]> {
  const client = new CoordinatorClient({ servers: [coordinatorUrl] });
  await client.connect();
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { children } = await client.getChildren('/brokers/ids');
      const urls: string[] = [];
      for (const id of children) {
        const { data } = await client.getData(`/brokers/ids/${id}`);
        const url = (JSON.parse(data) as { metricsUrl?: string | null }).metricsUrl;
        if (typeof url === 'string') urls.push(url);
      }
      if (urls.length >= brokers) return urls;
      if (Date.now() > deadline) throw new Error(`only ${urls.length} of ${brokers} brokers registered a metricsUrl (are their metrics off?)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await client.close();
  }
}

class Scraper {
  scrapes = 0;
  failures = 0;
  lastError: string | undefined;
  samplesPerTarget: number[] = [];
  readonly durations: number[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly targets: string[]) {}

  start(): void {
    const round = async (): Promise<void> => {
      const samples = this.targets.map(() => 0);
      await Promise.all(
        this.targets.map(async (url, i) => {
          const at = performance.now();
          try {
            samples[i] = parseExposition(await scrapeOnce(url)).samples.length;
            this.durations.push(performance.now() - at);
            this.scrapes++;
          } catch (error) {
            this.failures++;
            this.lastError = error instanceof Error ? error.message : String(error);
          }
        }),
      );
      this.samplesPerTarget = samples;
    };
    void round();
    this.timer = setInterval(() => void round(), SCRAPE_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  /** Counts from now on (the workload's window), not the set-up's. */
  resetCounts(): void {
    this.scrapes = 0;
    this.failures = 0;
    this.durations.length = 0;
  }
}

/** `samsa console` on a free port; resolves with its URL once it logged console.ready. */
async function startConsole(options: ChildOptions): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(SAMSA_ROOT, 'bin', 'samsa.js'), 'console', '--port', String(port), '--host', '127.0.0.1', '--coordinator', options.coordinatorUrl, '--bootstrap', options.bootstrap], {
    cwd: REPO_ROOT,
    env: { ...process.env, SAMSA_LOG_PRETTY: 'false', SAMSA_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const deadline = Date.now() + 30_000;
  while (!output.includes('"msg":"console.ready"')) {
    if (child.exitCode !== null) throw new Error(`samsa console exited ${child.exitCode}: ${output.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`samsa console not ready within 30 s: ${output.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, url: `http://127.0.0.1:${port}` };
}

/**
 * Headless Debian Chromium through playwright-core, with the flags of the console's browser
 * tests (test/helpers/browser.ts; scripts do not import from test/): off the network this
 * machine does not have, and runnable as root in a container.
 */
async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-deps.sh chromium, or BENCH_OBSERVER=scrape,console`);
  // Loaded here, not at the top: plain bench runs never need it.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** What a page shows now, to tell whether it updated (the live pages re-render as events come). */
const PAGE_TEXT = 'document.getElementById("page") ? document.getElementById("page").innerHTML : ""';

async function runChild(options: ChildOptions): Promise<void> {
  const startedAt = performance.now();
  const out = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
  let scraper: Scraper | null = null;
  let consoleProcess: ChildProcess | null = null;
  let browser: Browser | null = null;
  const pages: Page[] = [];
  let stopping = false;
  // A SIGTERM before ready (the bench gave up waiting) stops us as soon as setup ends.
  const stopSignal = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));

  const cleanUp = async (): Promise<void> => {
    scraper?.stop();
    agent.destroy();
    if (browser !== null) await browser.close().catch(() => undefined);
    if (consoleProcess !== null && consoleProcess.exitCode === null && consoleProcess.signalCode === null) {
      const exited = new Promise((resolve) => consoleProcess!.once('exit', resolve));
      consoleProcess.kill('SIGTERM');
      const timer = setTimeout(() => consoleProcess!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const lifetime = setTimeout(() => void cleanUp().finally(() => process.exit(2)), MAX_LIFETIME_MS);
  // The bench holds our stdin: when it goes (killed), so do we and what we started.
  process.stdin.on('end', () => void cleanUp().finally(() => process.exit(3)));
  process.stdin.resume();

  try {
    let targets: string[] = [];
    if (options.parts.includes('scrape')) {
      targets = await discoverTargets(options.coordinatorUrl, options.brokers);
      if (options.coordinatorMetricsUrl !== null) targets.push(options.coordinatorMetricsUrl);
      scraper = new Scraper(targets);
      scraper.start();
    }
    if (options.parts.includes('console')) {
      const started = await startConsole(options);
      consoleProcess = started.child;
      if (options.parts.includes('browser')) {
        browser = await launchChromium();
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        for (const hash of PAGES) {
          const page = await context.newPage();
          await page.goto(`${started.url}/${hash}`, { waitUntil: 'load', timeout: 30_000 });
          await page.waitForFunction('document.getElementById("page") !== null && document.getElementById("page").childElementCount > 0', undefined, { timeout: 30_000 });
          pages.push(page);
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const table = parents();
    const consolePids = consoleProcess?.pid !== undefined ? processTree(consoleProcess.pid, table) : [];
    const chromiumPids = processTree(process.pid, table).filter((pid) => pid !== process.pid && !consolePids.includes(pid));
    const cpuAtReady = { observer: process.cpuUsage(), console: cpuByPid(consolePids), chromium: cpuByPid(chromiumPids) };
    const readyAt = performance.now();
    scraper?.resetCounts();
    const pagesAtReady = await Promise.all(pages.map((page) => page.evaluate<string>(PAGE_TEXT)));
    out({ event: 'observer.ready', pid: process.pid, consolePid: consoleProcess?.pid ?? null, chromiumPids, targets, setupSeconds: Number(((readyAt - startedAt) / 1000).toFixed(2)) });

    await stopSignal;
    stopping = true;
    scraper?.stop();
    const pagesAtStop = await Promise.all(pages.map((page) => page.evaluate<string>(PAGE_TEXT).catch(() => '')));
    const now = parents();
    const consoleNow = consoleProcess?.pid !== undefined ? processTree(consoleProcess.pid, now) : [];
    const chromiumNow = processTree(process.pid, now).filter((pid) => pid !== process.pid && !consoleNow.includes(pid));
    const observerCpu = process.cpuUsage(cpuAtReady.observer);
    const sorted = [...(scraper?.durations ?? [])].sort((a, b) => a - b);
    const summary: ObserverSummary = {
      parts: options.parts,
      seconds: Number(((performance.now() - readyAt) / 1000).toFixed(2)),
      targets: targets.length,
      scrapes: scraper?.scrapes ?? 0,
      scrapeFailures: scraper?.failures ?? 0,
      ...(scraper?.lastError !== undefined ? { lastScrapeError: scraper.lastError } : {}),
      samplesPerTarget: scraper?.samplesPerTarget ?? [],
      scrapeP50Ms: Number((sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(1)),
      scrapeMaxMs: Number((sorted[sorted.length - 1] ?? 0).toFixed(1)),
      ...(pages.length > 0 ? { pagesChanged: pagesAtStop.some((text, i) => text !== pagesAtReady[i]) } : {}),
      cpu: {
        observer: Number(((observerCpu.user + observerCpu.system) / 1e6).toFixed(2)),
        ...(consoleProcess !== null ? { console: Number(cpuSince(cpuAtReady.console, cpuByPid(consoleNow)).toFixed(2)) } : {}),
        ...(browser !== null ? { chromium: Number(cpuSince(cpuAtReady.chromium, cpuByPid(chromiumNow)).toFixed(2)) } : {}),
      },
    };
    await cleanUp();
    out({ event: 'observer.stopped', ...summary });
  } catch (error) {
    if (!stopping) out({ event: 'observer.failed', error: error instanceof Error ? error.message : String(error) });
    await cleanUp();
    process.exitCode = 1;
  } finally {
    clearTimeout(lifetime);
  }
  process.exit();
}

// ---------------------------------------------------------------------------------------------
// The bench's side.

export interface RunningObserver {
  stop(): Promise<ObserverSummary | null>;
}

/** Starts the watchers for `cluster` in a child process and resolves once they are up and settled. */
export async function startObserver(cluster: SamsaCluster, parts: ObserverPart[]): Promise<RunningObserver> {
  const options: ChildOptions = {
    coordinatorUrl: `ws://127.0.0.1:${cluster.coordinatorPort}`,
    coordinatorMetricsUrl: `http://127.0.0.1:${cluster.coordinatorMetricsPort}/metrics`,
    bootstrap: cluster.brokers.map((b) => `127.0.0.1:${b.port}`).join(','),
    brokers: cluster.brokers.length,
    parts,
  };
  const child = spawn(process.execPath, [__filename, JSON.stringify(options)], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  // Complete lines only (the last piece may still be arriving).
  const lines = (): Array<Record<string, unknown>> => stdout.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const find = (event: string): Record<string, unknown> | undefined => lines().find((l) => l.event === event);
  let strayPids: number[] = [];
  // Should the bench die, whatever the child started goes by pid.
  const onExit = (): void => {
    for (const pid of [child.pid!, ...strayPids]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  };
  process.once('exit', onExit);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = find('observer.ready');
    if (ready !== undefined) {
      strayPids = [...(ready.consolePid !== null ? [ready.consolePid as number] : []), ...(ready.chromiumPids as number[])];
      log(`observer up (${parts.join(', ')}) in ${String(ready.setupSeconds)} s: scraping ${(ready.targets as string[]).length} targets`);
      break;
    }
    const failed = find('observer.failed');
    if (failed !== undefined || child.exitCode !== null || Date.now() > deadline) {
      onExit();
      process.off('exit', onExit);
      throw new Error(`observer did not start: ${failed !== undefined ? String(failed.error) : 'no ready line'} ${stderr.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    async stop(): Promise<ObserverSummary | null> {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(onExit, STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', onExit);
      const stopped = find('observer.stopped');
      if (stopped === undefined) {
        onExit(); // its console and browser, should it have died before stopping them
        log(`observer ended without a summary: ${stderr.slice(-2000)}`);
        return null;
      }
      const { event: _event, ...summary } = stopped;
      return summary as unknown as ObserverSummary;
    },
  };
}

/** BENCH_OBSERVED=1 runs of `runs` rounds: plain first in even rounds, observed first in odd ones (ABBA: linear drift cancels). */
export function modesOfRound(observed: boolean, round: number): boolean[] {
  if (!observed) return [false];
  return round % 2 === 0 ? [false, true] : [true, false];
}

interface Block {
  observed: boolean;
  /** rf, acks, recordBytes, run. */
  what: Record<string, unknown>;
  brokerCpuSeconds: number;
  /** The watchers' CPU seconds (scraper + playwright, console, Chromium). */
  watcherCpuSeconds: number;
  otherCpuSeconds: number;
  seconds: number;
}
const blocks: Block[] = [];
/**
 * How long the last observed block's watchers took to come up. A plain block waits as long
 * before it starts: without it an A/A run (BENCH_OBSERVER= : watchers that do nothing) measured
 * "observed" ~18% faster, because the pause let the previous block's writeback and topic
 * deletion finish before the clock started.
 */
let lastSetupMs = 5000;

/**
 * Runs `body` plain or observed and prints one JSON line for the block: the brokers' and the
 * coordinator's CPU seconds over it, and (observed) the watchers' summary.
 */
export async function runInMode(cluster: SamsaCluster, observed: boolean, parts: ObserverPart[], what: object, body: () => Promise<void>): Promise<void> {
  const setupStarted = performance.now();
  const observer = observed ? await startObserver(cluster, parts) : null;
  if (observed) lastSetupMs = performance.now() - setupStarted;
  else await new Promise((resolve) => setTimeout(resolve, lastSetupMs));
  const brokerPids = cluster.brokers.map((b) => b.process.child.pid!);
  const brokersBefore = cpuSeconds(brokerPids);
  const coordinatorBefore = cpuSeconds([cluster.coordinator.child.pid!]);
  const machineBefore = machineBusySeconds();
  const benchBefore = process.cpuUsage();
  const started = performance.now();
  let summary: ObserverSummary | null = null;
  try {
    await body();
  } finally {
    const seconds = (performance.now() - started) / 1000;
    const brokerCpuSeconds = cpuSeconds(brokerPids) - brokersBefore;
    const coordinatorCpuSeconds = cpuSeconds([cluster.coordinator.child.pid!]) - coordinatorBefore;
    const bench = process.cpuUsage(benchBefore);
    const machineCpuSeconds = machineBusySeconds() - machineBefore;
    if (observer !== null) summary = await observer.stop();
    const s2 = (x: number): number => Number(x.toFixed(2));
    // machineCpuSeconds less the brokers', the coordinator's, the bench's and (observed) the watchers': what else this machine ran meanwhile.
    const watchers = summary !== null ? summary.cpu.observer + (summary.cpu.console ?? 0) + (summary.cpu.chromium ?? 0) : 0;
    const benchCpuSeconds = (bench.user + bench.system) / 1e6;
    const otherCpuSeconds = machineCpuSeconds - brokerCpuSeconds - coordinatorCpuSeconds - benchCpuSeconds - watchers;
    blocks.push({ observed, what: what as Record<string, unknown>, brokerCpuSeconds, watcherCpuSeconds: watchers, otherCpuSeconds, seconds });
    printLine({ block: observed ? 'observed' : 'plain', ...what, seconds: s2(seconds), brokerCpuSeconds: s2(brokerCpuSeconds), coordinatorCpuSeconds: s2(coordinatorCpuSeconds), benchCpuSeconds: s2(benchCpuSeconds), machineCpuSeconds: s2(machineCpuSeconds), otherCpuSeconds: s2(otherCpuSeconds), ...(summary !== null ? { observer: summary } : {}) });
  }
}

const round2 = (x: number): number => Number(x.toFixed(2));

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
}

/**
 * Per block (rf, acks, size): the brokers' CPU seconds plain and observed (medians). Unlike
 * records/s it does not move with what else the machine runs, so it shows what the scrapes and
 * the console's requests cost the brokers themselves; the watchers' own CPU is what they take
 * from the cores the brokers share.
 */
function printBlockCosts(): void {
  const groups = new Map<string, Block[]>();
  for (const block of blocks) {
    const { run: _run, ...what } = block.what;
    const k = JSON.stringify(what);
    groups.set(k, [...(groups.get(k) ?? []), block]);
  }
  for (const [k, group] of groups) {
    const plain = group.filter((b) => !b.observed);
    const observed = group.filter((b) => b.observed);
    if (plain.length === 0 || observed.length === 0) continue;
    const brokerPlain = medianOf(plain.map((b) => b.brokerCpuSeconds));
    const brokerObserved = medianOf(observed.map((b) => b.brokerCpuSeconds));
    const watcherShare = medianOf(observed.map((b) => b.watcherCpuSeconds / b.seconds));
    const other = medianOf(group.map((b) => b.otherCpuSeconds / b.seconds));
    printLine({ cost: 'observed/plain', ...(JSON.parse(k) as object), blocks: group.length, brokerCpuSecondsPlain: round2(brokerPlain), brokerCpuSecondsObserved: round2(brokerObserved), brokerCpu: round2(brokerObserved / brokerPlain), watcherCores: round2(watcherShare), otherCores: round2(other) });
    log(`  brokers' CPU per block ${JSON.stringify(JSON.parse(k))}: plain ${brokerPlain.toFixed(2)} s, observed ${brokerObserved.toFixed(2)} s (${(brokerObserved / brokerPlain).toFixed(2)}×); the watchers took ${watcherShare.toFixed(2)} cores, other processes ${other.toFixed(2)} cores`);
  }
}

/** Per workload run both ways: the medians, observed/plain, and whether it is within the issue's 5%. */
export function printObservedRatios(results: Results): void {
  const seen = new Set<string>();
  for (const result of results.all()) {
    if (result.observed !== true) continue;
    const labels: Labels = { system: result.system, rf: result.rf, acks: result.acks, client: result.client, workload: result.workload, recordBytes: result.recordBytes, rate: result.rate };
    if (seen.has(key(labels))) continue;
    seen.add(key(labels));
    const plain = results.median({ ...labels, observed: false });
    const observedRun = results.median({ ...labels, observed: true });
    if (plain === undefined || observedRun === undefined) continue;
    const ratio = round2(observedRun.recordsPerSecond / plain.recordsPerSecond);
    const plainRuns = results.all().filter((x) => key(x) === key(plain));
    const observedRuns = results.all().filter((x) => key(x) === key(observedRun));
    // The i-th plain and i-th observed run are of the same round (minutes apart at most): the median of their ratios cancels slower swings of the machine's other load.
    const paired = round2(medianOf(observedRuns.slice(0, plainRuns.length).map((r, i) => r.recordsPerSecond / plainRuns[i]!.recordsPerSecond)));
    const spread = (runs: Result[]): number[] => [Math.min(...runs.map((r) => r.recordsPerSecond)), Math.max(...runs.map((r) => r.recordsPerSecond))];
    printLine({ ratio: 'observed/plain', workload: labels.workload, rf: labels.rf, ...(labels.acks !== undefined ? { acks: labels.acks === -1 ? 'all' : String(labels.acks) } : {}), ...(labels.client !== undefined ? { client: labels.client } : {}), recordBytes: labels.recordBytes, runs: plainRuns.length, plainRecordsPerSecond: plain.recordsPerSecond, observedRecordsPerSecond: observedRun.recordsPerSecond, recordsPerSecond: ratio, pairedMedian: paired, plainRange: spread(plainRuns), observedRange: spread(observedRuns), within5Percent: ratio >= 0.95 });
    log(`Samsa RF${labels.rf}${labels.acks !== undefined ? ` acks=${labels.acks === -1 ? 'all' : labels.acks}` : ''} ${labels.workload}${labels.client !== undefined ? ` (${labels.client})` : ''} ${labels.recordBytes} B: plain ${plain.recordsPerSecond} rec/s, observed ${observedRun.recordsPerSecond} rec/s (${ratio.toFixed(2)}×, medians of ${plainRuns.length}; median of the rounds' ratios ${paired.toFixed(2)}×)`);
  }
  printBlockCosts();
}

if (require.main === module) {
  void runChild(JSON.parse(process.argv[2]!) as ChildOptions);
}
