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

const NUMERIC_RANGES: Record<Exclude<keyof TopicConfig, TextKey>, { min: number; max: number }> = {
  'retention.ms': { min: -1, max: Number.MAX_SAFE_INTEGER },
  'retention.bytes': { min: -1, max: Number.MAX_SAFE_INTEGER },
  // Kafka's floor is 14 bytes (a batch header); a segment under a KiB is never useful, so ours is 1024.
  'segment.bytes': { min: 1024, max: INT32_MAX },
  'min.insync.replicas': { min: 1, max: INT32_MAX },
  'max.message.bytes': { min: 0, max: INT32_MAX },
};

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
      if (value !== 'delete') return { problem: `cleanup.policy '${value}': only 'delete' is supported (compaction is not)` };
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
  return {
    segmentBytes: topic['segment.bytes'],
    retentionMs: topic['retention.ms'],
    retentionBytes: topic['retention.bytes'],
    maxMessageBytes: topic['max.message.bytes'],
    flushMessages: broker.flushMessages,
    flushMs: broker.flushMs,
    inlineWriteBytesMax: broker.inlineWriteBytesMax,
    indexIntervalBytes: 4096,
  };
}
