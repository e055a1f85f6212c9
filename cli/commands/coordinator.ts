/**
 * `samsa coordinator`: run the coordinator in the foreground; `samsa coordinator stats`: its mntr view.
 */
import type { Argv, CommandModule } from 'yargs';
import { WebSocket } from 'ws';
import { loadCoordinatorConfig } from '../../coordinator/config';
import { startCoordinator } from '../../coordinator/main';
import { PROTOCOL_VERSION, StatsResult } from '../../shared/coordinator/protocol';
import { createLogger, loggingOptionsFromEnv } from '../../shared/logging';

interface RunArgs {
  port?: number;
  host?: string;
  'data-dir'?: string;
  store?: string;
  'metrics-port'?: number;
  'session-timeout-min-ms'?: number;
  'session-timeout-max-ms'?: number;
  'snapshot-every-txns'?: number;
  'snapshot-tree-ratio'?: number;
  'container-check-interval-ms'?: number;
  'super-digest'?: string;
  'data-total-bytes-max'?: number;
  'znode-count-max'?: number;
  'enforce-quota'?: boolean;
  'redis-prefix'?: string;
  'lease-ms'?: number;
  'redis-wait'?: number;
  'advertised-url'?: string;
  fsync?: boolean;
  'log-level'?: string;
}

interface StatsArgs {
  server?: string;
  json?: boolean;
  'timeout-ms': number;
}

async function run(args: RunArgs): Promise<void> {
  const config = loadCoordinatorConfig(process.env, {
    host: args.host,
    port: args.port,
    dataDir: args['data-dir'],
    store: args.store,
    redisPrefix: args['redis-prefix'],
    leaseMs: args['lease-ms'],
    redisWait: args['redis-wait'],
    advertisedUrl: args['advertised-url'],
    metricsPort: args['metrics-port'],
    sessionTimeoutMinMs: args['session-timeout-min-ms'],
    sessionTimeoutMaxMs: args['session-timeout-max-ms'],
    snapshotEveryTxns: args['snapshot-every-txns'],
    snapshotTreeRatio: args['snapshot-tree-ratio'],
    containerCheckIntervalMs: args['container-check-interval-ms'],
    superDigest: args['super-digest'],
    dataTotalBytesMax: args['data-total-bytes-max'],
    znodeCountMax: args['znode-count-max'],
    enforceQuota: args['enforce-quota'],
    fsync: args.fsync,
  });
  const logger = createLogger(loggingOptionsFromEnv(process.env, args['log-level']));
  const running = await startCoordinator(config, logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(1); // a second Ctrl-C: leave now
    }
    stopping = true;
    logger.info({ signal }, 'coordinator.stopping');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'coordinator.stop_failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Runs until a signal: the handler's promise never settles.
  await new Promise<never>(() => undefined);
}

/** A one-shot exchange (connect, stats, close); the full client library is not needed for this. */
/** What a standby reports about itself (in the headers of its redirect). */
export interface StandbyStats {
  role: 'standby';
  activeUrl: string | null;
  leaseEpoch: number | null;
  appliedZxid: number;
  lag: number;
}

