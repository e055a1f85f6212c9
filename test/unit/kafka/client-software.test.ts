import { ClientSoftwareTally, OTHER, validClientSoftware } from '../../../broker/kafka/client-software';

describe('client software (ApiVersions v3+)', () => {
  test("Kafka's character rule: letters, digits, '-' and '.', alphanumeric at both ends", () => {
    expect(validClientSoftware('platformatic-kafka', '1.35.0')).toBe(true);
    expect(validClientSoftware('librdkafka', '2.0.2')).toBe(true);
    expect(validClientSoftware('a', 'b')).toBe(true);
    expect(validClientSoftware('', '1.0')).toBe(false);
    expect(validClientSoftware('my client', '1.0')).toBe(false);
    expect(validClientSoftware('client-', '1.0')).toBe(false);
    expect(validClientSoftware('client', '1.0.')).toBe(false);
    expect(validClientSoftware('client', '1.0_rc')).toBe(false);
  });

  test('counts open and total connections per name and version', () => {
    const tally = new ClientSoftwareTally();
    const a = tally.record('platformatic-kafka', '1.35.0');
    tally.record('platformatic-kafka', '1.35.0');
    const c = tally.record('librdkafka', '2.0.2');
    tally.release(a);
    tally.release(c);
    tally.release(c); // a double release does not go below zero
    expect(tally.snapshot()).toEqual([
      { name: 'platformatic-kafka', version: '1.35.0', open: 1, total: 2 },
      { name: 'librdkafka', version: '2.0.2', open: 0, total: 1 },
    ]);
  });

  test('past the bound, new kinds are counted under other', () => {
    const tally = new ClientSoftwareTally(2);
    tally.record('a', '1');
    tally.record('b', '1');
    const key = tally.record('c', '1');
    tally.record('d', '1');
    tally.record('a', '1'); // known kinds still count as themselves
    expect(tally.snapshot()).toEqual([
      { name: 'a', version: '1', open: 2, total: 2 },
      { ...OTHER, open: 2, total: 2 },
      { name: 'b', version: '1', open: 1, total: 1 },
    ]);
    tally.release(key);
    expect(tally.snapshot().find((count) => count.name === OTHER.name)?.open).toBe(1);
  });
});
