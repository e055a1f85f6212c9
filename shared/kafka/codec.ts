/**
 * The Kafka wire codec, both directions, driven by Apache Kafka's JSON schemas (schema.ts).
 * For each (message, version) the schema is compiled once into encoder and decoder closures.
 *
 * Bodies are plain objects keyed by the schema's field names in lowerCamelCase
 * (`TopicName` → `topicName`); int64 is bigint, bytes/records are Buffer | null (decoded as
 * zero-copy slices of the frame), uuid is a 16-byte Buffer. Fields a version does not carry
 * decode to their schema default; missing fields encode as their default.
 *
 * Decoding is safe on hostile input: every length is checked against the bytes left before
 * anything is sliced or allocated, array counts are bounded by the bytes left, and every
 * failure is a KafkaCodecError.
 */
import { readInt64, writeInt64, writeInt64Number } from './int64';
import { API_NAMES } from './messages';
import { inRange, loadSchema, MessageSchema, SchemaField } from './schema';

export class KafkaCodecError extends Error {
  override readonly name = 'KafkaCodecError';
}

// ---------------------------------------------------------------------------
// Byte reader / writer

export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end = buf.length,
  ) {}

  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new KafkaCodecError(`need ${n} bytes at ${this.pos}, frame ends at ${this.end}`);
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = readInt64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }
  float64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
    throw new KafkaCodecError('unsigned varint longer than 5 bytes');
  }
  slice(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
}

/** Record sets at least this large are referenced by an encoded frame rather than copied into it. */
export const GATHER_BYTES_MIN = 16 * 1024;

export class Writer {
  buf: Buffer;
  pos = 0;
  /** Finished pieces of the output before `buf`: copied segments and referenced record sets. */
  private readonly chunks: Buffer[] = [];
  private chunkBytes = 0;
  constructor(initial = 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
  }
  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }
  uint16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }
  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }
  int64(v: bigint): void {
    this.ensure(8);
    writeInt64(this.buf, v, this.pos);
    this.pos += 8;
  }
  /** An int64 given as a safe integer (no BigInt made). */
  int64Number(v: number): void {
    this.ensure(8);
    writeInt64Number(this.buf, v, this.pos);
    this.pos += 8;
  }
  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }
  uvarint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }
  /**
   * Bytes the output refers to instead of copying (a Fetch response's record sets, megabytes
   * each); they must not change until the output is written. Small ones are copied.
   */
  attach(data: Buffer): void {
    if (data.length < GATHER_BYTES_MIN) return this.raw(data);
    if (this.pos > 0) this.pushChunk(this.buf.subarray(0, this.pos));
    this.pushChunk(data);
    // Later bytes go to a fresh buffer: the one just cut off belongs to the chunk list now.
    this.buf = Buffer.allocUnsafe(1024);
    this.pos = 0;
  }
  private pushChunk(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
  }
  /** Overwrites 4 bytes at `position` of the first piece (a frame's size prefix, written first). */
  patchInt32(position: number, v: number): void {
    (this.chunks.length > 0 ? this.chunks[0]! : this.buf).writeInt32BE(v, position);
  }
  /** Bytes written so far, referenced pieces included. */
  get length(): number {
    return this.chunkBytes + this.pos;
  }
  /** One buffer (a copy when pieces were referenced). */
  result(): Buffer {
    if (this.chunks.length === 0) return this.buf.subarray(0, this.pos);
    return Buffer.concat(this.resultChunks(), this.length);
  }
  /** The output as pieces to write one after the other, referenced bytes not copied. */
  resultChunks(): Buffer[] {
    const tail = this.buf.subarray(0, this.pos);
    if (this.chunks.length === 0) return [tail];
    return tail.length > 0 ? [...this.chunks, tail] : [...this.chunks];
  }
}

// ---------------------------------------------------------------------------
// Compilation

type Encode = (w: Writer, value: unknown) => void;
type Decode = (r: Reader) => unknown;

interface Compiled {
  encode: Encode;
  decode: Decode;
}

const PRIMITIVES = new Set(['int8', 'int16', 'uint16', 'int32', 'int64', 'float64', 'bool', 'string', 'bytes', 'records', 'uuid']);
const EMPTY_UUID = Buffer.alloc(16);

