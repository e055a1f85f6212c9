/**
 * Topic names and topic configs: Kafka's validation rules, overrides over broker defaults,
 * and the LogConfig a partition log gets from them. Pure.
 */
import type { LogConfig } from '../log/partition-log';
import { TOPIC_CONFIG_KEYS, TopicConfig } from '../context';

export const TOPIC_NAME_MAX = 249;

/** Why `name` is not a valid topic name, or null. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be '${name}'`;
  if (name.length > TOPIC_NAME_MAX) return `topic name longer than ${TOPIC_NAME_MAX} characters`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `topic name '${name}' has characters other than [a-zA-Z0-9._-]`;
  return null;
}

export type TopicOverrides = Partial<Record<keyof TopicConfig, string>>;

const INT32_MAX = 2 ** 31 - 1;

/** Valid range per numeric key (Kafka's: retention.* may be -1 for "no limit"; the int-typed ones fit in an int32). */
type TextKey = 'cleanup.policy' | 'unclean.leader.election.enable';
const TEXT_KEYS: readonly string[] = ['cleanup.policy', 'unclean.leader.election.enable'];
/** Kafka's only double-typed topic config here: a ratio in [0, 1]. */
type RatioKey = 'min.cleanable.dirty.ratio';

const NUMERIC_RANGES: Record<Exclude<keyof TopicConfig, TextKey | RatioKey>, { min: number; max: number }> = {
  'retention.ms': { min: -1, max: Number.MAX_SAFE_INTEGER },
  'retention.bytes': { min: -1, max: Number.MAX_SAFE_INTEGER },
  // Kafka's floor is 14 bytes (a batch header); a segment under a KiB is never useful, so ours is 1024.
  'segment.bytes': { min: 1024, max: INT32_MAX },
  'min.insync.replicas': { min: 1, max: INT32_MAX },
  'max.message.bytes': { min: 0, max: INT32_MAX },
  'delete.retention.ms': { min: 0, max: Number.MAX_SAFE_INTEGER },
  'min.compaction.lag.ms': { min: 0, max: Number.MAX_SAFE_INTEGER },
};

/** The policies in a cleanup.policy value: 'delete', 'compact' or both, comma-separated in any order (Kafka's list type). */
export function cleanupPolicies(value: string): { compact: boolean; delete: boolean } {
  const parts = value.split(',').map((part) => part.trim());
  return { compact: parts.includes('compact'), delete: parts.includes('delete') };
}

function cleanupPolicyProblem(value: string): string | null {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.some((part) => part !== 'delete' && part !== 'compact') || new Set(parts).size !== parts.length) {
    return `cleanup.policy '${value.slice(0, 64)}': expected 'delete', 'compact' or 'compact,delete'`;
  }
  return null;
}

/** Validates overrides; returns them normalised, or the first problem. A null value removes the key. */
export function validateOverrides(configs: Array<{ name: string; value: string | null }>): { overrides: TopicOverrides } | { problem: string } {
  const overrides: TopicOverrides = {};
  const seen = new Set<string>();
  for (const { name, value } of configs) {
    if (!(TOPIC_CONFIG_KEYS as readonly string[]).includes(name)) return { problem: `unknown or unsupported config '${name}'` };
    if (seen.has(name)) return { problem: `config '${name}' given more than once` };
    seen.add(name);
    if (value === null) continue;
    const key = name as keyof TopicConfig;
    if (key === 'cleanup.policy') {
      const problem = cleanupPolicyProblem(value);
      if (problem !== null) return { problem };
      overrides[key] = value.split(',').map((part) => part.trim()).join(',');
      continue;
    } else if (key === 'min.cleanable.dirty.ratio') {
      // A plain decimal: Number() would also take '', '0x1' and 'Infinity'.
      if (!/^(\d{1,16}(\.\d{1,16})?|\.\d{1,16})$/.test(value) || Number(value) > 1) return { problem: `${name} must be a number from 0 to 1, got '${value.slice(0, 64)}'` };
      overrides[key] = String(Number(value));
      continue;
    } else if (key === 'unclean.leader.election.enable') {
      if (value !== 'true' && value !== 'false') return { problem: `unclean.leader.election.enable must be true or false, got '${value.slice(0, 64)}'` };
    } else {
      // Digits only: Number() would also take '', ' 1 ', '0x10' and '1e3'.
      if (!/^-?\d{1,16}$/.test(value)) return { problem: `${name} must be an integer, got '${value.slice(0, 64)}'` };
      const number = Number(value);
      const { min, max } = NUMERIC_RANGES[key];
      if (number < min || number > max) return { problem: `${name} must be between ${min} and ${max}, got ${number}` };
      overrides[key] = String(number);
      continue;
    }
    overrides[key] = value;
  }
  return { overrides };
}

export function effectiveConfig(defaults: TopicConfig, overrides: TopicOverrides): TopicConfig {
  const out: Record<string, number | string> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    // The znode may have been written by hand: an override that does not validate is ignored.
    if (typeof value !== 'string' || 'problem' in validateOverrides([{ name: key, value }])) continue;
    out[key] = TEXT_KEYS.includes(key) ? value : Number(value);
  }
  return out as unknown as TopicConfig;
}

export function logConfigFor(topic: TopicConfig, broker: { flushMessages: number; flushMs: number; inlineWriteBytesMax: number }): LogConfig {
  const policies = cleanupPolicies(topic['cleanup.policy']);
  return {
    segmentBytes: topic['segment.bytes'],
    // Retention deletes segments only under the 'delete' policy (Kafka's): a compact-only topic keeps every key for ever.
    retentionMs: policies.delete ? topic['retention.ms'] : -1,
    retentionBytes: policies.delete ? topic['retention.bytes'] : -1,
    compaction: policies.compact
      ? { deleteRetentionMs: topic['delete.retention.ms'], minCleanableDirtyRatio: topic['min.cleanable.dirty.ratio'], minCompactionLagMs: topic['min.compaction.lag.ms'] }
      : null,
    maxMessageBytes: topic['max.message.bytes'],
    flushMessages: broker.flushMessages,
    flushMs: broker.flushMs,
    inlineWriteBytesMax: broker.inlineWriteBytesMax,
    indexIntervalBytes: 4096,
  };
}
