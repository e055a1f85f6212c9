/**
 * The znode page's body for data that is not text (issue 10): bytes that are not UTF-8 come as hex
 * with `format: 'hex'`, never mangled into U+FFFD; UTF-8 bytes come as the text (JSON parsed) as before.
 */
import { znodeBody } from '../../../console/server/znode-view';

const stat = { czxid: 5, mzxid: 7, pzxid: 9, ctime: 1_700_000_000_000, mtime: 1_700_000_001_000, version: 2, cversion: 3, ephemeralOwner: '0', dataLength: 4, numChildren: 0, aversion: 0 };

describe('znodeBody with bytes', () => {
  test('bytes that are not UTF-8 are hex, flagged, with no JSON', () => {
    const body = znodeBody('/bin', Buffer.from([0x00, 0xff, 0x7b, 0x7d]), stat, ['b', 'a']);
    expect(body).toEqual({ path: '/bin', data: '00ff7b7d', format: 'hex', stat, ephemeral: false, children: ['a', 'b'] });
  });

  test('UTF-8 bytes are the text, JSON parsed, exactly as a string gives', () => {
    const text = '{"host":"ü"}';
    expect(znodeBody('/t', Buffer.from(text), stat, [])).toEqual(znodeBody('/t', text, stat, []));
    expect(znodeBody('/t', Buffer.from(text), stat, [])).toMatchObject({ data: text, json: { host: 'ü' } });
    expect(znodeBody('/t', Buffer.alloc(0), stat, [])).not.toHaveProperty('format');
  });
});