function defaultValue(field: SchemaField, version: number): unknown {
  const text = field.default;
  if (field.type.startsWith('[]')) return text === 'null' ? null : [];
  if (text === 'null') return null;
  switch (field.type) {
    case 'bool':
      return text === 'true';
    case 'int64':
      return text === null ? 0n : BigInt(text);
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'float64':
      return text === null ? 0 : Number(text);
    case 'string':
      return text ?? (inRange(field.nullableVersions, version) ? null : '');
    case 'bytes':
    case 'records':
      return inRange(field.nullableVersions, version) ? null : Buffer.alloc(0);
    case 'uuid':
      return EMPTY_UUID;
    default:
      return inRange(field.nullableVersions, version) ? null : {};
  }
}

/**
 * What fills in a field a version lacks, for every decoded struct: the default itself when it
 * cannot be changed (numbers, strings, null, bigints, shared empty buffers), a fresh array or
 * object otherwise (a caller may modify what it decoded).
 */
function defaultMaker(field: SchemaField, version: number): () => unknown {
  const value = defaultValue(field, version);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) return () => defaultValue(field, version);
  return () => value;
}

function compilePrimitive(type: string, flexible: boolean, nullable: boolean, where: string): Compiled {
  switch (type) {
    case 'int8':
      return { encode: (w, v) => w.int8(Number(v ?? 0)), decode: (r) => r.int8() };
    case 'int16':
      return { encode: (w, v) => w.int16(Number(v ?? 0)), decode: (r) => r.int16() };
    case 'uint16':
      return { encode: (w, v) => w.uint16(Number(v ?? 0)), decode: (r) => r.uint16() };
    case 'int32':
      return { encode: (w, v) => w.int32(Number(v ?? 0)), decode: (r) => r.int32() };
    case 'int64':
      return {
        encode: (w, v) => (typeof v === 'number' && Number.isSafeInteger(v) ? w.int64Number(v) : w.int64(typeof v === 'bigint' ? v : BigInt(v === undefined || v === null ? 0 : (v as number)))),
        decode: (r) => r.int64(),
      };
    case 'float64':
      return { encode: (w, v) => w.float64(Number(v ?? 0)), decode: (r) => r.float64() };
    case 'bool':
      return { encode: (w, v) => w.int8(v === true ? 1 : 0), decode: (r) => r.int8() !== 0 };
    case 'uuid':
      return { encode: (w, v) => w.raw(Buffer.isBuffer(v) && v.length === 16 ? v : EMPTY_UUID), decode: (r) => Buffer.from(r.slice(16)) };
    case 'string':
      return {
        encode: (w, v) => {
          if (v === null || v === undefined) {
            if (!nullable && v === null) throw new KafkaCodecError(`${where}: null for a non-nullable string`);
            if (v === null) return flexible ? w.uvarint(0) : w.int16(-1);
            v = '';
          }
          const bytes = Buffer.from(String(v), 'utf8');
          if (flexible) w.uvarint(bytes.length + 1);
          else w.int16(bytes.length);
          w.raw(bytes);
        },
        decode: (r) => {
          const length = flexible ? r.uvarint() - 1 : r.int16();
          if (length < 0) {
            if (!nullable) throw new KafkaCodecError(`${where}: null for a non-nullable string`);
            return null;
          }
          return r.slice(length).toString('utf8');
        },
      };
    case 'bytes':
    case 'records':
      return {
        encode: (w, v) => {
          if (v === null || v === undefined) {
            if (v === null && nullable) return flexible ? w.uvarint(0) : w.int32(-1);
            v = Buffer.alloc(0);
          }
          const bytes = v as Buffer;
          if (flexible) w.uvarint(bytes.length + 1);
          else w.int32(bytes.length);
          w.attach(bytes);
        },
        decode: (r) => {
          const length = flexible ? r.uvarint() - 1 : r.int32();
          if (length < 0) {
            if (!nullable) throw new KafkaCodecError(`${where}: null for non-nullable bytes`);
            return null;
          }
          return r.slice(length);
        },
      };
    default:
      throw new Error(`unknown primitive ${type}`);
  }
}

