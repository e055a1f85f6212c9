/**
 * The coordinator's configuration: one typed, validated, frozen object per process,
 * built as defaults <- env <- flags. Nothing below the CLI reads process.env; the CLI
 * passes the environment in.
 */
import { aclEntryProblem } from '../shared/coordinator/acl';
import { base64Length } from '../shared/coordinator/data';
import { CoordinatorLimits, DEFAULT_LIMITS } from './core-api';

/** A request frame's fields besides its data and path (type, xid, op, mode, version, JSON punctuation), with room to spare. */
const FRAME_ENVELOPE_BYTES = 16 * 1024;

/**
 * The default frame limit: whatever its content, a create or setData whose data is within the
 * data limit fits, so it is answered (BadArguments one byte over the limit) rather than the
 * connection dropped. Data is base64 (protocol 2): 4 characters per 3 bytes, whatever the bytes.
 * The path is within pathBytesMax and at worst 6 characters per byte in JSON (\u0001). For the
 * defaults: 1,398,104 + 24,576 + 16,384 = 1,439,064 bytes.
 */
export function defaultFrameBytesMax(limits: CoordinatorLimits): number {
  return base64Length(limits.dataBytesMax) + 6 * limits.pathBytesMax + FRAME_ENVELOPE_BYTES;
}

export type StoreKind = 'file' | 'memory' | 'redis';

export interface CoordinatorConfig {
  host: string;
  port: number;
  dataDir: string;
  store: StoreKind;
  /**
   * With store 'redis' (`--store redis://host:port[/db]`): the Redis, the key prefix, the lease and
   * the replicas each append waits for; several coordinators on one store elect one active
   * (coordinator/ha.ts). Null for the other stores.
   */
  redis: { url: string; prefix: string; leaseMs: number; wait: number; advertisedUrl: string | null } | null;
  /** Prometheus /metrics on 127.0.0.1: a port, 0 = any free port, -1 = off. Default 7181. */
  metricsPort: number;
  limits: CoordinatorLimits;
  /** ws maxPayload. Default defaultFrameBytesMax(limits): about 4/3 of the data limit. */
  frameBytesMax: number;
  /** Requests executed but not yet answered, per connection; more get Throttled. Default 1000. */
  outstandingRequestsPerConnectionMax: number;
  /** Watch events kept for a session whose connection is down (oldest dropped). Default 10000. */
  pendingEventsPerSessionMax: number;
  /** Bytes a client may leave unread in its socket before it is disconnected. Default 64 MiB. */
  connectionBufferedBytesMax: number;
  /** Open connections at most; more are refused. Default 10000. */
  connectionsMax: number;
  /** A connection must send its connect frame within this. Default 10000 ms. */
  handshakeTimeoutMs: number;
  /** A snapshot after this many transactions at least. Default 100000. */
  snapshotEveryTxns: number;
  /**
   * ... and after at least this many transactions per znode of the last snapshot (Redis's
   * auto-aof-rewrite-percentage, as a fraction): a big tree is not rewritten every
   * snapshotEveryTxns, and a restart replays at most this many transactions per znode it loads.
   * 0: every snapshotEveryTxns, whatever the tree's size. Default 0.5.
   */
  snapshotTreeRatio: number;
  /** Snapshots kept on disk (older log files go with the oldest kept one). Default 2. */
  snapshotsRetained: number;
  /** fdatasync every group commit. Default true (off only for tests/benchmarks that do not care). */
  fsync: boolean;
  /** Session expiry check interval. Default 100 ms. */
  tickMs: number;
  /**
   * How often empty containers are looked for and removed (ZooKeeper's
   * znode.container.checkIntervalMs). Default 60000 ms, as ZooKeeper's.
   */
  containerCheckIntervalMs: number;
  /**
   * The superuser's digest id, `user:base64(sha1(user:password))` (`samsa digest user:password`
   * prints it), as ZooKeeper's zookeeper.DigestAuthenticationProvider.superDigest: a connection
   * that authenticates as it passes every ACL check. Null (default): no superuser.
   */
  superDigest: string | null;
}

/** Values as they come from the command line (undefined = not given). */
export interface CoordinatorFlags {
  host?: string;
  port?: number;
  dataDir?: string;
  store?: string;
  redisPrefix?: string;
  leaseMs?: number;
  redisWait?: number;
  advertisedUrl?: string;
  metricsPort?: number;
  sessionTimeoutMinMs?: number;
  sessionTimeoutMaxMs?: number;
  fsync?: boolean;
  snapshotEveryTxns?: number;
  snapshotTreeRatio?: number;
  tickMs?: number;
  containerCheckIntervalMs?: number;
  superDigest?: string;
  dataTotalBytesMax?: number;
  znodeCountMax?: number;
  enforceQuota?: boolean;
}

