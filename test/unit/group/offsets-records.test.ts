import {
  decodeOffsetsRecord,
  encodeOffsetsRecord,
  GroupSnapshot,
  OffsetsRecord,
  OffsetsRecordError,
  OffsetValue,
} from '../../../broker/group/offsets-records';

/** Hex with spaces, `|` separators and `# comments` to the end of a line, for fixtures laid out field by field. */
function hex(text: string): Buffer {
  const digits = text.replace(/#[^\n]*/g, '').replace(/[\s|]/g, '');
  // Buffer.from(..., 'hex') silently stops at a bad digit: a typo in a fixture must fail loudly.
  if (!/^([0-9a-f]{2})*$/.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return Buffer.from(digits, 'hex');
}

// ---------------------------------------------------------------------------
// Hand-written writers for old versions, from the schemas (group-coordinator/.../message/*.json).
// They are deliberately naive (no shared code with the module under test).

function i16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}
function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
function i64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}
function str(s: string | null): Buffer {
  if (s === null) return i16(-1);
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([i16(bytes.length), bytes]);
}
function bytes(b: Buffer): Buffer {
  return Buffer.concat([i32(b.length), b]);
}
function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}
function cstr(s: string | null): Buffer {
  if (s === null) return uvarint(0);
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([uvarint(b.length + 1), b]);
}
function cbytes(b: Buffer): Buffer {
  return Buffer.concat([uvarint(b.length + 1), b]);
}

function offsetValueBytes(version: number, v: OffsetValue, flexibleTags: Buffer = uvarint(0)): Buffer {
  const parts = [i16(version), i64(v.offset)];
  if (version >= 3) parts.push(i32(v.leaderEpoch));
  parts.push(version >= 4 ? cstr(v.metadata) : str(v.metadata));
  parts.push(i64(v.commitTimestamp));
  if (version === 1) parts.push(i64(v.expireTimestamp));
  if (version >= 4) parts.push(flexibleTags);
  return Buffer.concat(parts);
}

function groupValueBytes(version: number, g: GroupSnapshot): Buffer {
  const flexible = version >= 4;
  const s = flexible ? cstr : str;
  const b = flexible ? cbytes : bytes;
  const parts = [i16(version), s(g.protocolType ?? ''), i32(g.generationId), s(g.protocolName), s(g.leaderId)];
  if (version >= 2) parts.push(i64(g.currentStateTimestamp));
  parts.push(flexible ? uvarint(g.members.length + 1) : i32(g.members.length));
  for (const m of g.members) {
    parts.push(s(m.memberId));
    if (version >= 3) parts.push(s(m.groupInstanceId));
    parts.push(s(m.clientId), s(m.clientHost));
    if (version >= 1) parts.push(i32(m.rebalanceTimeoutMs));
    parts.push(i32(m.sessionTimeoutMs), b(m.subscription), b(m.assignment));
    if (flexible) parts.push(uvarint(0));
  }
  if (flexible) parts.push(uvarint(0));
  return Buffer.concat(parts);
}

const GROUP_KEY = hex('0002 | 0002 6731'); // version 2, "g1"

function sampleGroup(): GroupSnapshot {
  return {
    groupId: 'g1',
    protocolType: 'consumer',
    generationId: 7,
    protocolName: 'range',
    leaderId: 'm-1',
    currentStateTimestamp: 1000,
    members: [
      {
        memberId: 'm-1',
        groupInstanceId: null,
        clientId: 'c',
        clientHost: '/127.0.0.1',
        rebalanceTimeoutMs: 300000,
        sessionTimeoutMs: 10000,
        subscription: Buffer.from([1, 2]),
        assignment: Buffer.from([3]),
      },
      {
        memberId: 'm-2',
        groupInstanceId: 'instance-ü',
        clientId: '',
        clientHost: '/10.0.0.2',
        rebalanceTimeoutMs: 60000,
        sessionTimeoutMs: 45000,
        subscription: Buffer.alloc(0),
        assignment: Buffer.alloc(0),
      },
    ],
  };
}