function fetchStats(url: string, timeoutMs: number): Promise<StatsResult | StandbyStats> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { handshakeTimeout: timeoutMs });
    let result: StatsResult | null = null;
    // A standby coordinator (Redis store) answers the upgrade with a redirect (or 503 while nobody
    // is active) carrying its figures in headers: report those, do not follow.
    socket.on('unexpected-response', (_request, response) => {
      const header = (name: string): string | undefined => {
        const value = response.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      if (header('x-samsa-role') !== 'standby') return finish(new Error(`ConnectionLoss: ${url} answered HTTP ${response.statusCode}`));
      const epoch = header('x-samsa-lease-epoch');
      standby = { role: 'standby', activeUrl: header('x-samsa-active') ?? null, leaseEpoch: epoch === undefined || epoch === '' ? null : Number(epoch), appliedZxid: Number(header('x-samsa-applied-zxid') ?? 0), lag: Number(header('x-samsa-lag') ?? 0) };
      finish(null);
    });
    let standby: StandbyStats | null = null;
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.terminate();
      if (error !== null) reject(error);
      else resolve(standby ?? result!);
    };
    const timer = setTimeout(() => finish(new Error(`OperationTimeout: no answer from ${url} in ${timeoutMs} ms`)), timeoutMs);
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'connect', protocolVersion: PROTOCOL_VERSION, timeoutMs: 3000, lastZxid: 0 }));
    });
    socket.on('message', (data: Buffer) => {
      let frame: { type?: string; xid?: number; ok?: boolean; result?: unknown; code?: string; message?: string; error?: { code: string; message: string } };
      try {
        frame = JSON.parse(data.toString('utf8'));
      } catch {
        return finish(new Error(`MarshallingError: ${url} sent a frame that is not JSON`));
      }
      if (frame.type === 'connected') {
        socket.send(JSON.stringify({ type: 'request', xid: 1, request: { op: 'stats' } }));
        socket.send(JSON.stringify({ type: 'request', xid: 2, request: { op: 'close' } }));
      } else if (frame.type === 'error') {
        finish(new Error(`${frame.code}: ${frame.message}`));
      } else if (frame.type === 'response' && frame.xid === 1) {
        if (frame.ok !== true) return finish(new Error(`${frame.error?.code}: ${frame.error?.message}`));
        result = frame.result as StatsResult;
      } else if (frame.type === 'response' && frame.xid === 2) {
        finish(result === null ? new Error('SystemError: no stats in the answer') : null);
      }
    });
    socket.on('close', () => finish(result === null ? new Error(`ConnectionLoss: ${url} closed the connection`) : null));
    socket.on('error', (error) => finish(new Error(`ConnectionLoss: ${url}: ${error.message}`)));
  });
}

/** The mntr view: one `key value` line per figure, keys padded so values line up. */
export function formatMntr(stats: StatsResult | StandbyStats): string {
  if (!('version' in stats)) {
    return alignRows([
      ['role', stats.role],
      ['active', stats.activeUrl ?? 'none'],
      ['lease_epoch', stats.leaseEpoch ?? 'none'],
      ['applied_zxid', stats.appliedZxid],
      ['lag', stats.lag],
    ]);
  }
  const ha: [string, string | number][] = stats.role === undefined ? [] : [['role', stats.role], ['lease_epoch', stats.leaseEpoch ?? 'none'], ['active', stats.activeUrl ?? 'none'], ['lag', stats.lag ?? 0]];
  return alignRows([...ha, ...mntrRows(stats)]);
}

function alignRows(rows: [string, string | number][]): string {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n') + '\n';
}

function mntrRows(stats: StatsResult): [string, string | number][] {
  const rows: [string, string | number][] = [
    ['version', stats.version],
    ['server_state', stats.serverState],
    ['store', stats.store],
    ['uptime_ms', stats.uptimeMs],
    ['znode_count', stats.znodeCount],
    ['ephemerals_count', stats.ephemeralsCount],
    ['watch_count', stats.watchCount],
    ['approximate_data_size', stats.approximateDataSize],
    ['sessions', stats.sessions],
    ['connections', stats.connections],
    ['outstanding_requests', stats.outstandingRequests],
    ['last_zxid', stats.lastZxid],
    ['min_request_latency_ms', stats.requestLatencyMs.min],
    ['avg_request_latency_ms', stats.requestLatencyMs.avg],
    ['max_request_latency_ms', stats.requestLatencyMs.max],
    ['request_count', stats.requestLatencyMs.count],
    ['min_fsync_latency_ms', stats.fsyncLatencyMs.min],
    ['avg_fsync_latency_ms', stats.fsyncLatencyMs.avg],
    ['max_fsync_latency_ms', stats.fsyncLatencyMs.max],
    ['fsync_count', stats.fsyncLatencyMs.count],
  ];
  return rows;
}

