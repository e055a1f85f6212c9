/**
 * `samsa console`: the web console's process. It is an ordinary client of the cluster: one
 * coordinator session (watches for the live picture, reads for the znode browser), Kafka
 * connections found the way the CLI finds them, and a scrape of every broker's /metrics each
 * second for the charts. Nothing here needs privileged access to a broker.
 */
import http from 'http';
import type { AddressInfo } from 'net';
import { KafkaSession } from '../../cli/kafka-admin';
import type { Logger } from '../../shared/logging';
import { ClusterState } from './cluster-state';
import { RatesPoller } from './rates-poller';
import { createHandler } from './router';
import { ROUTES } from './routes';
import type { ConsoleContext } from './types';

export interface ConsoleOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  coordinator: string[];
  bootstrap: string[];
  /** How often every broker's /metrics is scraped for the charts. */
  scrapeIntervalMs: number;
}

export interface RunningConsole {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startConsole(options: ConsoleOptions, logger: Logger): Promise<RunningConsole> {
  const cluster = new ClusterState(options.coordinator, logger);
  await cluster.start();
  const kafka = new KafkaSession(options.bootstrap, { coordinator: options.coordinator.join(','), requestTimeoutMs: 10_000 });
  const rates = new RatesPoller(() => cluster.view.brokers, logger.child({ component: 'rates' }), { intervalMs: options.scrapeIntervalMs });
  rates.start();
  const context: ConsoleContext = {
    get coordinator() {
      return cluster.coordinator;
    },
    kafka,
    cluster,
    rates,
    logger,
  };
  const server = http.createServer(createHandler(ROUTES, context, logger));
  // Event streams stay open for as long as a page is: they must not count as idle.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  return {
    url,
    port,
    close: async () => {
      rates.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await kafka.close();
      await cluster.close();
    },
  };
}
