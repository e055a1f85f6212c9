/**
 * The browser pages' pure parts: a value shown as text, JSON or hex, the modes offered, the
 * create form's configs box and the partition state words.
 */
import { availableModes, base64ToBytes, defaultMode, hexDump, localTimeToMs, msToLocalTime, renderAs } from '../../../console/web/src/pages/message-format';
import { parseConfigLines, partitionState } from '../../../console/web/src/pages/topic-format';

const rendered = (bytes: Buffer, text: string | null, json: string | null) => ({ base64: bytes.toString('base64'), text, json });

test('hexDump prints offset, hex and printable ASCII, 16 bytes a line', () => {
  expect(hexDump(new Uint8Array(Buffer.from('hello, world! 0123456789')))).toBe(
    ['00000000  68 65 6c 6c 6f 2c 20 77 6f 72 6c 64 21 20 30 31  |hello, world! 01|', '00000010  32 33 34 35 36 37 38 39                          |23456789|'].join('\n'),
  );
  expect(hexDump(new Uint8Array([0, 0xff, 0x41]))).toBe('00000000  00 ff 41' + ' '.repeat(47 - 8) + '  |..A|');
  expect(hexDump(new Uint8Array(0))).toBe('');
});

test('hexDump stops at its limit and says how much is left', () => {
  const dump = hexDump(new Uint8Array(40), 16);
  expect(dump.split('\n')).toHaveLength(2);
  expect(dump).toMatch(/… 24 more bytes$/);
});

test('base64ToBytes round-trips', () => {
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  expect([...base64ToBytes(bytes.toString('base64'))]).toEqual([...bytes]);
});

test('modes: JSON first when it is JSON, hex always; a mode the bytes lack falls back to hex', () => {
  const json = rendered(Buffer.from('{"a":1}'), '{"a":1}', '{\n  "a": 1\n}');
  const text = rendered(Buffer.from('hi'), 'hi', null);
  const binary = rendered(Buffer.from([0xff]), null, null);
  expect(availableModes(json)).toEqual(['text', 'json', 'hex']);
  expect(availableModes(text)).toEqual(['text', 'hex']);
  expect(availableModes(binary)).toEqual(['hex']);
  expect(defaultMode(json)).toBe('json');
  expect(defaultMode(text)).toBe('text');
  expect(defaultMode(binary)).toBe('hex');
  expect(renderAs(json, 'json')).toBe('{\n  "a": 1\n}');
  expect(renderAs(json, 'text')).toBe('{"a":1}');
  expect(renderAs(text, 'hex')).toBe(hexDump(new Uint8Array(Buffer.from('hi'))));
  expect(renderAs(binary, 'text')).toBe('00000000  ff' + ' '.repeat(45) + '  |.|');
});

test('local times round-trip through datetime-local values; empty or bad ones are null', () => {
  const ms = new Date(2026, 0, 2, 3, 4, 5).getTime();
  expect(msToLocalTime(ms)).toBe('2026-01-02T03:04:05');
  expect(localTimeToMs('2026-01-02T03:04:05')).toBe(ms);
  expect(localTimeToMs('')).toBeNull();
  expect(localTimeToMs('not a time')).toBeNull();
});

test('parseConfigLines reads name=value lines and names the bad one', () => {
  expect(parseConfigLines('retention.ms = 1000\n\n# comment\ncleanup.policy=compact,delete\nx=')).toEqual({ 'retention.ms': '1000', 'cleanup.policy': 'compact,delete', x: '' });
  expect(() => parseConfigLines('a=1\nnonsense')).toThrow("configs line 2: 'nonsense' is not name=value");
  expect(() => parseConfigLines('a=1\na=2')).toThrow('a is given twice');
  expect(parseConfigLines('')).toEqual({});
});

test('partitionState words and tones', () => {
  expect(partitionState({ leader: 1, offline: false, underReplicated: false, replicas: [1, 2], isr: [1, 2] })).toEqual({ label: 'ok', tone: 'ok' });
  expect(partitionState({ leader: 1, offline: false, underReplicated: true, replicas: [1, 2, 3], isr: [1] })).toEqual({ label: 'under-replicated: 2,3 out of sync', tone: 'warn' });
  expect(partitionState({ leader: -1, offline: true, underReplicated: false, replicas: [3], isr: [3] })).toEqual({ label: 'offline: no leader', tone: 'bad' });
  expect(partitionState({ leader: 3, offline: true, underReplicated: false, replicas: [3], isr: [3] })).toEqual({ label: 'offline: leader 3 is down', tone: 'bad' });
});