function compileType(field: SchemaField, schema: MessageSchema, version: number, flexible: boolean): Compiled {
  const nullable = inRange(field.nullableVersions, version);
  const where = `${schema.name} v${version} ${field.name}`;
  if (field.type.startsWith('[]')) {
    const elementType = field.type.slice(2);
    const element = PRIMITIVES.has(elementType)
      ? compilePrimitive(elementType, flexible, false, where)
      : compileStruct(field.fields ?? schema.commonStructs.get(elementType) ?? [], schema, version, flexible);
    return {
      encode: (w, v) => {
        if (v === null || v === undefined) {
          if (v === null && nullable) return flexible ? w.uvarint(0) : w.int32(-1);
          v = [];
        }
        const items = v as unknown[];
        if (flexible) w.uvarint(items.length + 1);
        else w.int32(items.length);
        // Indexed loops here and below: these closures are called for every field of every
        // message (megamorphic), where for-of allocated an array iterator per loop.
        for (let i = 0; i < items.length; i++) element.encode(w, items[i]);
      },
      decode: (r) => {
        const count = flexible ? r.uvarint() - 1 : r.int32();
        if (count < 0) {
          if (!nullable) throw new KafkaCodecError(`${where}: null for a non-nullable array`);
          return null;
        }
        // Every element takes at least one byte: a larger count is a lie, refuse before looping.
        if (count > r.remaining) throw new KafkaCodecError(`${where}: ${count} elements claimed, ${r.remaining} bytes left`);
        const out = new Array<unknown>(count);
        for (let i = 0; i < count; i++) out[i] = element.decode(r);
        return out;
      },
    };
  }
  if (PRIMITIVES.has(field.type)) return compilePrimitive(field.type, flexible, nullable, where);
  const struct = compileStruct(field.fields ?? schema.commonStructs.get(field.type) ?? [], schema, version, flexible);
  if (!nullable) return struct;
  // Nullable structs: an int8 marker, -1 for null (Kafka's generated code does the same).
  return {
    encode: (w, v) => {
      if (v === null || v === undefined) return w.int8(-1);
      w.int8(1);
      struct.encode(w, v);
    },
    decode: (r) => (r.int8() < 0 ? null : struct.decode(r)),
  };
}

function compileStruct(fields: SchemaField[], schema: MessageSchema, version: number, flexible: boolean): Compiled {
  const regular: Array<{ key: string; codec: Compiled }> = [];
  const tagged: Array<{ key: string; tag: number; codec: Compiled; field: SchemaField }> = [];
  const absent: Array<{ key: string; value: () => unknown }> = [];
  for (const field of fields) {
    const isTagged = flexible && inRange(field.taggedVersions, version);
    if (isTagged) {
      tagged.push({ key: field.key, tag: field.tag!, codec: compileType(field, schema, version, true), field });
      absent.push({ key: field.key, value: defaultMaker(field, version) });
    } else if (inRange(field.versions, version)) {
      regular.push({ key: field.key, codec: compileType(field, schema, version, flexible) });
    } else {
      absent.push({ key: field.key, value: defaultMaker(field, version) });
    }
  }
  tagged.sort((a, b) => a.tag - b.tag); // tagged fields go on the wire in ascending tag order
  const byTag = new Map(tagged.map((entry) => [entry.tag, entry]));
  return {
    encode: (w, value) => {
      const object = (value ?? {}) as Record<string, unknown>;
      for (let i = 0; i < regular.length; i++) regular[i]!.codec.encode(w, object[regular[i]!.key]);
      if (!flexible) return;
      let present = 0;
      for (let i = 0; i < tagged.length; i++) if (object[tagged[i]!.key] !== undefined && object[tagged[i]!.key] !== null) present++;
      w.uvarint(present);
      if (present === 0) return;
      for (const { key, tag, codec } of tagged) {
        if (object[key] === undefined || object[key] === null) continue;
        const inner = new Writer(64);
        codec.encode(inner, object[key]);
        w.uvarint(tag);
        w.uvarint(inner.length);
        w.raw(inner.result());
      }
    },
    decode: (r) => {
      const object: Record<string, unknown> = {};
      for (let i = 0; i < absent.length; i++) object[absent[i]!.key] = absent[i]!.value();
      for (let i = 0; i < regular.length; i++) object[regular[i]!.key] = regular[i]!.codec.decode(r);
      if (flexible) {
        const count = r.uvarint();
        if (count > r.remaining) throw new KafkaCodecError(`${count} tagged fields claimed, ${r.remaining} bytes left`);
        for (let i = 0; i < count; i++) {
          const tag = r.uvarint();
          const size = r.uvarint();
          r.need(size);
          const entry = byTag.get(tag);
          if (entry === undefined) {
            r.pos += size; // unknown tag: skip
            continue;
          }
          const inner = new Reader(r.buf, r.pos, r.pos + size);
          object[entry.key] = entry.codec.decode(inner);
          r.pos += size;
        }
      }
      return object;
    },
  };
}

