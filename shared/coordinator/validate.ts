/**
 * Runtime validation of client frames at the coordinator's boundary.
 *
 * Hand-written rather than schema-driven: none of the chosen packages (ws, pino, yargs,
 * ioredis) is a schema library, the protocol is small and closed, and a hand-written
 * check builds a fresh object holding only the known fields in one pass (one
 * JSON.parse per frame, no second walk), which matters on the hot path.
 *
 * `fatal` tells the server whether it can keep the connection: malformed JSON or a
 * frame that is not an object is fatal; a well-formed frame with bad fields is not
 * (the server answers with the error and, when readable, the xid).
 */
import { bytesFromWire } from './data';
import {
  Acl,
  AddWatchMode,
  AuthInfo,
  CREATE_MODES,
  ConnectFrame,
  CreateMode,
  CreateOp,
  ErrorCode,
  MultiReadSubOp,
  MultiSubOp,
  Operation,
  PROTOCOL_VERSION,
  RequestFrame,
  WatcherType,
} from './protocol';

const ADD_WATCH_MODES_LIST: readonly AddWatchMode[] = ['persistent', 'persistentRecursive'];
const WATCHER_TYPES_LIST: readonly WatcherType[] = ['children', 'data', 'persistent', 'any'];
/** Credentials one connect frame may carry; a client with more is doing something else. */
const AUTH_ENTRIES_MAX = 64;

/** A validated client frame: a request's data is decoded to bytes. */
export type ValidFrame = ConnectFrame | RequestFrame<Operation<Buffer>>;

export type ParseResult =
  | { ok: true; frame: ValidFrame }
  | { ok: false; code: ErrorCode; message: string; xid?: number; fatal: boolean };

/** Thrown inside the validator only; turned into a ParseResult at the top. */
class FieldError {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
  ) {}
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(message: string): never {
  throw new FieldError('BadArguments', message);
}

function str(object: Json, field: string, where: string): string {
  const value = object[field];
  if (typeof value !== 'string') bad(`${where}.${field} must be a string`);
  return value;
}

function optionalStr(object: Json, field: string, where: string): string | undefined {
  return object[field] === undefined ? undefined : str(object, field, where);
}

function optionalBool(object: Json, field: string, where: string): boolean | undefined {
  const value = object[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') bad(`${where}.${field} must be a boolean`);
  return value;
}

function int(object: Json, field: string, where: string, min: number): number {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    bad(`${where}.${field} must be an integer >= ${min}`);
  }
  return value;
}

