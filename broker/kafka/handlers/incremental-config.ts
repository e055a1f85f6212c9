/**
 * IncrementalAlterConfigs' operations on a topic's overrides (KIP-339), as Kafka's
 * ConfigAdminManager applies them: the result is the topic's whole new override set, which
 * AlterConfigs semantics then write (and validate values). Pure.
 *
 * - SET replaces a value; DELETE removes the override (the broker default applies again).
 * - APPEND / SUBTRACT apply to list-type configs only (cleanup.policy here): items are added
 *   that are not there yet, or removed; the list starts from the current value, override or
 *   default (Kafka starts from the override or the config's default).
 * - A config named twice, an unknown operation, or a null value for anything but DELETE is an
 *   INVALID_REQUEST; an unknown name, or APPEND/SUBTRACT on a non-list config, INVALID_CONFIG.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { TOPIC_CONFIG_KEYS, TopicConfig } from '../../context';
import { isListConfig } from './config-catalog';

export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface IncrementalOp {
  name: string;
  configOperation: number;
  value: string | null;
}

export type IncrementalOutcome = { configs: Array<{ name: string; value: string }> } | { errorCode: number; errorMessage: string };

function listItems(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** The new override set of a topic whose effective config is `effective` and overridden keys `overridden`. */
export function applyIncrementalOps(effective: TopicConfig, overridden: ReadonlySet<string>, ops: readonly IncrementalOp[]): IncrementalOutcome {
  const overrides = new Map<string, string>([...overridden].filter((key) => key in effective).map((key) => [key, String(effective[key as keyof TopicConfig])]));
  const seen = new Set<string>();
  for (const op of ops) {
    if (seen.has(op.name)) return { errorCode: KafkaError.INVALID_REQUEST, errorMessage: `config '${op.name}' given more than once` };
    seen.add(op.name);
    if (!Object.values(ConfigOperation).includes(op.configOperation as 0)) {
      return { errorCode: KafkaError.INVALID_REQUEST, errorMessage: `unknown config operation ${op.configOperation} for '${op.name}'` };
    }
    if (!(TOPIC_CONFIG_KEYS as readonly string[]).includes(op.name)) return { errorCode: KafkaError.INVALID_CONFIG, errorMessage: `unknown or unsupported config '${op.name}'` };
    if (op.configOperation === ConfigOperation.DELETE) {
      overrides.delete(op.name);
      continue;
    }
    if (op.value === null) return { errorCode: KafkaError.INVALID_REQUEST, errorMessage: `null value for '${op.name}'` };
    if (op.configOperation === ConfigOperation.SET) {
      overrides.set(op.name, op.value);
      continue;
    }
    if (!isListConfig(op.name)) {
      return { errorCode: KafkaError.INVALID_CONFIG, errorMessage: `${op.configOperation === ConfigOperation.APPEND ? 'APPEND' : 'SUBTRACT'} applies to list configs only, not '${op.name}'` };
    }
    const current = listItems(overrides.get(op.name) ?? String(effective[op.name as keyof TopicConfig]));
    const items = listItems(op.value);
    const next = op.configOperation === ConfigOperation.APPEND ? [...current, ...items.filter((item) => !current.includes(item))] : current.filter((item) => !items.includes(item));
    overrides.set(op.name, next.join(','));
  }
  return { configs: [...overrides].map(([name, value]) => ({ name, value })) };
}
