import { javaStringHashCode, partitionForGroup } from '../../../broker/group/placement';

/**
 * Independent reference: the definition s[0]*31^(n-1) + ... + s[n-1] computed exactly with BigInt,
 * then reduced to a signed 32-bit int (what Java's int overflow does).
 */
function referenceHash(s: string): number {
  let exact = 0n;
  for (let i = 0; i < s.length; i++) exact = exact * 31n + BigInt(s.charCodeAt(i));
  return Number(BigInt.asIntN(32, exact));
}

// Values printed by `String.hashCode()` and `(h & 0x7fffffff) % 50` on OpenJDK (javac H.java && java H).
const JAVA: Array<[string, number, number]> = [
  ['', 0, 0],
  ['a', 97, 47],
  ['Aa', 2112, 12],
  ['BB', 2112, 12],
  ['hello', 99162322, 22],
  ['polygenelubricants', -2147483648, 0],
  ['ünïcødé', -609219977, 21],
  ['😀', 1772899, 49],
  ['group-🚀-1', -1358329515, 33],
  ['console-consumer-12345', 158455506, 6],
  ['my-group', -1906497762, 36],
];

describe('javaStringHashCode', () => {
  test.each(JAVA)('%j hashes as Java does', (s, hash) => {
    expect(javaStringHashCode(s)).toBe(hash);
    expect(referenceHash(s)).toBe(hash);
  });

  test('a surrogate pair counts as two UTF-16 code units', () => {
    expect('😀'.length).toBe(2);
    expect(javaStringHashCode('😀')).toBe(0xd83d * 31 + 0xde00);
  });

  test('agrees with the exact BigInt reference on long and mixed strings', () => {
    const samples = ['x'.repeat(1000), 'groupe-été-ß-中文-😀😀', 'a\u0000b', '\uffff'.repeat(40)];
    for (let i = 0; i < 200; i++) samples.push(`consumer-group-${i}-${String.fromCharCode(0x20 + ((i * 7919) % 0xd700))}`);
    for (const s of samples) expect(javaStringHashCode(s)).toBe(referenceHash(s));
  });
});

describe('partitionForGroup', () => {
  test.each(JAVA)('%j lands on Kafka\'s partition of 50', (s, _hash, partition) => {
    expect(partitionForGroup(s, 50)).toBe(partition);
  });

  test('Integer.MIN_VALUE masks to 0, not to a negative partition', () => {
    expect(partitionForGroup('polygenelubricants', 7)).toBe(0);
  });

  test('always in [0, partitions)', () => {
    for (let i = 0; i < 500; i++) {
      const p = partitionForGroup(`g${i}-${'z'.repeat(i % 13)}`, 3);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(3);
    }
  });

  test('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionForGroup('g', 0)).toThrow(/positive integer/);
    expect(() => partitionForGroup('g', -1)).toThrow(/positive integer/);
    expect(() => partitionForGroup('g', 1.5)).toThrow(/positive integer/);
  });
});
