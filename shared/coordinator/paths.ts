/**
 * Znode path rules (ZooKeeper's PathUtils.validatePath, plus a byte-length limit).
 * Pure functions shared by the coordinator core and the client library.
 */

/** Why `path` is not a valid znode path, or null when it is. `sequential` allows a trailing '/'. */
export function pathProblem(path: string, pathBytesMax: number, sequential = false): string | null {
  if (typeof path !== 'string' || path.length === 0) return 'path must be a non-empty string';
  if (path[0] !== '/') return 'path must start with /';
  if (Buffer.byteLength(path, 'utf8') > pathBytesMax) return `path longer than ${pathBytesMax} bytes`;
  if (path.length === 1) return null;
  // A sequential create appends its suffix, so '/jobs/' becomes '/jobs/0000000001'.
  const checked = sequential && path.endsWith('/') ? `${path}0` : path;
  if (checked.endsWith('/')) return 'path must not end with /';
  const segments = checked.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.length === 0) return 'empty segment in path';
    if (segment === '.' || segment === '..') return `relative segment '${segment}' in path`;
  }
  for (let i = 0; i < checked.length; i++) {
    const c = checked.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) {
      return `invalid character U+${c.toString(16).padStart(4, '0')} in path`;
    }
  }
  return null;
}

/** The parent of a valid non-root path. */
export function parentOf(path: string): string {
  const index = path.lastIndexOf('/');
  return index <= 0 ? '/' : path.slice(0, index);
}

/** The last segment of a valid path ('' for the root). */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a parent path and a child name. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** True when `path` is `ancestor` or lies below it. */
export function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === '/') return true;
  return path === ancestor || (path.startsWith(ancestor) && path.charCodeAt(ancestor.length) === 47 /* '/' */);
}

/** Zero-padded 10-digit sequence suffix, as ZooKeeper formats it (%010d). */
export function sequenceSuffix(counter: number): string {
  // ZooKeeper's counter is a signed int that wraps; ours is a number, formatted the same way.
  return counter < 0 ? `-${String(-counter).padStart(9, '0')}` : String(counter).padStart(10, '0');
}