const statsCommand: CommandModule<object, StatsArgs> = {
  command: 'stats',
  describe: "Print the coordinator's monitoring view (like ZooKeeper's mntr)",
  builder: (yargs) =>
    yargs
      .option('server', { type: 'string', describe: 'Coordinator URL (env SAMSA_COORDINATOR; default ws://127.0.0.1:2181)' })
      .option('json', { type: 'boolean', describe: 'Print JSON' })
      .option('timeout-ms', { type: 'number', default: 10_000, describe: 'Give up after this long' }) as Argv<StatsArgs>,
  handler: async (args) => {
    const url = args.server ?? process.env.SAMSA_COORDINATOR ?? 'ws://127.0.0.1:2181';
    const stats = await fetchStats(url, args['timeout-ms']);
    process.stdout.write(args.json ? `${JSON.stringify(stats, null, 2)}\n` : formatMntr(stats));
  },
};

const runCommand: CommandModule<object, RunArgs> = {
  command: '$0',
  describe: 'Run the coordinator in the foreground',
  builder: (yargs) =>
    yargs
      .option('port', { type: 'number', describe: 'WebSocket port (env SAMSA_COORDINATOR_PORT; default 2181)' })
      .option('host', { type: 'string', describe: 'Address to listen on (default 127.0.0.1)' })
      .option('data-dir', { type: 'string', describe: 'Data directory for the file store (default ./data/coordinator)' })
      .option('store', { type: 'string', describe: 'Where transactions are kept: file, memory, or redis://host:port[/db] (several coordinators on one Redis: one active, the others standby) (default file)' })
      .option('redis-prefix', { type: 'string', describe: 'Redis key prefix of this cluster (default samsa)' })
      .option('lease-ms', { type: 'number', describe: "Redis store: the active coordinator's lease; a standby takes over within about this after the active dies (default 2000)" })
      .option('redis-wait', { type: 'number', describe: 'Redis store: each append also waits for this many Redis replicas (WAIT) (default 0)' })
      .option('advertised-url', { type: 'string', describe: 'Redis store: the URL standbys redirect clients to while this one is active (default ws://<host>:<port>)' })
      .option('metrics-port', { type: 'number', describe: 'Prometheus /metrics port on 127.0.0.1; 0 = any free port, -1 = off (default 7181)' })
      .option('session-timeout-min-ms', { type: 'number', describe: 'Smallest negotiated session timeout (default 1000)' })
      .option('session-timeout-max-ms', { type: 'number', describe: 'Largest negotiated session timeout (default 60000)' })
      .option('snapshot-every-txns', { type: 'number', describe: 'Write a snapshot after this many transactions at least (default 100000)' })
      .option('snapshot-tree-ratio', { type: 'number', describe: "... and after this many transactions per znode of the last snapshot, as Redis's auto-aof-rewrite-percentage; a restart replays at most that many per znode it loads; 0 = every --snapshot-every-txns (default 0.5)" })
      .option('container-check-interval-ms', { type: 'number', describe: "How often empty containers are removed, as ZooKeeper's znode.container.checkIntervalMs (default 60000)" })
      .option('super-digest', { type: 'string', describe: 'Superuser digest id user:base64-sha1 (print one with `samsa digest user:password`); it passes every ACL check (default: none)' })
      .option('data-total-bytes-max', { type: 'number', describe: 'Most data bytes plus path characters in the whole tree; beyond it creates and growing sets are QuotaExceeded (default 1073741824, 1 GiB)' })
      .option('znode-count-max', { type: 'number', describe: 'Most znodes in the whole tree, reserved ones included; -1 = no limit (default -1)' })
      .option('enforce-quota', { type: 'boolean', describe: 'Hard quota limits (samsa setquota -N/-B) refuse writes with QuotaExceeded (default true; --no-enforce-quota: only warn, as ZooKeeper without zookeeper.enforceQuota)' })
      .option('fsync', { type: 'boolean', describe: 'fdatasync every group commit (default true; --no-fsync to turn off)' })
      .option('log-level', { type: 'string', describe: 'trace, debug, info, warn, error (env SAMSA_LOG_LEVEL; default info)' }) as Argv<RunArgs>,
  handler: run,
};

export const coordinatorCommand: CommandModule<object, object> = {
  command: 'coordinator',
  describe: 'Run the coordinator (default) or show its stats',
  builder: (yargs) => yargs.command(statsCommand).command(runCommand),
  handler: () => undefined,
};
