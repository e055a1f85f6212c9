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

/** Validates overrides; returns them normalised, or the first problem. */
export function validateOverrides(configs: Array<{ name: string; value: string | null }>): { overrides: TopicOverrides } | { problem: string } {
  const overrides: TopicOverrides = {};
  for (const { name, value } of configs) {
    if (!(TOPIC_CONFIG_KEYS as readonly string[]).includes(name)) return { problem: `unknown or unsupported config '${name}'` };
    if (value === null) continue;
    const key = name as keyof TopicConfig;
    if (key === 'cleanup.policy') {
      if (value !== 'delete') return { problem: `cleanup.policy '${value}': only 'delete' is supported (compaction is not)` };
    } else {
      const number = Number(value);
      if (!Number.isSafeInteger(number)) return { problem: `${name} must be an integer, got '${value}'` };
      const minimum = key === 'retention.ms' || key === 'retention.bytes' ? -1 : key === 'segment.bytes' ? 1024 : 1;
      if (number < minimum) return { problem: `${name} must be at least ${minimum}, got ${number}` };
    }
    overrides[key] = value;
  }
  return { overrides };
}

export function effectiveConfig(defaults: TopicConfig, overrides: TopicOverrides): TopicConfig {
  const out: Record<string, number | string> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    out[key] = key === 'cleanup.policy' ? value : Number(value);
  }
  return out as unknown as TopicConfig;
}

export function logConfigFor(topic: TopicConfig, broker: { flushMessages: number; flushMs: number }): LogConfig {
  return {
    segmentBytes: topic['segment.bytes'],
    retentionMs: topic['retention.ms'],
    retentionBytes: topic['retention.bytes'],
    maxMessageBytes: topic['max.message.bytes'],
    flushMessages: broker.flushMessages,
    flushMs: broker.flushMs,
    indexIntervalBytes: 4096,
  };
}
