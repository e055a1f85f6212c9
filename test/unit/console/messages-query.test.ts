/**
 * The message browser's pure server parts: reading the query (clear 400s for bad input) and
 * rendering bytes as base64, text (UTF-8 only) and pretty JSON.
 */
import { DEFAULT_LIMIT, MAX_LIMIT, parseMessageQuery, recordBytes, recordView, renderBytes } from '../../../console/server/record-view';
import { ApiError } from '../../../console/server/types';

const q = (text: string) => parseMessageQuery(new URLSearchParams(text));

function rejects(text: string, pattern: RegExp): void {
  let caught: unknown;
  try {
    q(text);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ApiError);
  expect((caught as ApiError).status).toBe(400);
  expect((caught as ApiError).message).toMatch(pattern);
}

describe('parseMessageQuery', () => {
  test('offset, timestamp, from and the default start (earliest)', () => {
    expect(q('topic=t&partition=2&offset=17')).toEqual({ topic: 't', partition: 2, start: { kind: 'offset', offset: 17 }, limit: DEFAULT_LIMIT });
    expect(q('topic=t&partition=0&timestamp=1700000000000&limit=5')).toEqual({ topic: 't', partition: 0, start: { kind: 'timestamp', timestamp: 1700000000000 }, limit: 5 });
    expect(q('topic=t&from=latest').start).toEqual({ kind: 'latest' });
    expect(q('topic=t&from=earliest').start).toEqual({ kind: 'earliest' });
    expect(q('topic=t')).toEqual({ topic: 't', partition: 0, start: { kind: 'earliest' }, limit: DEFAULT_LIMIT });
    expect(q(`topic=t&limit=${MAX_LIMIT}`).limit).toBe(MAX_LIMIT);
  });

  test('bad input is refused with what is wrong', () => {
    rejects('partition=0', /topic is required/);
    rejects('topic=t&offset=abc', /offset 'abc' is not a whole number/);
    rejects('topic=t&offset=-1', /offset '-1'/);
    rejects('topic=t&offset=1.5', /offset '1.5'/);
    rejects('topic=t&partition=x', /partition 'x'/);
    rejects('topic=t&timestamp=yesterday', /timestamp 'yesterday'/);
    rejects('topic=t&from=middle', /from 'middle' must be earliest or latest/);
    rejects('topic=t&offset=1&timestamp=2', /one of offset, timestamp or from, not offset and timestamp/);
    rejects(`topic=t&limit=${MAX_LIMIT + 1}`, new RegExp(`between 1 and ${MAX_LIMIT}`));
    rejects('topic=t&limit=0', /between 1/);
    rejects('topic=t&offset=99999999999999999999', /not a whole number/);
  });
});

describe('renderBytes', () => {
  test('null stays null', () => {
    expect(renderBytes(null)).toBeNull();
  });

  test('UTF-8 text that is not JSON', () => {
    expect(renderBytes(Buffer.from('héllo wörld'))).toEqual({ base64: Buffer.from('héllo wörld').toString('base64'), text: 'héllo wörld', json: null });
  });

  test('JSON is re-indented; scalars count as JSON too', () => {
    expect(renderBytes(Buffer.from('{"a":1,"b":[true,null]}'))!.json).toBe('{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}');
    expect(renderBytes(Buffer.from('42'))!.json).toBe('42');
    expect(renderBytes(Buffer.from('null'))!.json).toBe('null');
  });

  test('bytes that are not UTF-8 have no text and no JSON, only base64', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    expect(renderBytes(bytes)).toEqual({ base64: '//4AgA==', text: null, json: null });
  });

  test('empty bytes are empty text, not JSON', () => {
    expect(renderBytes(Buffer.alloc(0))).toEqual({ base64: '', text: '', json: null });
  });
});

test('recordView carries offset, time, codec, key, value and headers; recordBytes counts them', () => {
  const record = { offset: 7, timestamp: 1000, key: Buffer.from('k'), value: null, headers: [{ key: 'h', value: Buffer.from('v') }, { key: 'n', value: null }] };
  expect(recordView(record, 'zstd')).toEqual({
    offset: 7,
    timestamp: 1000,
    codec: 'zstd',
    key: { base64: 'aw==', text: 'k', json: null },
    value: null,
    headers: [{ key: 'h', value: { base64: 'dg==', text: 'v', json: null } }, { key: 'n', value: null }],
  });
  expect(recordBytes(record)).toBe(1 + 0 + 2 + 1);
});