describe('byte-exact encoding (fixtures computed by hand from the schemas)', () => {
  test('OffsetCommitKey v1 + OffsetCommitValue v3', () => {
    const { key, value } = encodeOffsetsRecord({
      kind: 'offset',
      group: 'g1',
      topic: 't',
      partition: 3,
      value: { offset: 42, leaderEpoch: 5, metadata: 'm', commitTimestamp: 1700000000000, expireTimestamp: -1 },
    });
    // version 1 | group "g1" | topic "t" | partition 3
    expect(key.toString('hex')).toBe(hex('0001 | 0002 6731 | 0001 74 | 00000003').toString('hex'));
    // version 3 | offset 42 | leaderEpoch 5 | metadata "m" | commitTimestamp 1700000000000 = 0x18bcfe56800
    expect(value!.toString('hex')).toBe(hex('0003 | 000000000000002a | 00000005 | 0001 6d | 0000018bcfe56800').toString('hex'));
  });

  test('an explicit expire timestamp is written as v1, as Kafka does (no leader epoch field)', () => {
    const { value } = encodeOffsetsRecord({
      kind: 'offset',
      group: 'g1',
      topic: 't',
      partition: 0,
      value: { offset: 1, leaderEpoch: 9, metadata: '', commitTimestamp: 2, expireTimestamp: 3 },
    });
    // version 1 | offset 1 | metadata "" | commitTimestamp 2 | expireTimestamp 3
    expect(value!.toString('hex')).toBe(hex('0001 | 0000000000000001 | 0000 | 0000000000000002 | 0000000000000003').toString('hex'));
  });

  test('GroupMetadataKey v2 + GroupMetadataValue v3', () => {
    const { key, value } = encodeOffsetsRecord({ kind: 'group', group: 'g1', value: sampleGroup() });
    expect(key.toString('hex')).toBe(GROUP_KEY.toString('hex'));
    const expected = hex(`
      0003                                   # version 3
      0008 636f6e73756d6572                  # protocolType "consumer"
      00000007                               # generation 7
      0005 72616e6765                        # protocol "range"
      0003 6d2d31                            # leader "m-1"
      00000000000003e8                       # currentStateTimestamp 1000
      00000002                               # 2 members
        0003 6d2d31                          # memberId "m-1"
        ffff                                 # groupInstanceId null
        0001 63                              # clientId "c"
        000a 2f3132372e302e302e31            # clientHost "/127.0.0.1"
        000493e0                             # rebalanceTimeout 300000
        00002710                             # sessionTimeout 10000
        00000002 0102                        # subscription
        00000001 03                          # assignment
        0003 6d2d32                          # memberId "m-2"
        000b 696e7374616e63652dc3bc          # groupInstanceId "instance-ü" (ü = c3 bc)
        0000                                 # clientId ""
        0009 2f31302e302e302e32              # clientHost "/10.0.0.2"
        0000ea60                             # rebalanceTimeout 60000
        0000afc8                             # sessionTimeout 45000
        00000000                             # subscription (empty)
        00000000                             # assignment (empty)
    `);
    expect(value!.toString('hex')).toBe(expected.toString('hex'));
  });

  test('an empty group: protocolType null is written as "" and protocol/leader as null strings', () => {
    const { value } = encodeOffsetsRecord({
      kind: 'group',
      group: 'g',
      value: { groupId: 'g', protocolType: null, generationId: 0, protocolName: null, leaderId: null, currentStateTimestamp: -1, members: [] },
    });
    // v3 | "" | generation 0 | null | null | -1 | 0 members
    expect(value!.toString('hex')).toBe(hex('0003 | 0000 | 00000000 | ffff | ffff | ffffffffffffffff | 00000000').toString('hex'));
  });

  test('tombstones have a null value and the same key', () => {
    const offset = encodeOffsetsRecord({ kind: 'offset', group: 'g1', topic: 't', partition: 3, value: null });
    expect(offset.value).toBeNull();
    expect(offset.key.toString('hex')).toBe(hex('0001 0002 6731 0001 74 00000003').toString('hex'));
    const group = encodeOffsetsRecord({ kind: 'group', group: 'g1', value: null });
    expect(group.value).toBeNull();
    expect(group.key.toString('hex')).toBe(GROUP_KEY.toString('hex'));
  });
});

