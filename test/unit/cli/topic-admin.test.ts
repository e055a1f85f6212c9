/**
 * The merge behind `samsa topic alter-config` and the console's config form: AlterConfigs
 * replaces every override, so the request must carry the current overrides plus the change.
 */
import { mergeOverrides, SOURCE_DYNAMIC_TOPIC, TopicAdminError } from '../../../cli/topic-admin';
import { CliError } from '../../../cli/kafka-admin';

const DEFAULT_CONFIG = 5;
const entry = (name: string, value: string | null, configSource: number) => ({ name, value, configSource, readOnly: false, isSensitive: false });

test('keeps other overrides, sets and removes the changed ones, never turns defaults into overrides', () => {
  const current = [entry('retention.ms', '1000', SOURCE_DYNAMIC_TOPIC), entry('cleanup.policy', 'compact', SOURCE_DYNAMIC_TOPIC), entry('segment.bytes', '1073741824', DEFAULT_CONFIG)];
  const merged = mergeOverrides(current, new Map<string, string | null>([['retention.ms', '2000'], ['cleanup.policy', null], ['max.message.bytes', '2048']]));
  expect(Object.fromEntries(merged)).toEqual({ 'retention.ms': '2000', 'max.message.bytes': '2048' });
  expect(Object.fromEntries(mergeOverrides(current, new Map()))).toEqual({ 'retention.ms': '1000', 'cleanup.policy': 'compact' });
});

test('TopicAdminError prints as the CLI always did and keeps the Kafka code', () => {
  const error = new TopicAdminError(36, 'orders', 'Topic already exists');
  expect(error).toBeInstanceOf(CliError);
  expect(error.errorCode).toBe(36);
  expect(error.message).toBe('TOPIC_ALREADY_EXISTS: orders (Topic already exists)');
});
