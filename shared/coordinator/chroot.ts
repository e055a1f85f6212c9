/**
 * Chroot: a client that connects as `ws://host:2181/kafka` (or with the `chroot` option) sees
 * `/kafka` as its root, as ZooKeeper's `host:2181/kafka` does. As in ZooKeeper it is the
 * client's doing, not the server's: every path sent gets the chroot in front, every path that
 * comes back (created names, multi results, watch events, ephemerals, error paths) loses it.
 *
 * Pure functions; a chroot of null is "none" and every mapping returns its input untouched, so a
 * client without a chroot pays nothing.
 *
 * The chroot is not created for you and is not checked at connect (ZooKeeper checks neither):
 * until it exists, operations below it fail with NoNode. `create(path, …, {createParents})` and
 * `ensurePath` do create it and its ancestors, as Curator does for its namespace and as a Kafka
 * broker does for its chroot at start.
 */
import { isWithin, pathProblem } from './paths';
import type { MultiReadSubOp, MultiResult, MultiSubOp, Operation, WatchEventFrame } from './protocol';

/** A chroot is validated as a znode path; the coordinator's default path limit bounds it too. */
const CHROOT_BYTES_MAX = 4096;

export interface CoordinatorEndpoints {
  /** The URLs to open: the given ones without their path (the server is one WebSocket per port). */
  servers: string[];
  /** The chroot ('/kafka'), or null for none. */
  chroot: string | null;
}

/** Why `chroot` is not a usable chroot, or null. '/' (and '') mean "no chroot". */
function chrootProblem(chroot: string): string | null {
  return pathProblem(chroot, CHROOT_BYTES_MAX);
}

/**
 * Splits coordinator URLs into the URLs to connect to and the chroot they name.
 *
 * ZooKeeper writes the chroot once, after the last server (`h1:2181,h2:2181/kafka`), and it
 * applies to all. Our servers are URLs, each with its own path, so the rule is: the chroot is
 * the path of the URLs, and every URL must have the same one (`ws://h1:2181/kafka,ws://h2:2181/kafka`).
 * A list that mixes paths (`ws://h1:2181,ws://h2:2181/kafka`) is an error rather than a guess:
 * read as "root" it would let a broker write a second cluster's tree at the root.
 * The `chroot` option is the same thing spelled separately; given with URL paths, they must agree.
 */
export function parseEndpoints(urls: readonly string[], chrootOption?: string): CoordinatorEndpoints {
  const servers: string[] = [];
  const paths = new Set<string>();
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`coordinator URL '${url}' is not a URL (expected ws://host:port or ws://host:port/chroot)`);
    }
    // WHATWG URLs give ws:// a pathname of '/' when none is written.
    const path = parsed.pathname === '' || parsed.pathname === '/' ? '/' : decodeURIComponent(parsed.pathname);
    paths.add(path);
    // Keep a URL without a path byte for byte; drop the path of one that has it.
    servers.push(path === '/' ? url : `${parsed.protocol}//${parsed.host}${parsed.search}`);
  }
  if (paths.size > 1) {
    throw new Error(
      `coordinator URLs name different chroots (${[...paths].map((p) => `'${p}'`).join(', ')}): ` +
        `write the same path on every URL, e.g. ws://host1:2181/kafka,ws://host2:2181/kafka`,
    );
  }
  const fromUrls = paths.size === 0 ? '/' : [...paths][0]!;
  const fromOption = chrootOption === undefined || chrootOption === '' ? '/' : chrootOption;
  for (const [where, value] of [['URL path', fromUrls], ['chroot option', fromOption]] as const) {
    const problem = value === '/' ? null : chrootProblem(value);
    if (problem !== null) throw new Error(`invalid coordinator chroot '${value}' (${where}): ${problem}`);
  }
  if (fromUrls !== '/' && fromOption !== '/' && fromUrls !== fromOption) {
    throw new Error(`coordinator chroot option '${fromOption}' differs from the URLs' path '${fromUrls}'`);
  }
  const chroot = fromUrls !== '/' ? fromUrls : fromOption;
  return { servers, chroot: chroot === '/' ? null : chroot };
}

/**
 * The server's path for a client path. A path that does not start with '/' is left alone so the
 * server rejects it (BadArguments) instead of it being glued onto the chroot ('/kafka' + 'x').
 * A sequential create of '/' maps to '<chroot>/' so its name is a child of the chroot.
 */
