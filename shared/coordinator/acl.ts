/**
 * ZooKeeper's ACL model, the parts both sides need: the digest scheme's id computation, the
 * `cdrwa` permission letters, the `scheme:id:perms` text form of zkCli, and what makes an ACL
 * entry valid. The server's checks (which identities a connection holds, whether they grant a
 * permission) are in coordinator/acl-check.ts.
 *
 * Digest ids are computed exactly as ZooKeeper's DigestAuthenticationProvider.generateDigest:
 * `user:base64(sha1("user:password"))`, so an id made by one is accepted by the other and ACLs
 * copied between a ZooKeeper ensemble and Samsa keep their meaning.
 */
import { createHash } from 'crypto';
import { isIP } from 'net';
import { Acl, PERMS, PERMS_ALL } from './protocol';

export const SCHEMES = ['world', 'digest', 'ip', 'auth'] as const;

/** world:anyone with every permission (ZooKeeper's Ids.OPEN_ACL_UNSAFE): what a create without an ACL gets. */
export const OPEN_ACL: readonly Acl[] = Object.freeze([Object.freeze({ perms: PERMS_ALL, scheme: 'world', id: 'anyone' })]);
/** world:anyone may read (Ids.READ_ACL_UNSAFE). */
export const READ_ACL: readonly Acl[] = Object.freeze([Object.freeze({ perms: PERMS.read, scheme: 'world', id: 'anyone' })]);
/** Every permission for the creator's own digest identities (Ids.CREATOR_ALL_ACL). */
export const CREATOR_ALL_ACL: readonly Acl[] = Object.freeze([Object.freeze({ perms: PERMS_ALL, scheme: 'auth', id: '' })]);

/** `user:base64(sha1(user:password))` for the credentials `user:password` (the user is what precedes the first ':'). */
export function digestId(userPassword: string): string {
  const colon = userPassword.indexOf(':');
  const user = colon < 0 ? userPassword : userPassword.slice(0, colon);
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}

/** Why `user:password` cannot be digest credentials, or null. */
export function digestCredentialsProblem(userPassword: string): string | null {
  const colon = userPassword.indexOf(':');
  if (colon <= 0) return 'digest credentials must be user:password';
  return null;
}

const LETTERS: ReadonlyArray<[string, number]> = [
  ['c', PERMS.create],
  ['d', PERMS.delete],
  ['r', PERMS.read],
  ['w', PERMS.write],
  ['a', PERMS.admin],
];

/** `cdrwa` letters (zkCli's order) for a permission set. */
export function permsToString(perms: number): string {
  return LETTERS.filter(([, bit]) => (perms & bit) !== 0)
    .map(([letter]) => letter)
    .join('');
}

/** The permission set for `cdrwa` letters (any order, each at most once), or null when they are not. */
export function permsFromString(text: string): number | null {
  let perms = 0;
  for (const char of text) {
    const entry = LETTERS.find(([letter]) => letter === char.toLowerCase());
    if (entry === undefined || (perms & entry[1]) !== 0) return null;
    perms |= entry[1];
  }
  return perms;
}

/**
 * zkCli's text form: entries `scheme:id:perms` separated by commas. The id is what lies between
 * the first and the last ':' (a digest id has a ':' of its own; an IPv6 address has several).
 */
export function parseAcl(text: string): Acl[] {
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.length === 0 || entries.some((entry) => entry === '')) throw new Error(`empty entry in ACL "${text}"`);
  return entries.map((entry) => {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first < 0 || first === last) throw new Error(`ACL entry "${entry}" is not scheme:id:perms`);
    const perms = permsFromString(entry.slice(last + 1));
    if (perms === null) throw new Error(`ACL entry "${entry}": permissions must be letters of cdrwa`);
    const acl: Acl = { perms, scheme: entry.slice(0, first), id: entry.slice(first + 1, last) };
    const problem = aclEntryProblem(acl);
    if (problem !== null) throw new Error(`ACL entry "${entry}": ${problem}`);
    return acl;
  });
}

export function formatAcl(acl: readonly Acl[]): string {
  return acl.map((entry) => `${entry.scheme}:${entry.id}:${permsToString(entry.perms)}`).join(',');
}

/** Why an ACL entry is invalid (ZooKeeper's InvalidACL), or null. 'auth' entries are valid here; the server expands them. */
export function aclEntryProblem(acl: Acl): string | null {
  if (!Number.isInteger(acl.perms) || acl.perms < 0 || acl.perms > PERMS_ALL) return `permissions ${acl.perms} out of range 0..${PERMS_ALL}`;
  switch (acl.scheme) {
    case 'world':
      return acl.id === 'anyone' ? null : `world's only id is anyone, not "${acl.id}"`;
    case 'auth':
      return null;
    case 'digest': {
      // ZooKeeper's DigestAuthenticationProvider.isValid: exactly user:hash.
      const parts = acl.id.split(':');
      return parts.length === 2 && parts[0] !== '' && parts[1] !== '' ? null : `digest id must be user:base64-sha1, not "${acl.id}"`;
    }
    case 'ip':
      return ipSpecProblem(acl.id);
    default:
      return `unknown scheme "${acl.scheme}" (world, digest, ip, auth)`;
  }
}

/** An ip id: an IPv4 or IPv6 address, optionally /bits. */
function ipSpecProblem(spec: string): string | null {
  const slash = spec.indexOf('/');
  const address = slash < 0 ? spec : spec.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `"${address}" is not an IP address`;
  if (slash < 0) return null;
  const bitsText = spec.slice(slash + 1);
  const bits = Number(bitsText);
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(bitsText) || bits > max) return `"/${bitsText}" is not a prefix length of 0..${max}`;
  return null;
}
