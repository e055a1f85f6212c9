import { TopicConfig } from '../../../broker/context';
import { applyIncrementalOps, ConfigOperation } from '../../../broker/kafka/handlers/incremental-config';
import { KafkaError } from '../../../shared/kafka/errors';

const DEFAULTS: TopicConfig = {
  'retention.ms': 604800000,
  'retention.bytes': -1,
  'segment.bytes': 1073741824,
  'min.insync.replicas': 1,
  'max.message.bytes': 1048588,
  'cleanup.policy': 'delete',
  'delete.retention.ms': 86400000,
  'min.cleanable.dirty.ratio': 0.5,
  'min.compaction.lag.ms': 0,
  'unclean.leader.election.enable': 'false',
};

const { SET, DELETE, APPEND, SUBTRACT } = ConfigOperation;
const op = (name: string, configOperation: number, value: string | null = null) => ({ name, configOperation, value });

describe('applyIncrementalOps', () => {
  test('SET adds to the existing overrides, which are kept', () => {
    const effective = { ...DEFAULTS, 'retention.ms': 1000 };
    expect(applyIncrementalOps(effective, new Set(['retention.ms']), [op('segment.bytes', SET, '2048')])).toEqual({
      configs: [
        { name: 'retention.ms', value: '1000' },
        { name: 'segment.bytes', value: '2048' },
      ],
    });
  });

  test('DELETE removes an override; deleting one that is not set is a no-op', () => {
    const effective = { ...DEFAULTS, 'retention.ms': 1000 };
    expect(applyIncrementalOps(effective, new Set(['retention.ms']), [op('retention.ms', DELETE), op('retention.bytes', DELETE)])).toEqual({ configs: [] });
  });

  test('APPEND starts from the default when not overridden and skips items already there', () => {
    expect(applyIncrementalOps(DEFAULTS, new Set(), [op('cleanup.policy', APPEND, 'compact,delete')])).toEqual({ configs: [{ name: 'cleanup.policy', value: 'delete,compact' }] });
  });

  test('SUBTRACT removes items from the current override', () => {
    const effective = { ...DEFAULTS, 'cleanup.policy': 'compact,delete' };
    expect(applyIncrementalOps(effective, new Set(['cleanup.policy']), [op('cleanup.policy', SUBTRACT, 'delete')])).toEqual({ configs: [{ name: 'cleanup.policy', value: 'compact' }] });
  });

  test('APPEND and SUBTRACT on a non-list config are INVALID_CONFIG', () => {
    for (const operation of [APPEND, SUBTRACT]) {
      expect(applyIncrementalOps(DEFAULTS, new Set(), [op('retention.ms', operation, '5')])).toEqual({ errorCode: KafkaError.INVALID_CONFIG, errorMessage: expect.stringContaining('list configs only') });
    }
  });

  test('an unknown name is INVALID_CONFIG, whatever the operation', () => {
    expect(applyIncrementalOps(DEFAULTS, new Set(), [op('no.such.config', DELETE)])).toMatchObject({ errorCode: KafkaError.INVALID_CONFIG });
    expect(applyIncrementalOps(DEFAULTS, new Set(), [op('no.such.config', SET, '1')])).toMatchObject({ errorCode: KafkaError.INVALID_CONFIG });
  });

  test('a name given twice, an unknown operation or a null value to SET are INVALID_REQUEST', () => {
    expect(applyIncrementalOps(DEFAULTS, new Set(), [op('retention.ms', SET, '1'), op('retention.ms', DELETE)])).toMatchObject({ errorCode: KafkaError.INVALID_REQUEST });
    expect(applyIncrementalOps(DEFAULTS, new Set(), [op('retention.ms', 7, '1')])).toMatchObject({ errorCode: KafkaError.INVALID_REQUEST });
    expect(applyIncrementalOps(DEFAULTS, new Set(), [op('retention.ms', SET, null)])).toMatchObject({ errorCode: KafkaError.INVALID_REQUEST });
    expect(applyIncrementalOps(DEFAULTS, new Set(), [op('cleanup.policy', APPEND, null)])).toMatchObject({ errorCode: KafkaError.INVALID_REQUEST });
  });
});
