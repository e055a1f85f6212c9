/**
 * Monitoring: Prometheus text exposition of the mntr view on http://127.0.0.1:<port>/metrics.
 * Written by hand (a dozen gauges in the text format) rather than with a metrics library:
 * none is among the chosen packages and the format is a few lines.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
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

function latencyLines(name: string, help: string, summary: LatencySummary): string[] {
  const lines: string[] = [];
  for (const key of ['min', 'avg', 'max'] as const) {
    const metric = `samsa_coordinator_${name}_${key}`;
    lines.push(`# HELP ${metric} ${help} (${key}).`, `# TYPE ${metric} gauge`, `${metric} ${summary[key]}`);
  }
  const count = `samsa_coordinator_${name}_count`;
  lines.push(`# HELP ${count} ${help} (samples).`, `# TYPE ${count} counter`, `${count} ${summary.count}`);
  return lines;
}

export function prometheusText(stats: StatsResult): string {
  const lines: string[] = [];
  for (const [name, help, value] of GAUGES) {
    const metric = `samsa_coordinator_${name}`;
    lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} gauge`, `${metric} ${value(stats)}`);
  }
  lines.push(...latencyLines('request_latency_ms', 'Request latency in ms from arrival to response', stats.requestLatencyMs));
  lines.push(...latencyLines('fsync_latency_ms', 'Store fsync latency in ms', stats.fsyncLatencyMs));
  return lines.join('\n') + '\n';
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves GET /metrics on 127.0.0.1:port (0 = any free port). */
export async function startMetricsServer(port: number, stats: () => StatsResult): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || (request.url !== '/metrics' && !request.url?.startsWith('/metrics?'))) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(prometheusText(stats()));
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