export const DEFAULT_COORDINATOR_PORT = 2181;
export const DEFAULT_METRICS_PORT = 7181;
/** How long a coordinator's lease on a Redis store lasts without renewal: a standby takes over within about this. */
export const DEFAULT_LEASE_MS = 2000;
/** ZooKeeper's default for znode.container.checkIntervalMs: one minute. */
export const DEFAULT_CONTAINER_CHECK_INTERVAL_MS = 60_000;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function envInt(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

function envBool(env: Record<string, string | undefined>, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

function checkInt(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/**
 * Builds the config. `env` is the process environment as the CLI saw it; the variables read
 * are SAMSA_COORDINATOR_HOST, _PORT, _DATA_DIR, _STORE, _METRICS_PORT, _FSYNC,
 * _SESSION_TIMEOUT_MIN_MS, _SESSION_TIMEOUT_MAX_MS, _CONTAINER_CHECK_INTERVAL_MS, _SUPER_DIGEST,
 * _DATA_TOTAL_BYTES_MAX, _ZNODE_COUNT_MAX, _ENFORCE_QUOTA.
 */
export function loadCoordinatorConfig(
  env: Record<string, string | undefined> = {},
  flags: CoordinatorFlags = {},
  overrides: Partial<Omit<CoordinatorConfig, 'limits'>> & { limits?: Partial<CoordinatorLimits> } = {},
): Readonly<CoordinatorConfig> {
  const limits: CoordinatorLimits = {
    ...DEFAULT_LIMITS,
    ...overrides.limits,
    sessionTimeoutMinMs:
      flags.sessionTimeoutMinMs ?? envInt(env, 'SAMSA_COORDINATOR_SESSION_TIMEOUT_MIN_MS') ?? overrides.limits?.sessionTimeoutMinMs ?? DEFAULT_LIMITS.sessionTimeoutMinMs,
    sessionTimeoutMaxMs:
      flags.sessionTimeoutMaxMs ?? envInt(env, 'SAMSA_COORDINATOR_SESSION_TIMEOUT_MAX_MS') ?? overrides.limits?.sessionTimeoutMaxMs ?? DEFAULT_LIMITS.sessionTimeoutMaxMs,
    dataTotalBytesMax:
      flags.dataTotalBytesMax ?? envInt(env, 'SAMSA_COORDINATOR_DATA_TOTAL_BYTES_MAX') ?? overrides.limits?.dataTotalBytesMax ?? DEFAULT_LIMITS.dataTotalBytesMax,
    znodeCountMax: flags.znodeCountMax ?? envInt(env, 'SAMSA_COORDINATOR_ZNODE_COUNT_MAX') ?? overrides.limits?.znodeCountMax ?? DEFAULT_LIMITS.znodeCountMax,
    enforceQuota: flags.enforceQuota ?? envBool(env, 'SAMSA_COORDINATOR_ENFORCE_QUOTA') ?? overrides.limits?.enforceQuota ?? DEFAULT_LIMITS.enforceQuota,
  };
  const storeFlag: string = flags.store ?? env.SAMSA_COORDINATOR_STORE ?? overrides.store ?? 'file';
  const isRedis = storeFlag.startsWith('redis://') || storeFlag.startsWith('rediss://');
  if (storeFlag !== 'file' && storeFlag !== 'memory' && !isRedis) throw new ConfigError(`store must be file, memory or redis://host:port[/db], got ${JSON.stringify(storeFlag)}`);
  const store: StoreKind = isRedis ? 'redis' : (storeFlag as StoreKind);
  const redis = isRedis
    ? {
        url: storeFlag,
        prefix: flags.redisPrefix ?? env.SAMSA_COORDINATOR_REDIS_PREFIX ?? 'samsa',
        leaseMs: flags.leaseMs ?? envInt(env, 'SAMSA_COORDINATOR_LEASE_MS') ?? DEFAULT_LEASE_MS,
        wait: flags.redisWait ?? envInt(env, 'SAMSA_COORDINATOR_REDIS_WAIT') ?? 0,
        advertisedUrl: flags.advertisedUrl ?? env.SAMSA_COORDINATOR_ADVERTISED_URL ?? null,
      }
    : null;
  const config: CoordinatorConfig = {
    host: flags.host ?? env.SAMSA_COORDINATOR_HOST ?? overrides.host ?? '127.0.0.1',
    port: flags.port ?? envInt(env, 'SAMSA_COORDINATOR_PORT') ?? overrides.port ?? DEFAULT_COORDINATOR_PORT,
    dataDir: flags.dataDir ?? env.SAMSA_COORDINATOR_DATA_DIR ?? overrides.dataDir ?? './data/coordinator',
    store,
    redis,
    metricsPort: flags.metricsPort ?? envInt(env, 'SAMSA_COORDINATOR_METRICS_PORT') ?? overrides.metricsPort ?? DEFAULT_METRICS_PORT,
    limits: Object.freeze(limits),
    frameBytesMax: overrides.frameBytesMax ?? defaultFrameBytesMax(limits),
    outstandingRequestsPerConnectionMax: overrides.outstandingRequestsPerConnectionMax ?? 1000,
    pendingEventsPerSessionMax: overrides.pendingEventsPerSessionMax ?? 10_000,
    connectionBufferedBytesMax: overrides.connectionBufferedBytesMax ?? 64 * 1024 * 1024,
    connectionsMax: overrides.connectionsMax ?? 10_000,
    handshakeTimeoutMs: overrides.handshakeTimeoutMs ?? 10_000,
    snapshotEveryTxns: flags.snapshotEveryTxns ?? overrides.snapshotEveryTxns ?? 100_000,
    snapshotTreeRatio: flags.snapshotTreeRatio ?? overrides.snapshotTreeRatio ?? 0.5,
    snapshotsRetained: overrides.snapshotsRetained ?? 2,
    fsync: flags.fsync ?? envBool(env, 'SAMSA_COORDINATOR_FSYNC') ?? overrides.fsync ?? true,
    tickMs: flags.tickMs ?? overrides.tickMs ?? 100,
    containerCheckIntervalMs:
      flags.containerCheckIntervalMs ?? envInt(env, 'SAMSA_COORDINATOR_CONTAINER_CHECK_INTERVAL_MS') ?? overrides.containerCheckIntervalMs ?? DEFAULT_CONTAINER_CHECK_INTERVAL_MS,
    superDigest: flags.superDigest ?? env.SAMSA_COORDINATOR_SUPER_DIGEST ?? overrides.superDigest ?? null,
  };
  validate(config);
  return Object.freeze(config);
}

function validate(config: CoordinatorConfig): void {
  const { limits } = config;
  if (config.host === '') throw new ConfigError('host must not be empty');
  if (config.dataDir === '') throw new ConfigError('dataDir must not be empty');
  checkInt('port', config.port, 0, 65535);
  checkInt('metricsPort', config.metricsPort, -1, 65535);
  if (config.redis !== null) {
    checkInt('leaseMs', config.redis.leaseMs, 300, 60_000);
    checkInt('redisWait', config.redis.wait, 0, 100);
    if (config.redis.prefix === '' || /\s/.test(config.redis.prefix)) throw new ConfigError('redis key prefix must be non-empty without spaces');
  }
  checkInt('sessionTimeoutMinMs', limits.sessionTimeoutMinMs, 1);
  checkInt('sessionTimeoutMaxMs', limits.sessionTimeoutMaxMs, limits.sessionTimeoutMinMs);
  checkInt('pathBytesMax', limits.pathBytesMax, 1);
  checkInt('dataBytesMax', limits.dataBytesMax, 0);
  checkInt('watchesPerSessionMax', limits.watchesPerSessionMax, 0);
  checkInt('dataTotalBytesMax', limits.dataTotalBytesMax, 0);
  checkInt('znodeCountMax', limits.znodeCountMax, -1);
  checkInt('frameBytesMax', config.frameBytesMax, 1024);
  checkInt('outstandingRequestsPerConnectionMax', config.outstandingRequestsPerConnectionMax, 1);
  checkInt('pendingEventsPerSessionMax', config.pendingEventsPerSessionMax, 0);
  checkInt('connectionBufferedBytesMax', config.connectionBufferedBytesMax, 1024);
  checkInt('connectionsMax', config.connectionsMax, 1);
  checkInt('handshakeTimeoutMs', config.handshakeTimeoutMs, 1);
  checkInt('snapshotEveryTxns', config.snapshotEveryTxns, 1);
  if (!Number.isFinite(config.snapshotTreeRatio) || config.snapshotTreeRatio < 0 || config.snapshotTreeRatio > 100) {
    throw new ConfigError(`snapshotTreeRatio must be a number from 0 to 100, got ${config.snapshotTreeRatio}`);
  }
  checkInt('snapshotsRetained', config.snapshotsRetained, 1);
  checkInt('tickMs', config.tickMs, 1, 60_000);
  // setInterval's ceiling (2^31 - 1 ms, about 24.8 days).
  checkInt('containerCheckIntervalMs', config.containerCheckIntervalMs, 1, 2_147_483_647);
  if (config.superDigest !== null && aclEntryProblem({ perms: 0, scheme: 'digest', id: config.superDigest }) !== null) {
    throw new ConfigError(`superDigest must be user:base64-sha1 (samsa digest user:password prints it), got ${JSON.stringify(config.superDigest)}`);
  }
}