/**
 * Compiled codecs by API key, then version, per direction. Looked up for every frame: by
 * index rather than by a "name:version" string, which was garbage on every request.
 */
const compiledRequests: Array<Array<Compiled | undefined> | undefined> = [];
const compiledResponses: Array<Array<Compiled | undefined> | undefined> = [];
const requestSchemas: Array<MessageSchema | undefined> = [];

function messageCodec(apiKey: number, direction: 'Request' | 'Response', version: number): Compiled {
  const byKey = direction === 'Request' ? compiledRequests : compiledResponses;
  const known = byKey[apiKey]?.[version];
  if (known !== undefined) return known;
  const name = API_NAMES[apiKey];
  if (name === undefined) throw new KafkaCodecError(`unknown api key ${apiKey}`);
  const schema = loadSchema(`${name}${direction}`);
  if (!inRange(schema.validVersions, version)) throw new KafkaCodecError(`${name}${direction} has no version ${version}`);
  const codec = compileStruct(schema.fields, schema, version, inRange(schema.flexibleVersions, version));
  (byKey[apiKey] ??= [])[version] = codec;
  return codec;
}

/** The request schema of a known API key (cached by key: the header decoder asks for every frame). */
function requestSchema(apiKey: number): MessageSchema | undefined {
  const known = requestSchemas[apiKey];
  if (known !== undefined) return known;
  const name = API_NAMES[apiKey];
  if (name === undefined) return undefined;
  const schema = loadSchema(`${name}Request`);
  requestSchemas[apiKey] = schema;
  return schema;
}

// ---------------------------------------------------------------------------
// API names and headers

export function apiName(apiKey: number): string | undefined {
  return API_NAMES[apiKey];
}

/** True when the schema files know this API at this version. */
export function isVersionSupportedBySchema(apiKey: number, version: number): boolean {
  const schema = requestSchema(apiKey);
  return schema !== undefined && inRange(schema.validVersions, version);
}

function isFlexible(apiKey: number, version: number): boolean {
  const schema = requestSchema(apiKey);
  return schema !== undefined && inRange(schema.flexibleVersions, version);
}

/** Header tagged fields: none are defined that Samsa uses, so all are skipped. */
function skipTaggedFields(r: Reader): void {
  const count = r.uvarint();
  // Each tagged field takes at least two bytes (tag and size): refuse a larger count up front.
  if (count * 2 > r.remaining) throw new KafkaCodecError(`${count} header tagged fields claimed, ${r.remaining} bytes left`);
  for (let i = 0; i < count; i++) {
    r.uvarint();
    const size = r.uvarint();
    r.need(size);
    r.pos += size;
  }
}

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** Where the body starts in the frame. */
  bodyOffset: number;
}

/** Decodes a request header (frame without its size prefix). */
export function decodeRequestHeader(frame: Buffer): RequestHeader {
  const r = new Reader(frame, 0);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const name = API_NAMES[apiKey];
  if (name === undefined) throw new KafkaCodecError(`unknown api key ${apiKey}`);
  // The header version depends on the API version; an unknown version leaves it unknowable.
  // (Callers that must answer it anyway, like ApiVersions, use peekRequestHeader.)
  if (!isVersionSupportedBySchema(apiKey, apiVersion)) throw new KafkaCodecError(`${name} has no version ${apiVersion}`);
  // client_id keeps its int16 length even in header v2.
  const length = r.int16();
  const clientId = length < 0 ? null : r.slice(length).toString('utf8');
  if (isFlexible(apiKey, apiVersion)) {
    skipTaggedFields(r);
  }
  return { apiKey, apiVersion, correlationId, clientId, bodyOffset: r.pos };
}