describe('round trips', () => {
  const records: OffsetsRecord[] = [
    { kind: 'offset', group: 'g1', topic: 't', partition: 3, value: { offset: 42, leaderEpoch: 5, metadata: 'm', commitTimestamp: 1700000000000, expireTimestamp: -1 } },
    { kind: 'offset', group: 'ünïcødé 😀', topic: 'topic.with-dots_', partition: 2147483647, value: { offset: 2 ** 53 - 1, leaderEpoch: -1, metadata: 'x'.repeat(32767), commitTimestamp: 0, expireTimestamp: -1 } },
    { kind: 'offset', group: 'g', topic: 't', partition: 0, value: { offset: 7, leaderEpoch: -1, metadata: '', commitTimestamp: 10, expireTimestamp: 99 } },
    { kind: 'offset', group: '', topic: '', partition: 0, value: null },
    { kind: 'group', group: 'g1', value: sampleGroup() },
    { kind: 'group', group: 'g1', value: null },
    { kind: 'group', group: 'e', value: { groupId: 'e', protocolType: null, generationId: 12, protocolName: null, leaderId: null, currentStateTimestamp: 5, members: [] } },
  ];
  test.each(records.map((r, i) => [i, r] as const))('record %i decodes to what was encoded', (_i, record) => {
    const { key, value } = encodeOffsetsRecord(record);
    expect(decodeOffsetsRecord(key, value)).toEqual(record);
  });

  const offset: OffsetValue = { offset: 123456789012, leaderEpoch: 17, metadata: 'meta ü', commitTimestamp: 1690000000123, expireTimestamp: 1690000999999 };
  const offsetKey = encodeOffsetsRecord({ kind: 'offset', group: 'g1', topic: 't', partition: 3, value: null }).key;

  test.each([
    [0, { ...offset, leaderEpoch: -1, expireTimestamp: -1 }],
    [1, { ...offset, leaderEpoch: -1 }],
    [2, { ...offset, leaderEpoch: -1, expireTimestamp: -1 }],
    [3, { ...offset, expireTimestamp: -1 }],
    [4, { ...offset, expireTimestamp: -1 }],
  ])('OffsetCommitValue v%i is read with defaults for the fields it lacks', (version, expected) => {
    const decoded = decodeOffsetsRecord(offsetKey, offsetValueBytes(version, offset));
    expect(decoded).toEqual({ kind: 'offset', group: 'g1', topic: 't', partition: 3, value: expected });
  });

  test('OffsetCommitValue v4 skips unknown tagged fields', () => {
    // two tagged fields: tag 0 with 3 bytes, tag 7 with 0 bytes
    const tags = Buffer.concat([uvarint(2), uvarint(0), uvarint(3), Buffer.from([9, 9, 9]), uvarint(7), uvarint(0)]);
    const decoded = decodeOffsetsRecord(offsetKey, offsetValueBytes(4, offset, tags));
    expect(decoded).toMatchObject({ value: { offset: offset.offset, metadata: offset.metadata } });
  });

  test('OffsetCommitKey v0 reads like v1', () => {
    const key = hex('0000 | 0002 6731 | 0001 74 | 00000003');
    expect(decodeOffsetsRecord(key, null)).toEqual({ kind: 'offset', group: 'g1', topic: 't', partition: 3, value: null });
  });

  test.each([0, 1, 2, 3, 4])('GroupMetadataValue v%i is read with defaults for the fields it lacks', (version) => {
    const group = sampleGroup();
    const decoded = decodeOffsetsRecord(GROUP_KEY, groupValueBytes(version, group));
    const expected: GroupSnapshot = {
      ...group,
      currentStateTimestamp: version >= 2 ? group.currentStateTimestamp : -1,
      members: group.members.map((m) => ({
        ...m,
        groupInstanceId: version >= 3 ? m.groupInstanceId : null,
        // v0 has no rebalance timeout: Kafka substitutes the session timeout.
        rebalanceTimeoutMs: version >= 1 ? m.rebalanceTimeoutMs : m.sessionTimeoutMs,
      })),
    };
    expect(decoded).toEqual({ kind: 'group', group: 'g1', value: expected });
  });

  test('decoded bytes do not share memory with the input buffer', () => {
    const value = groupValueBytes(3, sampleGroup());
    const decoded = decodeOffsetsRecord(GROUP_KEY, value) as Extract<OffsetsRecord, { kind: 'group' }>;
    value.fill(0);
    expect([...decoded.value!.members[0]!.subscription]).toEqual([1, 2]);
  });

  test('an unknown key version is skipped (null), whatever the value', () => {
    expect(decodeOffsetsRecord(hex('0003 0002 6731'), Buffer.from('garbage'))).toBeNull();
    expect(decodeOffsetsRecord(hex('ffff'), null)).toBeNull();
    expect(decodeOffsetsRecord(hex('7fff'), null)).toBeNull();
  });

  test('trailing bytes after the last field are ignored, as Kafka does', () => {
    const value = Buffer.concat([offsetValueBytes(3, offset), Buffer.from([1, 2, 3])]);
    expect(decodeOffsetsRecord(offsetKey, value)).toMatchObject({ value: { offset: offset.offset } });
  });
});

