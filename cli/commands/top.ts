/**
 * `samsa top`: the cluster's traffic live in the terminal. The brokers and their /metrics URLs
 * come from their registrations in the coordinator (as `samsa cluster` falls back to); every
 * interval each broker's /metrics is scraped (all at once, bounded under the interval), and a
 * frame shows per broker and topic records and bytes in/out per second, produce and fetch p99,
 * and the under-replicated and offline counts (cli/top-view.ts). A broker that stops answering
 * is shown DOWN (GONE once its registration ends), never a crash.
 *
 * The screen is cleared between frames on a terminal; piped, frames follow one another (or one
 * JSON object per line with --json). --iterations N stops after N frames, else Ctrl-C does.
 */
import type { Argv, CommandModule } from 'yargs';
import { registeredBrokers, type RegisteredBroker } from '../broker-discovery';
import { coordinatorOption, type CoordinatorArgs } from '../cluster-tree';
import { CliError } from '../kafka-admin';
import { scrape, type TimedScrape } from '../../shared/metrics/broker-rates';
import { buildFrame, frameJson, renderFrame, type BrokerObservation } from '../top-view';

/** The brokers are looked up again this often (in the background, so a slow coordinator never delays a frame)… */
const REDISCOVERY_INTERVAL_MS = 5000;
/** …and sooner when a scrape failed (the broker may be gone), but not more often than this: each look-up is a coordinator session. */
const REDISCOVERY_AFTER_FAILURE_MS = 1000;
/** A scrape may take this share of the interval. */
const SCRAPE_TIMEOUT_SHARE = 0.8;
const SCRAPE_TIMEOUT_MS_MAX = 5000;
const INTERVAL_SEC_MIN = 0.1;
/** Home the cursor and clear the screen. */
const CLEAR = '\x1b[H\x1b[2J';

interface TopArgs extends CoordinatorArgs {
  interval: number;
  iterations: number;
  json: boolean;
}

interface Known {
  metricsUrl: string | null;
  registered: boolean;
  last: TimedScrape | null;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The registered brokers merged into what was seen before: new ones added, gone ones kept as unregistered. */
function merge(known: Map<number, Known>, registered: RegisteredBroker[]): void {
  const ids = new Set(registered.map((b) => b.id));
  for (const [id, entry] of known) if (!ids.has(id)) entry.registered = false;
  for (const broker of registered) {
    const entry = known.get(broker.id);
    // A new URL is a new process: no rate across the two.
    if (entry === undefined || entry.metricsUrl !== broker.metricsUrl) known.set(broker.id, { metricsUrl: broker.metricsUrl, registered: true, last: null });
    else entry.registered = true;
  }
}

async function scrapeAll(known: Map<number, Known>, timeoutMs: number): Promise<BrokerObservation[]> {
  return Promise.all(
    [...known].map(async ([id, entry]): Promise<BrokerObservation> => {
      const base = { id, metricsUrl: entry.metricsUrl, registered: entry.registered, previous: entry.last };
      if (entry.metricsUrl === null) return { ...base, current: null, error: null };
      try {
        const exposition = await scrape(entry.metricsUrl, timeoutMs);
        return { ...base, current: { at: Date.now(), exposition }, error: null };
      } catch (error) {
        return { ...base, current: null, error: message(error) };
      }
    }),
  );
}

/** Each successful scrape becomes its broker's `last`, unless the broker re-registered at another URL meanwhile. */
function remember(known: Map<number, Known>, observations: BrokerObservation[]): void {
  for (const observation of observations) {
    const entry = known.get(observation.id);
    if (observation.current !== null && entry !== undefined && entry.metricsUrl === observation.metricsUrl) entry.last = observation.current;
  }
}

export const topCommand: CommandModule<unknown, TopArgs> = {
  command: 'top',
  describe: 'live per broker and topic: records and bytes in/out per second, produce/fetch p99, under-replicated and offline counts',
  builder: (yargs) =>
    coordinatorOption(yargs)
      .option('interval', { type: 'number', default: 1, describe: `seconds between frames (at least ${INTERVAL_SEC_MIN})` })
      .option('iterations', { type: 'number', default: 0, describe: 'stop after this many frames (0: until Ctrl-C)' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object per frame and line' })
      .example('$0 top', '')
      .example('$0 top --iterations 1 --json | jq .topics', '') as Argv<TopArgs>,
  handler: async (args) => {
    if (!(args.interval >= INTERVAL_SEC_MIN)) throw new CliError(`INVALID_REQUEST: --interval must be at least ${INTERVAL_SEC_MIN} s`);
    if (!Number.isInteger(args.iterations) || args.iterations < 0) throw new CliError('INVALID_REQUEST: --iterations must be a whole number, 0 for no limit');
    const intervalMs = args.interval * 1000;
    const scrapeTimeoutMs = Math.min(SCRAPE_TIMEOUT_MS_MAX, Math.floor(intervalMs * SCRAPE_TIMEOUT_SHARE));
    const known = new Map<number, Known>();
    try {
      merge(known, await registeredBrokers(args.coordinator));
    } catch (error) {
      throw new CliError(`COORDINATOR_NOT_AVAILABLE: coordinator ${args.coordinator}: ${message(error)}`);
    }

    let stopped = false;
    let wake: (() => void) | null = null;
    const stop = (): void => {
      stopped = true;
      wake?.();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });

    let coordinatorError: string | null = null;
    let discovery: Promise<void> | null = null;
    let discoveredAt = Date.now();
    const rediscover = (): void => {
      if (discovery !== null) return;
      discoveredAt = Date.now();
      discovery = registeredBrokers(args.coordinator)
        .then(
          (brokers) => {
            merge(known, brokers);
            coordinatorError = null;
          },
          (error: unknown) => {
            coordinatorError = message(error);
          },
        )
        .finally(() => {
          discovery = null;
        });
    };

    const tty = process.stdout.isTTY === true && !args.json;
    try {
      // The baseline: rates need two scrapes, so the first frame comes one interval later.
      let tickStart = performance.now();
      remember(known, await scrapeAll(known, scrapeTimeoutMs));
      for (let frames = 0; !stopped && (args.iterations === 0 || frames < args.iterations); frames++) {
        await sleep(Math.max(0, intervalMs - (performance.now() - tickStart)));
        if (stopped) break;
        tickStart = performance.now();
        const observations = await scrapeAll(known, scrapeTimeoutMs);
        remember(known, observations);
        const frame = buildFrame(Date.now(), observations, coordinatorError);
        if (args.json) process.stdout.write(`${JSON.stringify(frameJson(frame))}\n`);
        else process.stdout.write(`${tty ? CLEAR : frames > 0 ? '\n' : ''}${renderFrame(frame, { intervalSec: args.interval })}`);
        const sinceDiscovery = Date.now() - discoveredAt;
        if (sinceDiscovery >= REDISCOVERY_INTERVAL_MS || (sinceDiscovery >= REDISCOVERY_AFTER_FAILURE_MS && observations.some((o) => o.error !== null))) rediscover();
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // A lookup still running ends within its own timeout; wait for it so its session is closed cleanly.
      await (discovery as Promise<void> | null);
    }
  },
};