export function toServerPath(chroot: string | null, path: string, sequential = false): string {
  if (chroot === null || typeof path !== 'string' || path[0] !== '/') return path;
  if (path.length === 1) return sequential ? `${chroot}/` : chroot;
  return chroot + path;
}

/**
 * The client's path for a server path: the chroot itself is '/'. A path outside the chroot (it
 * cannot normally reach this client) is returned unchanged rather than cut at the wrong place.
 */
export function toClientPath(chroot: string | null, path: string): string {
  if (chroot === null || !isWithin(path, chroot)) return path;
  return path.length === chroot.length ? '/' : path.slice(chroot.length);
}

function isSequential(mode: string): boolean {
  return mode === 'persistent_sequential' || mode === 'ephemeral_sequential';
}

function serverSubOp(chroot: string, op: MultiSubOp): MultiSubOp {
  return { ...op, path: toServerPath(chroot, op.path, op.op === 'create' && isSequential(op.mode)) };
}

/** The operation as the server must see it: every path it carries under the chroot. */
export function toServerOperation(chroot: string | null, operation: Operation): Operation {
  if (chroot === null) return operation;
  switch (operation.op) {
    case 'create':
      return { ...operation, path: toServerPath(chroot, operation.path, isSequential(operation.mode)) };
    case 'delete':
    case 'setData':
    case 'exists':
    case 'getData':
    case 'getChildren':
    case 'sync':
    case 'addWatch':
    case 'removeWatches':
    case 'getAllChildrenNumber':
    case 'getACL':
    case 'setACL':
      return { ...operation, path: toServerPath(chroot, operation.path) };
    case 'multi':
      return { ...operation, ops: operation.ops.map((op) => serverSubOp(chroot, op)) };
    case 'multiRead':
      return { ...operation, ops: operation.ops.map((op): MultiReadSubOp => ({ ...op, path: toServerPath(chroot, op.path) })) };
    case 'getEphemerals':
      // Without a prefix ZooKeeper lists all of the session's ephemerals; here, all under the chroot.
      return { ...operation, prefix: toServerPath(chroot, operation.prefix ?? '/') };
    case 'ping':
    case 'close':
    case 'stats':
    case 'addAuth':
      return operation;
  }
}

/**
 * A result as the client must see it, given the operation it answers (the client's own, before
 * mapping). Only results that carry paths change: create, sync, multi's creates, getEphemerals.
 */
export function toClientResult(chroot: string | null, operation: Operation, result: unknown): unknown {
  if (chroot === null || typeof result !== 'object' || result === null) return result;
  switch (operation.op) {
    case 'create':
    case 'sync': {
      const { path } = result as { path?: unknown };
      return typeof path === 'string' ? { ...result, path: toClientPath(chroot, path) } : result;
    }
    case 'multi': {
      const { results } = result as Partial<MultiResult>;
      if (!Array.isArray(results)) return result;
      return { ...result, results: results.map((entry) => (entry.type === 'create' ? { ...entry, path: toClientPath(chroot, entry.path) } : entry)) };
    }
    case 'getEphemerals': {
      const { paths } = result as { paths?: unknown };
      if (!Array.isArray(paths)) return result;
      // The server matches the prefix as a string ('/kafka' also matches '/kafka2/x'): keep only the chroot's own.
      const mine = (paths as string[]).filter((path) => isWithin(path, chroot));
      return { ...result, paths: mine.map((path) => toClientPath(chroot, path)) };
    }
    default:
      return result;
  }
}

/** A watch event as the client's watchers must see it. */
export function toClientEvent(chroot: string | null, event: WatchEventFrame): WatchEventFrame {
  if (chroot === null) return event;
  return { ...event, path: toClientPath(chroot, event.path) };
}

/**
 * A server message with the chroot taken out of the paths it quotes ("parent /kafka/a does not
 * exist" → "parent /a does not exist"), so a chrooted client never sees paths it did not use.
 * Only whole path occurrences change: '/kafka2' stays as it is.
 */
export function toClientText(chroot: string | null, text: string): string {
  if (chroot === null || !text.includes(chroot)) return text;
  const escaped = chroot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(`(^|[\\s'"(\\[])${escaped}(?=(/|[\\s'")\\],:;]|$))`, 'g'), (_match, before: string, after: string) => (after === '/' ? before : `${before}/`));
}