function oneOf<T extends string>(object: Json, field: string, where: string, allowed: readonly T[]): T {
  const value = object[field];
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    bad(`${where}.${field} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function path(object: Json, where: string): string {
  return str(object, 'path', where);
}

/**
 * The bytes of `data` in the connection's protocol version (base64 in 2, UTF-8 text in 1). The
 * size limit is the core's, on these decoded bytes (BadArguments with the path).
 */
function data(object: Json, where: string, protocolVersion: number): Buffer {
  const bytes = bytesFromWire(str(object, 'data', where), protocolVersion);
  if (bytes === null) bad(`${where}.data must be base64 (protocol ${protocolVersion})`);
  return bytes;
}

/**
 * Any integer: -1 means "any version", and every other value, -2 and below included, is compared
 * with the node's version (ZooKeeper answers BadVersion for them, not BadArguments).
 */
function version(object: Json, where: string): number {
  return int(object, 'version', where, Number.MIN_SAFE_INTEGER);
}

/**
 * An ACL's shape (an array of {perms, scheme, id}); whether its entries make sense (known scheme,
 * valid id, perms in range) is the core's check, answered InvalidACL as ZooKeeper does.
 */
function acl(object: Json, where: string): Acl[] {
  const value = object.acl;
  if (!Array.isArray(value)) bad(`${where}.acl must be an array`);
  return value.map((entry, index) => {
    const at = `${where}.acl[${index}]`;
    if (!isObject(entry)) bad(`${at} must be an object`);
    return { perms: int(entry, 'perms', at, Number.MIN_SAFE_INTEGER), scheme: str(entry, 'scheme', at), id: str(entry, 'id', at) };
  });
}

function createOp(value: Json, where: string, protocolVersion: number): CreateOp<Buffer> {
  const op: CreateOp<Buffer> = { op: 'create', path: path(value, where), data: data(value, where, protocolVersion), mode: oneOf<CreateMode>(value, 'mode', where, CREATE_MODES) };
  if (value.acl !== undefined) op.acl = acl(value, where);
  return op;
}

function authInfo(value: Json, where: string): AuthInfo {
  return { scheme: str(value, 'scheme', where), auth: str(value, 'auth', where) };
}

function subOp(value: unknown, index: number, protocolVersion: number): MultiSubOp<Buffer> {
  const where = `ops[${index}]`;
  if (!isObject(value)) bad(`${where} must be an object`);
  switch (value.op) {
    case 'create':
      return createOp(value, where, protocolVersion);
    case 'delete':
      return { op: 'delete', path: path(value, where), version: version(value, where) };
    case 'setData':
      return { op: 'setData', path: path(value, where), data: data(value, where, protocolVersion), version: version(value, where) };
    case 'check':
      return { op: 'check', path: path(value, where), version: version(value, where) };
    default:
      bad(`${where}.op must be one of create, delete, setData, check`);
  }
}

function readSubOp(value: unknown, index: number): MultiReadSubOp {
  const where = `ops[${index}]`;
  if (!isObject(value)) bad(`${where} must be an object`);
  switch (value.op) {
    case 'getData':
    case 'getChildren':
      return { op: value.op, path: path(value, where) };
    default:
      bad(`${where}.op must be getData or getChildren`);
  }
}

function operation(value: unknown, protocolVersion: number): Operation<Buffer> {
  const where = 'request';
  if (!isObject(value)) bad('request must be an object');
  const op = value.op;
  if (typeof op !== 'string') bad('request.op must be a string');
  switch (op) {
    case 'create': {
      const create = createOp(value, where, protocolVersion);
      const withStat = optionalBool(value, 'withStat', where); // a multi's creates always answer their Stat
      if (withStat !== undefined) create.withStat = withStat;
      return create;
    }
    case 'delete':
      return { op, path: path(value, where), version: version(value, where) };
    case 'setData':
      return { op, path: path(value, where), data: data(value, where, protocolVersion), version: version(value, where) };
    case 'exists':
    case 'getData': {
      const watch = optionalBool(value, 'watch', where);
      return watch === undefined ? { op, path: path(value, where) } : { op, path: path(value, where), watch };
    }
    case 'getChildren': {
      const result: Operation<Buffer> = { op, path: path(value, where) };
      const watch = optionalBool(value, 'watch', where);
      const withStat = optionalBool(value, 'withStat', where);
      if (watch !== undefined) result.watch = watch;
      if (withStat !== undefined) result.withStat = withStat;
      return result;
    }
    case 'multi': {
      const ops = value.ops;
      // No count limit: a multi holds as many operations as fit in one frame (the request size limit).
      if (!Array.isArray(ops)) bad('request.ops must be an array');
      return { op, ops: ops.map((sub, index) => subOp(sub, index, protocolVersion)) };
    }
    case 'multiRead': {
      const ops = value.ops;
      if (!Array.isArray(ops)) bad('request.ops must be an array');
      return { op, ops: ops.map(readSubOp) };
    }
    case 'getAllChildrenNumber':
    case 'getACL':
      return { op, path: path(value, where) };
    case 'setACL':
      return { op, path: path(value, where), acl: acl(value, where), version: version(value, where) };
    case 'addAuth':
      return { op, ...authInfo(value, where) };
    case 'sync':
      return { op, path: path(value, where) };
    case 'getEphemerals': {
      const prefix = optionalStr(value, 'prefix', where);
      return prefix === undefined ? { op } : { op, prefix };
    }
    case 'addWatch':
      return { op, path: path(value, where), mode: oneOf(value, 'mode', where, ADD_WATCH_MODES_LIST) };
    case 'removeWatches':
      return { op, path: path(value, where), watcherType: oneOf(value, 'watcherType', where, WATCHER_TYPES_LIST) };
    case 'ping':
    case 'close':
    case 'stats':
      return { op };
    default:
      throw new FieldError('Unimplemented', `unknown op ${JSON.stringify(op.slice(0, 64))}`);
  }
}

function connectFrame(object: Json): ConnectFrame {
  const where = 'connect';
  const frame: ConnectFrame = {
    type: 'connect',
    protocolVersion: int(object, 'protocolVersion', where, 0),
    timeoutMs: int(object, 'timeoutMs', where, 0),
    lastZxid: int(object, 'lastZxid', where, 0),
  };
  const sessionId = optionalStr(object, 'sessionId', where);
  const password = optionalStr(object, 'password', where);
  if ((sessionId === undefined) !== (password === undefined)) bad('connect.sessionId and connect.password go together');
  if (sessionId !== undefined && password !== undefined) {
    if (sessionId.length > 64 || password.length > 256) bad('connect.sessionId or connect.password is too long');
    frame.sessionId = sessionId;
    frame.password = password;
  }
  // Samsa's extension (docs/coordinator-protocol.md, "Disconnect grace"); the upper bound is the
  // negotiated timeout, which only the server knows, so it clamps rather than refuses.
  if (object.disconnectGraceMs !== undefined) frame.disconnectGraceMs = int(object, 'disconnectGraceMs', where, 1);
  if (object.auth !== undefined) {
    const auth = object.auth;
    if (!Array.isArray(auth) || auth.length > AUTH_ENTRIES_MAX) bad(`connect.auth must be an array of at most ${AUTH_ENTRIES_MAX} {scheme, auth}`);
    frame.auth = auth.map((entry, index) => {
      if (!isObject(entry)) bad(`connect.auth[${index}] must be an object`);
      return authInfo(entry, `connect.auth[${index}]`);
    });
  }
  return frame;
}

/**
 * Parses and validates one text frame from a client of `protocolVersion` (which decides how data
 * is carried; the connect frame, which names the version, has none). Never throws.
 */
export function parseClientFrame(text: string, protocolVersion: number = PROTOCOL_VERSION): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'MarshallingError', message: 'frame is not valid JSON', fatal: true };
  }
  if (!isObject(value)) return { ok: false, code: 'MarshallingError', message: 'frame must be a JSON object', fatal: true };
  const xidValue = value.xid;
  const xid = typeof xidValue === 'number' && Number.isSafeInteger(xidValue) && xidValue >= 0 ? xidValue : undefined;
  try {
    switch (value.type) {
      case 'connect':
        return { ok: true, frame: connectFrame(value) };
      case 'request': {
        if (xid === undefined) bad('xid must be a non-negative integer');
        const frame: RequestFrame<Operation<Buffer>> = { type: 'request', xid, request: operation(value.request, protocolVersion) };
        return { ok: true, frame };
      }
      default:
        return { ok: false, code: 'MarshallingError', message: 'frame.type must be "connect" or "request"', xid, fatal: false };
    }
  } catch (error) {
    if (error instanceof FieldError) {
      const result: ParseResult = { ok: false, code: error.code, message: error.message, fatal: false };
      if (xid !== undefined) result.xid = xid;
      return result;
    }
    throw error;
  }
}
