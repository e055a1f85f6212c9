/**
 * Monitoring: Prometheus text of the mntr view on http://127.0.0.1:<port>/metrics, through
 * prom-client (the brokers' library too): gauges read from the stats when scraped, plus Node's
 * process metrics. The names and meanings are unchanged (docs/metrics.md).
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { LatencySummary, StatsResult } from '../shared/coordinator/protocol';

export { LatencyRecorder } from './store/store';

const GAUGES: [name: string, help: string, value: (stats: StatsResult) => number][] = [
  ['znodes', 'Znodes in the tree.', (s) => s.znodeCount],
  ['ephemerals', 'Ephemeral znodes.', (s) => s.ephemeralsCount],
  ['watches', 'Watches registered.', (s) => s.watchCount],
  ['sessions', 'Live sessions.', (s) => s.sessions],
  ['connections', 'Open client connections.', (s) => s.connections],
  ['outstanding_requests', 'Requests executed but not yet answered.', (s) => s.outstandingRequests],
  ['last_zxid', 'The last transaction id.', (s) => s.lastZxid],
  ['approximate_data_size_bytes', 'Approximate bytes of znode data and paths.', (s) => s.approximateDataSize],
  ['uptime_ms', 'Milliseconds since start.', (s) => s.uptimeMs],
];

const LATENCIES: [name: string, help: string, value: (stats: StatsResult) => LatencySummary][] = [
  ['request_latency_ms', 'Request latency in ms from arrival to response', (s) => s.requestLatencyMs],
  ['fsync_latency_ms', 'Store fsync latency in ms', (s) => s.fsyncLatencyMs],
];

/** The coordinator's metrics: `scrape()` reads `stats()` once and renders every metric from it. */
export function coordinatorMetrics(stats: () => StatsResult): { registry: Registry; scrape(): Promise<string> } {
  const registry = new Registry();
  const registers = [registry];
  // prom-client runs every collect synchronously at the start of registry.metrics(): one snapshot serves them all.
  let current: StatsResult = stats();
  for (const [name, help, value] of GAUGES) {
    new Gauge({ name: `samsa_coordinator_${name}`, help, registers, collect() { this.set(value(current)); } });
  }
  for (const [name, help, summary] of LATENCIES) {
    for (const key of ['min', 'avg', 'max'] as const) {
      new Gauge({ name: `samsa_coordinator_${name}_${key}`, help: `${help} (${key}).`, registers, collect() { this.set(summary(current)[key]); } });
    }
    new Counter({
      name: `samsa_coordinator_${name}_count`,
      help: `${help} (samples).`,
      registers,
      collect() {
        this.reset();
        this.inc(summary(current).count);
      },
    });
  }
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    scrape: () => {
      current = stats();
      return registry.metrics();
    },
  };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves GET /metrics on 127.0.0.1:port (0 = any free port). */
export async function startMetricsServer(port: number, stats: () => StatsResult): Promise<MetricsServer> {
  const { registry, scrape } = coordinatorMetrics(stats);
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || (request.url !== '/metrics' && !request.url?.startsWith('/metrics?'))) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    scrape().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
