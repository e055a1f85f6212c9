/** DescribeConfigs of a broker: Kafka's names, values as Kafka prints them, default vs static. */
import { describeBrokerConfig } from '../../../broker/config-describe';
import { loadBrokerConfig } from '../../../broker/config';

test('defaults are marked default; flags make a setting static', () => {
  const config = loadBrokerConfig({}, { id: 3, numPartitions: 4, connectionsMaxIdleMs: 5000 });
  const byName = new Map(describeBrokerConfig(config).map((e) => [e.name, e]));
  expect(byName.get('broker.id')).toEqual({ name: 'broker.id', value: '3', isDefault: true });
  expect(byName.get('num.partitions')).toEqual({ name: 'num.partitions', value: '4', isDefault: false });
  expect(byName.get('connections.max.idle.ms')).toEqual({ name: 'connections.max.idle.ms', value: '5000', isDefault: false });
  expect(byName.get('max.connections')?.isDefault).toBe(true);
  expect(byName.get('log.flush.interval.messages')?.value).toBe('9223372036854775807');
  expect(byName.get('listeners')?.value).toBe('PLAINTEXT://127.0.0.1:9094,PLAINTEXT://[::1]:9094');
  expect(byName.get('log.cleaner.delete.retention.ms')).toEqual({ name: 'log.cleaner.delete.retention.ms', value: '86400000', isDefault: true });
  expect(byName.get('log.cleaner.min.cleanable.ratio')?.value).toBe('0.5');
  expect(byName.get('log.cleaner.min.compaction.lag.ms')?.value).toBe('0');
  expect(new Set(byName.keys()).size).toBe(describeBrokerConfig(config).length);
});
