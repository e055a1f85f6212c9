/**
 * The client's check of server frames: what it accepts, and hostile or broken input it turns
 * into null (the client then drops the connection) instead of throwing.
 */
import { parseServerFrame } from '../../../shared/coordinator/client';

const stat = { czxid: 1, mzxid: 1, pzxid: 1, ctime: 0, mtime: 0, version: 0, cversion: 0, ephemeralOwner: '0', dataLength: 0, numChildren: 0 };

describe('parseServerFrame', () => {
  test.each([
    ['connected', { type: 'connected', protocolVersion: 1, sessionId: 'ab', password: 'p', timeoutMs: 3000, zxid: 0, resumed: false }],
    ['ok response', { type: 'response', xid: 1, zxid: 5, ok: true, result: { stat } }],
    ['ok response with an empty result', { type: 'response', xid: 0, zxid: 0, ok: true, result: {} }],
    ['error response', { type: 'response', xid: 2, zxid: 5, ok: false, error: { code: 'NoNode', message: '', path: '/x' } }],
    ['watch', { type: 'watch', event: 'NodeCreated', path: '/a', zxid: 9 }],
    ['error', { type: 'error', code: 'SessionExpired', message: 'gone' }],
  ])('accepts %s', (_name, frame) => {
    expect(parseServerFrame(JSON.stringify(frame))).toEqual(frame);
  });

  test.each([
    ['not JSON', '{"type":'],
    ['empty', ''],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"connected"'],
    ['an array', '[{"type":"watch"}]'],
    ['no type', '{"xid":1}'],
    ['unknown type', '{"type":"hello"}'],
    ['connected without a session id', '{"type":"connected","password":"p","timeoutMs":3000,"zxid":0}'],
    ['connected with a zero timeout', '{"type":"connected","sessionId":"a","password":"p","timeoutMs":0,"zxid":0}'],
    ['response with a string xid', '{"type":"response","xid":"1","zxid":1,"ok":true,"result":{}}'],
    ['response with a negative zxid', '{"type":"response","xid":1,"zxid":-1,"ok":true,"result":{}}'],
    ['response with a fractional xid', '{"type":"response","xid":1.5,"zxid":1,"ok":true,"result":{}}'],
    ['ok response without a result', '{"type":"response","xid":1,"zxid":1,"ok":true}'],
    ['error response without an error', '{"type":"response","xid":1,"zxid":1,"ok":false}'],
    ['error response with a null error', '{"type":"response","xid":1,"zxid":1,"ok":false,"error":null}'],
    ['error response with a numeric code', '{"type":"response","xid":1,"zxid":1,"ok":false,"error":{"code":-101}}'],
    ['watch without a path', '{"type":"watch","event":"NodeCreated","zxid":1}'],
    ['watch with an unsafe zxid', '{"type":"watch","event":"NodeCreated","path":"/a","zxid":1e300}'],
    ['error without a code', '{"type":"error","message":"x"}'],
  ])('rejects %s', (_name, text) => {
    expect(parseServerFrame(text)).toBeNull();
  });
});
