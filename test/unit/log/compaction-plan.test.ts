/**
 * The compaction planner: which part of a log is cleanable (active segment, high watermark,
 * min.compaction.lag.ms), when a log is due (min.cleanable.dirty.ratio), and which records of
 * a batch survive (latest per key, tombstones and their delete horizon, keyless records,
 * control and transactional batches left alone). Pure: time is an argument.
 */
import { cleanableRange, CompactionSettings, OffsetMap, PlanBatch, planBatch } from '../../../broker/log/compaction-plan';

const NOW = 1_700_000_000_000;
const DAY = 86_400_000;
const settings: CompactionSettings = { deleteRetentionMs: DAY, minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0 };

function batch(baseOffset: number, records: Array<[string | null, 'v' | 'tomb']>, extra: Partial<PlanBatch> = {}): PlanBatch {
  return { baseOffset, control: false, transactional: false, deleteHorizonMs: null, records: records.map(([key, kind], i) => ({ offset: baseOffset + i, key, tombstone: kind === 'tomb' })), ...extra };
}

function mapOf(...batches: PlanBatch[]): OffsetMap {
  const map = new OffsetMap(1000);
  for (const b of batches) map.addBatch(b);
  return map;
}

describe('cleanable range', () => {
  const segments = [
    { baseOffset: 0, size: 100, maxTimestamp: NOW - 10_000 },
    { baseOffset: 10, size: 100, maxTimestamp: NOW - 5_000 },
    { baseOffset: 20, size: 100, maxTimestamp: NOW - 1_000 },
    { baseOffset: 30, size: 50, maxTimestamp: NOW }, // active
  ];

  test('never the active segment; everything before it dirty on a first pass', () => {
    const range = cleanableRange({ segments, firstDirtyOffset: 0, upTo: 35, now: NOW, settings });
    expect(range).toMatchObject({ firstDirtyIndex: 0, firstUncleanableIndex: 3, cleanBytes: 0, dirtyBytes: 300, dirtyRatio: 1, due: true });
  });

  test('the checkpoint splits clean from dirty; the ratio decides', () => {
    const half = cleanableRange({ segments, firstDirtyOffset: 10, upTo: 35, now: NOW, settings });
    expect(half).toMatchObject({ firstDirtyIndex: 1, cleanBytes: 100, dirtyBytes: 200, due: true });
    expect(half.dirtyRatio).toBeCloseTo(2 / 3);
    const third = cleanableRange({ segments, firstDirtyOffset: 20, upTo: 35, now: NOW, settings });
    expect(third).toMatchObject({ firstDirtyIndex: 2, cleanBytes: 200, dirtyBytes: 100, due: false });
    expect(cleanableRange({ segments, firstDirtyOffset: 20, upTo: 35, now: NOW, settings: { ...settings, minCleanableDirtyRatio: 0.3 } }).due).toBe(true);
    // Exactly at the ratio is due (>=).
    expect(cleanableRange({ segments: [segments[0]!, segments[1]!, segments[3]!], firstDirtyOffset: 10, upTo: 35, now: NOW, settings }).due).toBe(true);
  });

  test('nothing dirty: not due, whatever the ratio', () => {
    const range = cleanableRange({ segments, firstDirtyOffset: 30, upTo: 35, now: NOW, settings: { ...settings, minCleanableDirtyRatio: 0 } });
    expect(range).toMatchObject({ firstDirtyIndex: 3, firstUncleanableIndex: 3, dirtyBytes: 0, due: false });
  });

  test('a segment reaching the high watermark is not cleanable, nor anything after it', () => {
    expect(cleanableRange({ segments, firstDirtyOffset: 0, upTo: 5, now: NOW, settings }).firstUncleanableIndex).toBe(0);
    expect(cleanableRange({ segments, firstDirtyOffset: 0, upTo: 15, now: NOW, settings }).firstUncleanableIndex).toBe(1);
    expect(cleanableRange({ segments, firstDirtyOffset: 0, upTo: 20, now: NOW, settings }).firstUncleanableIndex).toBe(2);
  });

  test('min.compaction.lag.ms: a segment with a record younger than the lag stops the range', () => {
    const lagged = { ...settings, minCompactionLagMs: 4_000 };
    expect(cleanableRange({ segments, firstDirtyOffset: 0, upTo: 35, now: NOW, settings: lagged })).toMatchObject({ firstUncleanableIndex: 2, dirtyBytes: 200 });
    expect(cleanableRange({ segments, firstDirtyOffset: 0, upTo: 35, now: NOW + 10_000, settings: lagged }).firstUncleanableIndex).toBe(3);
    expect(cleanableRange({ segments, firstDirtyOffset: 0, upTo: 35, now: NOW, settings: { ...settings, minCompactionLagMs: 60_000 } }).due).toBe(false);
  });

  test('a lone active segment is never cleanable', () => {
    expect(cleanableRange({ segments: [segments[0]!], firstDirtyOffset: 0, upTo: 100, now: NOW, settings: { ...settings, minCleanableDirtyRatio: 0 } }).due).toBe(false);
  });
});

