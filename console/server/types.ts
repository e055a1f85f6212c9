/**
 * The console's server-side contract: what a route gets (the request, parsed; the console's
 * shared connections) and what it gives back (a JSON body, or a stream of server-sent events).
 * Each concern owns one module under routes/ exporting `routes: Route[]`; routes/index.ts lists them.
 */
import type { CoordinatorClient } from '../../shared/coordinator/client';
import type { Logger } from '../../shared/logging';
import type { KafkaSession } from '../../cli/kafka-admin';
import type { ClusterState } from './cluster-state';
import type { Exposition } from '../../shared/metrics/prometheus-text';
import type { RatesSample } from '../web/src/api-types';
export type { RatesSample, TrafficRates } from '../web/src/api-types';

export interface ConsoleContext {
  /** One session with the coordinator for the console's life (reconnects by itself). */
  coordinator: CoordinatorClient;
  /** Kafka connections, opened on demand, finding live brokers as the CLI does (cli/kafka-admin.ts). */
  kafka: KafkaSession;
  /** The live cluster picture (brokers, controller, partitions), kept current through watches. */
  cluster: ClusterState;
  /** Every live broker's /metrics scraped each second, as rates. */
  rates: RatesSource;
  logger: Logger;
}

export interface ConsoleRequest {
  method: string;
  /** The URL path without the query, percent-decoded per segment into `params`. */
  path: string;
  /** `:name` segments of the route's pattern; a trailing `*rest` takes the rest of the path (with its slashes). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body (POST/PUT/PATCH/DELETE); undefined when none was sent. */
  body: unknown;
}

/** A JSON answer; status 200 unless given. */
export interface JsonResult {
  status?: number;
  body: unknown;
}

/** Thrown by a handler for a clear client-facing error: `{ "error": message }` with `status`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A server-sent event stream: `send` writes one event; `onClose` runs when the browser goes (release watches there). */
export interface EventStream {
  send(event: string, data: unknown): void;
  onClose(cleanup: () => void): void;
  readonly closed: boolean;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type Route =
  | { method: Method; pattern: string; handler: (request: ConsoleRequest, context: ConsoleContext) => Promise<JsonResult> }
  | { method: 'GET'; pattern: string; events: (request: ConsoleRequest, context: ConsoleContext, stream: EventStream) => void | Promise<void> };

/** console/server/rates-poller.ts implements it: scrapes each live broker's registered metrics URL every second. */
export interface RatesSource {
  /** The samples of the last few minutes, oldest first. */
  history(): RatesSample[];
  /** Each new sample as it is taken; returns the unsubscribe function. */
  subscribe(listener: (sample: RatesSample) => void): () => void;
  /** The latest successful scrape per broker id (log sizes, end offsets, group lag, … for other pages). */
  latest(): Map<number, Exposition>;
  close(): void;
}
