/**
 * The server's side of ZooKeeper's ACLs: which identities a connection holds, whether they grant
 * a permission on a node, and how a create/setACL's ACL is checked and stored. Rules as ZooKeeper
 * 3.8's (ZooKeeperServer.checkACL, PrepRequestProcessor.fixupACL):
 *
 * - A connection holds `ip:<its address>` from the start, plus `digest:<user>:<hash>` for each
 *   `user:password` it presented (connect frame or addAuth). The superuser digest configured on the
 *   server (`--super-digest user:hash`) makes a connection super: every check passes.
 * - An entry grants its permissions to world:anyone, to a digest id equal to one the connection
 *   holds, or to an ip address/CIDR block containing the connection's address.
 * - In a create/setACL, `auth` entries stand for every digest identity of the connection (none:
 *   InvalidACL), and every entry must be valid; the result is what is stored.
 *
 * Stored ACL lists are interned: equal lists share one frozen array, as ZooKeeper's
 * ReferenceCountedACLCache shares them, so a tree of many nodes with the cluster's few ACLs holds
 * each list once.
 */
import { BlockList, isIP } from 'net';
import { aclEntryProblem, digestCredentialsProblem, digestId, OPEN_ACL } from '../shared/coordinator/acl';
import type { Acl, AuthInfo } from '../shared/coordinator/protocol';

export interface AuthId {
  scheme: string;
  id: string;
}

/** What a connection is allowed as: its identities and whether it is the superuser. */
export interface AuthContext {
  readonly ids: readonly AuthId[];
  readonly superuser: boolean;
}

/** For the core's own work and tests: no identity at all (only world entries grant). */
export const NO_AUTH: AuthContext = Object.freeze({ ids: Object.freeze([]), superuser: false });

/** A connection's identities before any credentials: its address, as ZooKeeper's IPAuthenticationProvider. */
export function connectionAuth(remoteAddress: string | undefined): AuthContext {
  const address = normalizeAddress(remoteAddress);
  return { ids: address === null ? [] : [{ scheme: 'ip', id: address }], superuser: false };
}

/** `context` with credentials added, or why they are refused (AuthFailed). */
export function withCredentials(context: AuthContext, info: AuthInfo, superDigest: string | null): AuthContext | string {
  if (info.scheme !== 'digest') return `unknown auth scheme "${info.scheme}" (digest)`;
  const problem = digestCredentialsProblem(info.auth);
  if (problem !== null) return problem;
  const id = digestId(info.auth);
  const superuser = context.superuser || (superDigest !== null && id === superDigest);
  if (context.ids.some((held) => held.scheme === 'digest' && held.id === id)) return superuser === context.superuser ? context : { ids: context.ids, superuser };
  return { ids: [...context.ids, { scheme: 'digest', id }], superuser };
}

/** True when `acl` grants `perm` (one or more PERMS bits; any of them suffices) to `context`. */
export function grants(acl: readonly Acl[], perm: number, context: AuthContext): boolean {
  if (context.superuser) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    if (entry.scheme === 'world' && entry.id === 'anyone') return true;
    for (const held of context.ids) {
      if (held.scheme !== entry.scheme) continue;
      if (entry.scheme === 'digest' && held.id === entry.id) return true;
      if (entry.scheme === 'ip' && ipMatches(entry.id, held.id)) return true;
    }
  }
  return false;
}

/** The ACL to store for a create/setACL (interned), or why it is invalid (InvalidACL). */
export function storedAcl(acl: readonly Acl[] | undefined, context: AuthContext, cache: AclCache): readonly Acl[] | string {
  if (acl === undefined) return OPEN_ACL;
  if (acl.length === 0) return 'an ACL needs at least one entry';
  const out: Acl[] = [];
  for (const entry of acl) {
    const problem = aclEntryProblem(entry);
    if (problem !== null) return problem;
    if (entry.scheme !== 'auth') {
      out.push({ perms: entry.perms, scheme: entry.scheme, id: entry.id });
      continue;
    }
    const digests = context.ids.filter((held) => held.scheme === 'digest');
    if (digests.length === 0) return 'an auth entry needs credentials on the connection (addAuth digest user:password)';
    for (const held of digests) out.push({ perms: entry.perms, scheme: 'digest', id: held.id });
  }
  return cache.intern(out);
}

/** Digest ids shown as `user:x` (getACL by a caller without ADMIN, as ZooKeeper 3.8 redacts them). */
export function redacted(acl: readonly Acl[]): Acl[] {
  return acl.map((entry) => (entry.scheme === 'digest' ? { perms: entry.perms, scheme: 'digest', id: entry.id.replace(/:.*/, ':x') } : entry));
}

/** Equal ACL lists share one frozen array. */
export class AclCache {
  private readonly lists = new Map<string, readonly Acl[]>([[keyOf(OPEN_ACL), OPEN_ACL]]);

  intern(acl: readonly Acl[]): readonly Acl[] {
    const key = keyOf(acl);
    let shared = this.lists.get(key);
    if (shared === undefined) {
      shared = Object.freeze(acl.map((entry) => Object.freeze({ perms: entry.perms, scheme: entry.scheme, id: entry.id })));
      this.lists.set(key, shared);
    }
    return shared;
  }
}

function keyOf(acl: readonly Acl[]): string {
  return acl.map((entry) => `${entry.perms}\u0000${entry.scheme}\u0000${entry.id}`).join('\u0001');
}

/** An IPv4-mapped IPv6 address (how a dual-stack socket reports IPv4 peers) as plain IPv4. */
function normalizeAddress(address: string | undefined): string | null {
  if (address === undefined || address === '') return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped !== null ? mapped[1]! : address;
}

/** Whether an `ip` entry (address or address/bits) contains `address`. net.BlockList does the CIDR arithmetic. */
function ipMatches(spec: string, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const slash = spec.indexOf('/');
  const base = slash < 0 ? spec : spec.slice(0, slash);
  const baseFamily = isIP(base);
  if (baseFamily !== family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  if (slash < 0) list.addAddress(base, type);
  else list.addSubnet(base, Number(spec.slice(slash + 1)), type);
  return list.check(address, type);
}