/** The first 8 bytes of any request header, readable whatever the version. */
export function peekRequestHeader(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number } | null {
  if (frame.length < 8) return null;
  return { apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2), correlationId: frame.readInt32BE(4) };
}

export function decodeRequest<T = any>(apiKey: number, apiVersion: number, frame: Buffer, offset: number): T { // eslint-disable-line @typescript-eslint/no-explicit-any
  const name = API_NAMES[apiKey];
  if (name === undefined) throw new KafkaCodecError(`unknown api key ${apiKey}`);
  const r = new Reader(frame, offset);
  const body = messageCodec(apiKey, 'Request', apiVersion).decode(r) as T;
  return body;
}

/** A writer for one frame: its int32 size prefix comes first, filled in by finishFrame. */
function frameStart(sizeHint: number): Writer {
  const w = new Writer(sizeHint);
  w.int32(0);
  return w;
}

function finishFrame(w: Writer): Writer {
  w.patchInt32(0, w.length - 4);
  return w;
}

function responseWriter(apiKey: number, apiVersion: number, correlationId: number, body: object, sizeHint: number): Writer {
  const codec = messageCodec(apiKey, 'Response', apiVersion);
  const flexibleHeader = apiKey !== 18 && isFlexible(apiKey, apiVersion);
  const w = frameStart(sizeHint);
  w.int32(correlationId);
  if (flexibleHeader) w.uvarint(0);
  codec.encode(w, body);
  return finishFrame(w);
}

/** A whole response frame, size prefix included. ApiVersions always uses response header v0. */
export function encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: object, sizeHint = 1024): Buffer {
  return responseWriter(apiKey, apiVersion, correlationId, body, sizeHint).result();
}

/**
 * The same frame as pieces to write in order: record sets of GATHER_BYTES_MIN or more are
 * referenced, not copied (a Fetch response is mostly record sets just read from the log, and
 * copying them into one buffer cost as much as reading them). Same bytes on the wire.
 */
export function encodeResponseChunks(apiKey: number, apiVersion: number, correlationId: number, body: object, sizeHint = 1024): Buffer[] {
  return responseWriter(apiKey, apiVersion, correlationId, body, sizeHint).resultChunks();
}

/** A whole request frame, size prefix included. */
export function encodeRequest(apiKey: number, apiVersion: number, correlationId: number, clientId: string | null, body: object, sizeHint = 1024): Buffer {
  const name = API_NAMES[apiKey];
  if (name === undefined) throw new KafkaCodecError(`unknown api key ${apiKey}`);
  const codec = messageCodec(apiKey, 'Request', apiVersion);
  const flexible = isFlexible(apiKey, apiVersion);
  const w = frameStart(sizeHint);
  w.int16(apiKey);
  w.int16(apiVersion);
  w.int32(correlationId);
  if (clientId === null) w.int16(-1);
  else {
    const bytes = Buffer.from(clientId, 'utf8');
    w.int16(bytes.length);
    w.raw(bytes);
  }
  if (flexible) w.uvarint(0);
  codec.encode(w, body);
  return finishFrame(w).result();
}

/** Decodes a response frame (without its size prefix). */
export function decodeResponse<T = any>(apiKey: number, apiVersion: number, frame: Buffer): { correlationId: number; body: T } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const name = API_NAMES[apiKey];
  if (name === undefined) throw new KafkaCodecError(`unknown api key ${apiKey}`);
  const r = new Reader(frame, 0);
  const correlationId = r.int32();
  if (apiKey !== 18 && isFlexible(apiKey, apiVersion)) {
    skipTaggedFields(r);
  }
  return { correlationId, body: messageCodec(apiKey, 'Response', apiVersion).decode(r) as T };
}
