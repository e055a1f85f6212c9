/**
 * Which cluster a broker's data directory belongs to: Kafka's `meta.properties` (version 0:
 * `version=0`, `broker.id=N`, `cluster.id=...`), written at a broker's first start and compared
 * with the coordinator's /cluster/id and the broker's own id at every start and every
 * re-registration after a session expiry.
 *
 * Why: the tree is not the authority over what is on disk. A coordinator restarted with
 * `--store memory`, a wiped coordinator, or a broker pointed at the wrong coordinator shows an
 * empty or foreign tree; a broker that trusted it would name a new cluster and treat its own
 * logs as strays. So a broker refuses (and changes nothing on disk or in the tree) unless the
 * data directory and the coordinator agree, and only a broker with no meta.properties and no
 * partition logs may name a new cluster on an empty coordinator.
 *
 * decideIdentity is the pure rule; establishIdentity does the reads and writes around it.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { hasCode, unlessCode } from '../../shared/coordinator/protocol';
import type { Logger } from '../../shared/logging';
import { PATHS } from './metadata-cache';

export const META_PROPERTIES_FILE = 'meta.properties';
/** Bound on the file: it holds three short lines; anything larger is not ours. */
const META_PROPERTIES_BYTES_MAX = 64 * 1024;
/** A cluster id as Kafka writes it (base64url of 16 random bytes) or as an operator may: printable, no spaces. */
const CLUSTER_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** A lost race to create /cluster/id is resolved by reading again, at most this many times. */
const IDENTITY_ATTEMPTS_MAX = 3;

export interface MetaProperties {
  brokerId: number;
  clusterId: string;
}

/** The data directory and the coordinator disagree (or the file is unreadable): the broker must not run. */
export class ClusterIdentityError extends Error {
  override readonly name = 'ClusterIdentityError';
}

/** Java properties, restricted to what meta.properties holds: `key=value` lines, `#`/`!` comments. */
export function parseMetaProperties(text: string, file = META_PROPERTIES_FILE): MetaProperties {
  const entries = new Map<string, string>();
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const match = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (match === null) throw new ClusterIdentityError(`${file}: line ${index + 1} is not key=value: ${JSON.stringify(line.slice(0, 80))}`);
    entries.set(match[1]!, match[2]!);
  }
  const version = entries.get('version');
  if (version !== '0') throw new ClusterIdentityError(`${file}: version ${version ?? '(missing)'} is not supported (expected version=0)`);
  const brokerIdText = entries.get('broker.id') ?? '';
  const brokerId = /^\d{1,9}$/.test(brokerIdText) ? Number(brokerIdText) : NaN;
  if (!Number.isSafeInteger(brokerId)) throw new ClusterIdentityError(`${file}: broker.id ${JSON.stringify(brokerIdText)} is not a broker id`);
  const clusterId = entries.get('cluster.id') ?? '';
  if (!CLUSTER_ID_PATTERN.test(clusterId)) throw new ClusterIdentityError(`${file}: cluster.id ${JSON.stringify(clusterId)} is not a cluster id`);
  return { brokerId, clusterId };
}

export function formatMetaProperties(meta: MetaProperties, writtenAt: Date): string {
  return `#\n#${writtenAt.toUTCString()}\nversion=0\nbroker.id=${meta.brokerId}\ncluster.id=${meta.clusterId}\n`;
}

/** The data directory's meta.properties, or null when there is none (or no directory). */
export function readMetaProperties(dataDir: string): MetaProperties | null {
  const file = path.join(dataDir, META_PROPERTIES_FILE);
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (stat.size > META_PROPERTIES_BYTES_MAX) throw new ClusterIdentityError(`${file}: ${stat.size} bytes is too large to be a meta.properties`);
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return parseMetaProperties(text, file);
}

