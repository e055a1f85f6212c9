/**
 * The topics pages' pure parts: reading the create form's configs box and describing a
 * partition's state in words. Import-free, so the unit tests load it as it is.
 */

/** `name=value` lines (blank lines and `#` comments skipped) as an object; throws naming the first bad line. */
export function parseConfigLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`configs line ${index + 1}: '${line}' is not name=value`);
    const name = line.slice(0, eq).trim();
    if (name in out) throw new Error(`configs line ${index + 1}: ${name} is given twice`);
    out[name] = line.slice(eq + 1).trim();
  }
  return out;
}

export interface PartitionStateLike {
  leader: number;
  offline: boolean;
  underReplicated: boolean;
  replicas: number[];
  isr: number[];
}

/** A short state for the partitions table: offline, under-replicated (naming the missing replicas) or ok. */
export function partitionState(p: PartitionStateLike): { label: string; tone: 'bad' | 'warn' | 'ok' } {
  if (p.offline) return { label: p.leader < 0 ? 'offline: no leader' : `offline: leader ${p.leader} is down`, tone: 'bad' };
  if (p.underReplicated) {
    const missing = p.replicas.filter((r) => !p.isr.includes(r));
    return { label: `under-replicated: ${missing.join(',')} out of sync`, tone: 'warn' };
  }
  return { label: 'ok', tone: 'ok' };
}