describe('offset map', () => {
  test('the latest offset per key; control and transactional batches do not count', () => {
    const map = mapOf(batch(0, [['a', 'v'], ['b', 'v'], ['a', 'v']]), batch(3, [['b', 'tomb'], [null, 'v']]), batch(5, [['a', 'v']], { transactional: true }), batch(6, [['c', 'v']], { control: true }));
    expect([map.get('a'), map.get('b'), map.get('c'), map.size]).toEqual([2, 3, undefined, 2]);
    expect(map.hasRoomFor(998)).toBe(true);
    expect(map.hasRoomFor(999)).toBe(false);
  });
});

describe('which records survive', () => {
  const rules = { now: NOW, deleteRetentionMs: DAY };

  test('only the latest record per key; records newer than the map (or absent from it) stay', () => {
    const older = batch(0, [['a', 'v'], ['b', 'v'], ['c', 'v']]);
    const newer = batch(10, [['a', 'v'], ['b', 'v']]);
    const map = mapOf(newer);
    expect(planBatch(older, map, rules)).toEqual({ action: 'rewrite', keep: [2], deleteHorizonMs: null, superseded: 2, tombstonesDropped: 0, keyless: 0 });
    expect(planBatch(newer, map, rules)).toEqual({ action: 'keep', tombstones: 0 });
    expect(planBatch(batch(20, [['z', 'v']]), map, rules)).toEqual({ action: 'keep', tombstones: 0 });
  });

  test('within one batch the later record of a key wins', () => {
    const b = batch(0, [['a', 'v'], ['a', 'v'], ['b', 'v']]);
    expect(planBatch(b, mapOf(b), rules)).toMatchObject({ action: 'rewrite', keep: [1, 2], superseded: 1 });
  });

  test('a wholly superseded batch is dropped', () => {
    const old = batch(0, [['a', 'v'], ['b', 'v']]);
    expect(planBatch(old, mapOf(batch(5, [['a', 'v'], ['b', 'tomb']])), rules)).toEqual({ action: 'drop', superseded: 2, tombstonesDropped: 0, keyless: 0 });
  });

  test('a tombstone first cleaned stays, and its batch gets a delete horizon of now + delete.retention.ms', () => {
    const b = batch(0, [['a', 'v'], ['a', 'tomb']]);
    expect(planBatch(b, mapOf(b), rules)).toMatchObject({ action: 'rewrite', keep: [1], deleteHorizonMs: NOW + DAY });
    // Nothing else to drop: rewritten anyway, to record the horizon.
    const lone = batch(0, [['a', 'tomb']]);
    expect(planBatch(lone, mapOf(lone), rules)).toEqual({ action: 'rewrite', keep: [0], deleteHorizonMs: NOW + DAY, superseded: 0, tombstonesDropped: 0, keyless: 0 });
  });

  test('before the horizon the tombstone stays (batch kept as it is); at and after it, it goes', () => {
    const marked = batch(0, [['a', 'tomb'], ['b', 'v']], { deleteHorizonMs: NOW + 1000 });
    const map = mapOf(marked);
    expect(planBatch(marked, map, rules)).toEqual({ action: 'keep', tombstones: 1 });
    expect(planBatch(marked, map, { ...rules, now: NOW + 999 })).toEqual({ action: 'keep', tombstones: 1 });
    expect(planBatch(marked, map, { ...rules, now: NOW + 1000 })).toEqual({ action: 'rewrite', keep: [1], deleteHorizonMs: NOW + 1000, superseded: 0, tombstonesDropped: 1, keyless: 0 });
    const onlyTomb = batch(0, [['a', 'tomb']], { deleteHorizonMs: NOW });
    expect(planBatch(onlyTomb, mapOf(onlyTomb), rules)).toEqual({ action: 'drop', superseded: 0, tombstonesDropped: 1, keyless: 0 });
  });

  test('a tombstone superseded by a later value goes at once, horizon or not', () => {
    const tomb = batch(0, [['a', 'tomb']]);
    expect(planBatch(tomb, mapOf(batch(1, [['a', 'v']])), rules)).toMatchObject({ action: 'drop', superseded: 1 });
  });

  test('keyless records are dropped (as Kafka does), and counted', () => {
    const b = batch(0, [[null, 'v'], ['a', 'v']]);
    expect(planBatch(b, mapOf(b), rules)).toMatchObject({ action: 'rewrite', keep: [1], keyless: 1 });
  });

  test('control and transactional batches are left as they are, even when superseded', () => {
    const map = mapOf(batch(10, [['a', 'v']]));
    expect(planBatch(batch(0, [['a', 'v']], { transactional: true }), map, rules)).toEqual({ action: 'keep', tombstones: 0 });
    expect(planBatch(batch(1, [['a', 'tomb']], { control: true, deleteHorizonMs: NOW - 1 }), map, rules)).toEqual({ action: 'keep', tombstones: 0 });
  });
});