/** Written to a temporary file, fsynced, renamed over, directory fsynced: never half a file. */
export function writeMetaProperties(dataDir: string, meta: MetaProperties, writtenAt: Date): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, META_PROPERTIES_FILE);
  const temporary = `${file}.tmp`;
  const fd = fs.openSync(temporary, 'w');
  try {
    fs.writeSync(fd, formatMetaProperties(meta, writtenAt));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
  const dirFd = fs.openSync(dataDir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

/** Partition log directories (`<topic>-<n>`, the layout of broker/log/log-manager.ts) in `dataDir`; read only. */
export function partitionLogDirs(dataDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.filter((name) => /^.+-\d+$/.test(name) && fs.statSync(path.join(dataDir, name)).isDirectory());
}

export type IdentityDecision =
  /** meta.properties matches the coordinator: go on. */
  | { kind: 'accept'; clusterId: string }
  /** An empty coordinator and an unused data directory: name a new cluster. */
  | { kind: 'create' }
  /** No meta.properties yet: take the coordinator's cluster id and write the file. `legacy`: logs from an earlier Samsa version. */
  | { kind: 'adopt'; clusterId: string; legacy: boolean }
  | { kind: 'refuse'; message: string };

export interface IdentityInputs {
  brokerId: number;
  dataDir: string;
  /** Where the broker looked, for the message. */
  coordinators: readonly string[];
  meta: MetaProperties | null;
  hasLogs: boolean;
  /** /cluster/id, or null when the coordinator has none. */
  treeClusterId: string | null;
}

/** The rule (pure). Every refusal names both sides and what to do. */
export function decideIdentity(inputs: IdentityInputs): IdentityDecision {
  const { brokerId, dataDir, meta, hasLogs, treeClusterId } = inputs;
  const coordinator = inputs.coordinators.join(',');
  const file = path.join(dataDir, META_PROPERTIES_FILE);
  const nothingChanged = 'Nothing was changed on disk or in the coordinator.';
  if (meta !== null) {
    if (meta.brokerId !== brokerId) {
      return {
        kind: 'refuse',
        message: `data directory ${dataDir} belongs to broker ${meta.brokerId} (broker.id in ${file}), but this broker was started with id ${brokerId}. ` +
          `Start it with --id ${meta.brokerId}, or give broker ${brokerId} its own --data-dir. ${nothingChanged}`,
      };
    }
    if (treeClusterId === null) {
      return {
        kind: 'refuse',
        message: `data directory ${dataDir} belongs to cluster ${meta.clusterId} (cluster.id in ${file}), but the coordinator at ${coordinator} has no /cluster/id: ` +
          `it was restarted with --store memory, its data was wiped, or it is the wrong coordinator. Point the broker at the coordinator of cluster ${meta.clusterId} ` +
          `(or restore that coordinator's data); to start a new cluster instead, move the data directory away. ${nothingChanged}`,
      };
    }
    if (treeClusterId !== meta.clusterId) {
      return {
        kind: 'refuse',
        message: `data directory ${dataDir} belongs to cluster ${meta.clusterId} (cluster.id in ${file}), but the coordinator at ${coordinator} holds cluster ${treeClusterId}. ` +
          `Point the broker at the coordinator of cluster ${meta.clusterId}, or move the data directory away to join cluster ${treeClusterId}. ${nothingChanged}`,
      };
    }
    return { kind: 'accept', clusterId: meta.clusterId };
  }
  if (hasLogs) {
    if (treeClusterId === null) {
      return {
        kind: 'refuse',
        message: `data directory ${dataDir} holds partition logs but no ${META_PROPERTIES_FILE} (written by an earlier Samsa version), and the coordinator at ${coordinator} has no /cluster/id, ` +
          `so nothing says these logs belong to this coordinator. Point the broker at the coordinator it ran with, or move the data directory away. ${nothingChanged}`,
      };
    }
    return { kind: 'adopt', clusterId: treeClusterId, legacy: true };
  }
  return treeClusterId === null ? { kind: 'create' } : { kind: 'adopt', clusterId: treeClusterId, legacy: false };
}

/** A new cluster id: 16 random bytes in base64url (22 characters), as Kafka's. */
export function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Checks (and at first start records) which cluster this broker and its data directory belong
 * to; resolves with the cluster id or rejects with ClusterIdentityError having changed nothing.
 * Call before anything else touches the tree or the data directory.
 */
export async function establishIdentity(
  client: CoordinatorClient,
  settings: { brokerId: number; dataDir: string; coordinators: readonly string[] },
  logger: Logger,
  now: () => Date = () => new Date(),
): Promise<string> {
  for (let attempt = 0; attempt < IDENTITY_ATTEMPTS_MAX; attempt++) {
    const meta = readMetaProperties(settings.dataDir);
    const hasLogs = meta === null && partitionLogDirs(settings.dataDir).length > 0;
    const treeClusterId = (await unlessCode(client.getData(PATHS.clusterId), ['NoNode'], null))?.data ?? null;
    const decision = decideIdentity({ ...settings, meta, hasLogs, treeClusterId });
    switch (decision.kind) {
      case 'refuse':
        logger.error({ dataDir: settings.dataDir, metaClusterId: meta?.clusterId ?? null, metaBrokerId: meta?.brokerId ?? null, treeClusterId }, 'broker.identity_refused');
        throw new ClusterIdentityError(decision.message);
      case 'accept':
        return decision.clusterId;
      case 'adopt':
        writeMetaProperties(settings.dataDir, { brokerId: settings.brokerId, clusterId: decision.clusterId }, now());
        logger.info({ clusterId: decision.clusterId, dataDir: settings.dataDir, legacyLogs: decision.legacy }, decision.legacy ? 'broker.identity_adopted_legacy' : 'broker.identity_recorded');
        return decision.clusterId;
      case 'create': {
        const clusterId = newClusterId();
        try {
          await client.create(PATHS.clusterId, clusterId, { createParents: true });
        } catch (error) {
          if (hasCode(error, 'NodeExists')) continue; // another broker named it first: read it and adopt
          throw error;
        }
        writeMetaProperties(settings.dataDir, { brokerId: settings.brokerId, clusterId }, now());
        logger.info({ clusterId, dataDir: settings.dataDir }, 'cluster.created');
        return clusterId;
      }
    }
  }
  throw new ClusterIdentityError(`could not settle /cluster/id after ${IDENTITY_ATTEMPTS_MAX} attempts`);
}
