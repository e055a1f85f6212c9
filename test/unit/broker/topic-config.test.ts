/**
 * Topic names and topic configs: Kafka's validation rules, overrides over broker defaults, and
 * the log config a partition gets. Table-driven, with the edges where valid turns invalid.
 */
import { effectiveConfig, logConfigFor, topicNameProblem, TOPIC_NAME_MAX, validateOverrides } from '../../../broker/cluster/topic-config';
import { DEFAULT_TOPIC_CONFIG } from '../../../broker/config';

describe('topic names', () => {
  test.each([
    ['orders', null],
    ['a.b_c-9', null],
    ['x'.repeat(TOPIC_NAME_MAX), null],
    ['...', null],
    ['', 'empty'],
    ['.', "cannot be '.'"],
    ['..', "cannot be '..'"],
    ['has space', 'characters'],
    ['slash/inside', 'characters'],
    ['ünï', 'characters'],
    ['x'.repeat(TOPIC_NAME_MAX + 1), 'longer than 249'],
  ])('%j', (name, problem) => {
    const found = topicNameProblem(name);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });
});

describe('config overrides', () => {
  test.each([
    // [name, value, valid, normalised]
    ['retention.ms', '60000', true, '60000'],
    ['retention.ms', '-1', true, '-1'],
    ['retention.ms', '-2', false, null],
    ['retention.ms', '', false, null],
    ['retention.ms', ' 5', false, null],
    ['retention.ms', '0x10', false, null],
    ['retention.ms', '1e3', false, null],
    ['retention.ms', '1.5', false, null],
    ['retention.ms', '99999999999999999999', false, null],
    ['retention.bytes', '-1', true, '-1'],
    ['retention.bytes', 'abc', false, null],
    ['segment.bytes', '1024', true, '1024'],
    ['segment.bytes', '1023', false, null],
    ['segment.bytes', '2147483647', true, '2147483647'],
    ['segment.bytes', '2147483648', false, null],
    ['min.insync.replicas', '1', true, '1'],
    ['min.insync.replicas', '0', false, null],
    ['max.message.bytes', '0', true, '0'],
    ['max.message.bytes', '-1', false, null],
    ['cleanup.policy', 'delete', true, 'delete'],
    ['cleanup.policy', 'compact', true, 'compact'],
    ['cleanup.policy', 'compact,delete', true, 'compact,delete'],
    ['cleanup.policy', 'delete, compact', true, 'delete,compact'],
    ['cleanup.policy', 'compact,compact', false, null],
    ['cleanup.policy', 'purge', false, null],
    ['cleanup.policy', '', false, null],
    ['delete.retention.ms', '0', true, '0'],
    ['delete.retention.ms', '-1', false, null],
    ['min.compaction.lag.ms', '60000', true, '60000'],
    ['min.cleanable.dirty.ratio', '0.25', true, '0.25'],
    ['min.cleanable.dirty.ratio', '1', true, '1'],
    ['min.cleanable.dirty.ratio', '.5', true, '0.5'],
    ['min.cleanable.dirty.ratio', '1.01', false, null],
    ['min.cleanable.dirty.ratio', '-0.1', false, null],
    ['min.cleanable.dirty.ratio', 'Infinity', false, null],
    ['unknown.key', '1', false, null],
  ])('%s=%j valid=%s', (name, value, valid, normalised) => {
    const result = validateOverrides([{ name: name as string, value: value as string }]);
    if (valid) expect(result).toEqual({ overrides: { [name as string]: normalised } });
    else expect(result).toHaveProperty('problem');
  });

  test('a null value removes the key (AlterConfigs), a key given twice is refused', () => {
    expect(validateOverrides([{ name: 'retention.ms', value: null }])).toEqual({ overrides: {} });
    expect(validateOverrides([{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }])).toHaveProperty('problem');
  });

  test('a long bad value is cut in the message', () => {
    const result = validateOverrides([{ name: 'retention.ms', value: 'x'.repeat(100_000) }]);
    expect('problem' in result && result.problem.length < 200).toBe(true);
  });
});

describe('effective config', () => {
  test('overrides lie over the defaults; hand-written junk in the znode is ignored', () => {
    const config = effectiveConfig(DEFAULT_TOPIC_CONFIG, { 'retention.ms': '60000', 'segment.bytes': 'lots', 'min.insync.replicas': '2' });
    expect(config).toEqual({ ...DEFAULT_TOPIC_CONFIG, 'retention.ms': 60000, 'min.insync.replicas': 2 });
    expect(effectiveConfig(DEFAULT_TOPIC_CONFIG, {})).toEqual(DEFAULT_TOPIC_CONFIG);
  });

  test('the log config takes sizes and retention from the topic and flushing from the broker', () => {
    const topic = effectiveConfig(DEFAULT_TOPIC_CONFIG, { 'segment.bytes': '4096', 'retention.bytes': '100000', 'max.message.bytes': '2000' });
    expect(logConfigFor(topic, { flushMessages: 10, flushMs: 500, inlineWriteBytesMax: 777 })).toMatchObject({
      segmentBytes: 4096,
      retentionMs: DEFAULT_TOPIC_CONFIG['retention.ms'],
      retentionBytes: 100000,
      maxMessageBytes: 2000,
      flushMessages: 10,
      flushMs: 500,
      inlineWriteBytesMax: 777,
      compaction: null,
    });
  });

  test('compact topics get compaction settings and no retention unless delete is also named', () => {
    const compact = logConfigFor(effectiveConfig(DEFAULT_TOPIC_CONFIG, { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1', 'delete.retention.ms': '5' }), { flushMessages: 1, flushMs: 1, inlineWriteBytesMax: 1 });
    expect(compact).toMatchObject({ retentionMs: -1, retentionBytes: -1, compaction: { deleteRetentionMs: 5, minCleanableDirtyRatio: 0.1, minCompactionLagMs: 0 } });
    const both = logConfigFor(effectiveConfig(DEFAULT_TOPIC_CONFIG, { 'cleanup.policy': 'delete,compact' }), { flushMessages: 1, flushMs: 1, inlineWriteBytesMax: 1 });
    expect(both).toMatchObject({ retentionMs: DEFAULT_TOPIC_CONFIG['retention.ms'], compaction: { deleteRetentionMs: 86_400_000, minCleanableDirtyRatio: 0.5 } });
  });
});