describe('malformed input throws an error naming the problem', () => {
  const offsetKey = hex('0001 0002 6731 0001 74 00000003');
  const goodOffset = offsetValueBytes(3, { offset: 1, leaderEpoch: 0, metadata: 'abc', commitTimestamp: 1, expireTimestamp: -1 });
  const goodGroup = groupValueBytes(3, sampleGroup());

  function expectError(key: Buffer, value: Buffer | null, pattern: RegExp): void {
    let thrown: unknown;
    try {
      decodeOffsetsRecord(key, value);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OffsetsRecordError);
    expect((thrown as Error).message).toMatch(pattern);
  }

  test('keys too short for a version or truncated', () => {
    expectError(Buffer.alloc(0), null, /key: 0 bytes/);
    expectError(hex('00'), null, /key: 1 bytes/);
    expectError(hex('0001 0002 67'), null, /OffsetCommitKey v1: group/);
    expectError(hex('0001 0002 6731 0001 74 0000'), null, /OffsetCommitKey v1/);
    expectError(hex('0002 0005 6731'), null, /GroupMetadataKey v2: group: length 5 but only 2 bytes left/);
  });

  test('null or negative string lengths in keys', () => {
    expectError(hex('0001 ffff 0001 74 00000003'), null, /group: null for a non-nullable string/);
    expectError(hex('0002 fffe'), null, /group: string length -2/);
  });

  test('every truncation of a valid value fails cleanly', () => {
    for (let length = 0; length < goodOffset.length; length++) {
      expectError(offsetKey, goodOffset.subarray(0, length), /OffsetCommitValue/);
    }
    for (let length = 0; length < goodGroup.length; length++) {
      expectError(GROUP_KEY, goodGroup.subarray(0, length), /GroupMetadataValue/);
    }
  });

  test('unknown value versions', () => {
    expectError(offsetKey, hex('0005 0000000000000001'), /OffsetCommitValue: unknown version 5/);
    expectError(offsetKey, hex('ffff'), /OffsetCommitValue: unknown version -1/);
    expectError(GROUP_KEY, hex('0009'), /GroupMetadataValue: unknown version 9/);
  });

  test('absurd member counts are refused before any allocation or loop', () => {
    const head = goodGroup.subarray(0, goodGroup.indexOf(hex('00000002 0003 6d2d31')));
    expectError(GROUP_KEY, Buffer.concat([head, i32(0x7fffffff)]), /members: 2147483647 claimed/);
    expectError(GROUP_KEY, Buffer.concat([head, i32(-1)]), /members: null or negative count/);
  });

  test('absurd or negative bytes lengths', () => {
    const v0 = Buffer.concat([i16(0), str('consumer'), i32(1), str('range'), str('m'), i32(1), str('m'), str('c'), str('h'), i32(10)]);
    expectError(GROUP_KEY, Buffer.concat([v0, i32(0x7fffffff)]), /members\[0\]\.subscription: length 2147483647 but only 0 bytes left/);
    expectError(GROUP_KEY, Buffer.concat([v0, i32(-1)]), /members\[0\]\.subscription: bytes length -1/);
  });

  test('a null where the schema does not allow one', () => {
    const nullMetadata = Buffer.concat([i16(3), i64(1), i32(0), i16(-1), i64(1)]);
    expectError(offsetKey, nullMetadata, /metadata: null for a non-nullable string/);
    const nullMemberId = Buffer.concat([i16(3), str('consumer'), i32(1), str(null), str(null), i64(0), i32(1), str(null), Buffer.alloc(20)]);
    expectError(GROUP_KEY, nullMemberId, /members\[0\]\.memberId: null/);
  });

  test('flexible versions: absurd compact lengths and tagged-field counts', () => {
    const base = Buffer.concat([i16(4), i64(1), i32(0)]);
    expectError(offsetKey, Buffer.concat([base, uvarint(2 ** 31)]), /metadata: string length/);
    expectError(offsetKey, Buffer.concat([base, uvarint(0), i64(1), uvarint(0)]), /metadata: null/);
    expectError(offsetKey, Buffer.concat([base, cstr(''), i64(1), uvarint(1000)]), /1000 tagged fields claimed/);
    expectError(offsetKey, Buffer.concat([base, cstr(''), i64(1), uvarint(1), uvarint(0), uvarint(50)]), /tagged field: length 50/);
    expectError(offsetKey, Buffer.concat([base, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]), /varint/);
  });

  test('int64 values beyond 2^53 are refused rather than rounded', () => {
    const big = Buffer.concat([i16(3), hex('0020000000000000'), i32(0), str(''), i64(0)]);
    expectError(offsetKey, big, /offset: 9007199254740992 is beyond 2\^53/);
  });
});

describe('encoding refuses values Kafka could not read back', () => {
  test('strings longer than 32767 UTF-8 bytes', () => {
    expect(() => encodeOffsetsRecord({ kind: 'offset', group: 'g', topic: 't', partition: 0, value: { offset: 0, leaderEpoch: -1, metadata: 'é'.repeat(16384), commitTimestamp: 0, expireTimestamp: -1 } })).toThrow(
      /metadata: 32768 bytes/,
    );
  });
  test('non-int32 partitions and non-integer offsets', () => {
    expect(() => encodeOffsetsRecord({ kind: 'offset', group: 'g', topic: 't', partition: 2 ** 31, value: null })).toThrow(/partition: 2147483648 is not an int32/);
    expect(() => encodeOffsetsRecord({ kind: 'offset', group: 'g', topic: 't', partition: 0, value: { offset: 1.5, leaderEpoch: -1, metadata: '', commitTimestamp: 0, expireTimestamp: -1 } })).toThrow(/offset: 1.5/);
  });
  test('a snapshot filed under another group id', () => {
    expect(() => encodeOffsetsRecord({ kind: 'group', group: 'other', value: sampleGroup() })).toThrow(/carries a snapshot of "g1"/);
  });
});
