/**
 * The broker's /metrics endpoint: Prometheus text on http://127.0.0.1:<port>/metrics.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/logging';

/** A scrape (or a client that never finishes its request) holds a connection at most this long. */
const METRICS_REQUEST_TIMEOUT_MS = 10_000;

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics from `registry` on 127.0.0.1:port (0 = any free port). */
export async function startMetricsServer(port: number, registry: Registry, logger: Logger): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || (request.url !== '/metrics' && !request.url?.startsWith('/metrics?'))) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'metrics.scrape_failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
      },
    );
  });
  server.headersTimeout = METRICS_REQUEST_TIMEOUT_MS;
  server.requestTimeout = METRICS_REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
