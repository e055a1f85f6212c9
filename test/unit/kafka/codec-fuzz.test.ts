/**
 * Hostile input: random bytes, truncations, bit flips and lying lengths in otherwise valid
 * request and response frames either decode or throw KafkaCodecError — never another error
 * type, never a hang (every loop in the decoder is bounded by the bytes left).
 * Seeded PRNG, bounded iteration counts.
 */
import { ApiKey, PROTOCOL_VERSIONS, SASL_VERSIONS } from '../../../shared/kafka/api-keys';
import { apiName, decodeRequest, decodeRequestHeader, decodeResponse, encodeRequest, encodeResponse, KafkaCodecError } from '../../../shared/kafka/codec';
import { inRange, loadSchema, MessageSchema, SchemaField } from '../../../shared/kafka/schema';

/** mulberry32: small, seedable, good enough to pick bytes and positions. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function body(fields: SchemaField[], schema: MessageSchema, version: number, depth = 0): Record<string, unknown> {
  const flexible = inRange(schema.flexibleVersions, version);
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (!inRange(field.versions, version) && !(flexible && inRange(field.taggedVersions, version))) continue;
    out[field.key] = sample(field, field.type, schema, version, depth);
  }
  return out;
}

function sample(field: SchemaField, type: string, schema: MessageSchema, version: number, depth: number): unknown {
  if (type.startsWith('[]')) return [sample(field, type.slice(2), schema, version, depth + 1), sample(field, type.slice(2), schema, version, depth + 1)];
  switch (type) {
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
      return 7;
    case 'int64':
      return 1234567890123n;
    case 'float64':
      return 0.5;
    case 'bool':
      return true;
    case 'string':
      return 'topic-name';
    case 'bytes':
    case 'records':
      return Buffer.from('0123456789abcdef');
    case 'uuid':
      return Buffer.alloc(16, 3);
    default:
      return body(field.fields ?? schema.commonStructs.get(type) ?? [], schema, version, depth);
  }
}

interface Sample {
  name: string;
  apiKey: number;
  version: number;
  request: Buffer; // without size prefix
  response: Buffer; // without size prefix
}

const versions = [
  ...[...PROTOCOL_VERSIONS, ...SASL_VERSIONS].flatMap(({ apiKey, minVersion, maxVersion }) => Array.from({ length: maxVersion - minVersion + 1 }, (_, i) => ({ apiKey, version: minVersion + i }))),
  { apiKey: ApiKey.ApiVersions, version: 3 },
  { apiKey: ApiKey.Metadata, version: 9 },
  { apiKey: ApiKey.CreateTopics, version: 5 },
  { apiKey: ApiKey.Fetch, version: 12 },
  { apiKey: ApiKey.SaslAuthenticate, version: 2 },
];

const samples: Sample[] = versions.map(({ apiKey, version }) => {
  const requestSchema = loadSchema(`${apiName(apiKey)}Request`);
  const responseSchema = loadSchema(`${apiName(apiKey)}Response`);
  return {
    name: `${apiName(apiKey)} v${version}`,
    apiKey,
    version,
    request: encodeRequest(apiKey, version, 42, 'fuzz', body(requestSchema.fields, requestSchema, version)).subarray(4),
    response: encodeResponse(apiKey, version, 42, body(responseSchema.fields, responseSchema, version)).subarray(4),
  };
});

type Outcome = 'decoded' | 'refused';

/** Decodes a request frame the way the broker does; anything but KafkaCodecError fails the test. */
function tryRequest(frame: Buffer): Outcome {
  try {
    const header = decodeRequestHeader(frame);
    decodeRequest(header.apiKey, header.apiVersion, frame, header.bodyOffset);
    return 'decoded';
  } catch (error) {
    if (error instanceof KafkaCodecError) return 'refused';
    throw error;
  }
}

function tryResponse(apiKey: number, version: number, frame: Buffer): Outcome {
  try {
    decodeResponse(apiKey, version, frame);
    return 'decoded';
  } catch (error) {
    if (error instanceof KafkaCodecError) return 'refused';
    throw error;
  }
}

function mutate(frame: Buffer, rand: () => number): Buffer {
  const out = Buffer.from(frame);
  const kind = Math.floor(rand() * 4);
  const at = Math.floor(rand() * out.length);
  if (kind === 0) {
    out[at] = Math.floor(rand() * 256); // one random byte
  } else if (kind === 1) {
    out[at] ^= 1 << Math.floor(rand() * 8); // one bit flip
  } else if (kind === 2 && at + 4 <= out.length) {
    out.writeUInt32BE([0x7fffffff, 0xffffffff, 0x80000000, 0xfffffffe][Math.floor(rand() * 4)]!, at); // a lying length or count
  } else {
    out.fill(0xff, at, Math.min(out.length, at + 5)); // an over-long varint
  }
  return out;
}

describe('codec under hostile input', () => {
  test('every valid sample decodes (the mutations start from real frames)', () => {
    for (const s of samples) {
      expect(tryRequest(s.request)).toBe('decoded');
      expect(tryResponse(s.apiKey, s.version, s.response)).toBe('decoded');
    }
  });

  test('every strict prefix of every valid request and response is refused with KafkaCodecError', () => {
    // The last field of every message takes at least one byte, so no prefix is a whole message.
    for (const s of samples) {
      for (let cut = 0; cut < s.request.length; cut++) expect(tryRequest(s.request.subarray(0, cut))).toBe('refused');
      for (let cut = 0; cut < s.response.length; cut++) expect(tryResponse(s.apiKey, s.version, s.response.subarray(0, cut))).toBe('refused');
    }
  });

  test('2000 mutated frames (seeded) decode or throw KafkaCodecError, nothing else', () => {
    const rand = prng(0x5a175a);
    const tally = { decoded: 0, refused: 0 };
    for (let i = 0; i < 2000; i++) {
      const s = samples[Math.floor(rand() * samples.length)]!;
      tally[tryRequest(mutate(s.request, rand))]++;
      tally[tryResponse(s.apiKey, s.version, mutate(s.response, rand))]++;
    }
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    expect(tally.decoded).toBeGreaterThan(100);
    expect(tally.refused).toBeGreaterThan(100);
  });

  test('2000 random byte strings (seeded) decode or throw KafkaCodecError', () => {
    const rand = prng(1234);
    const keys = Object.values(ApiKey) as number[];
    for (let i = 0; i < 2000; i++) {
      const length = Math.floor(rand() * 96);
      const frame = Buffer.alloc(length);
      for (let j = 0; j < length; j++) frame[j] = Math.floor(rand() * 256);
      // Half the time, a valid api key and version so the body decoder is reached.
      if (length >= 4 && rand() < 0.5) {
        const { apiKey, version } = versions[Math.floor(rand() * versions.length)]!;
        frame.writeInt16BE(apiKey, 0);
        frame.writeInt16BE(version, 2);
      }
      tryRequest(frame);
      const apiKey = keys[Math.floor(rand() * keys.length)]!;
      const { validVersions } = loadSchema(`${apiName(apiKey)}Response`);
      tryResponse(apiKey, validVersions.min, frame);
    }
  });

  test.each([
    ['unknown api key', [0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff]],
    ['unknown version of a known api', [0, 3, 0x7f, 0, 0, 0, 0, 1, 0xff, 0xff]],
    ['header cut inside the correlation id', [0, 18, 0, 3, 0, 0]],
    ['client id longer than the frame', [0, 18, 0, 2, 0, 0, 0, 1, 0x7f, 0xff, 0x61]],
    ['header tagged fields: 5-byte varint count', [0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ['header tagged field larger than the frame', [0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 1, 0, 0x7f]],
    ['varint longer than 5 bytes', [0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
  ])('%s is refused', (_name, bytes) => {
    expect(tryRequest(Buffer.from(bytes))).toBe('refused');
  });

  test('a compact array claiming 2^32 elements is refused without allocating them', () => {
    // Metadata v9 (flexible) request: topics is a compact nullable array; claim 0xffffffff+1 - 1 elements.
    const valid = encodeRequest(ApiKey.Metadata, 9, 1, 'c', { topics: [] }).subarray(4);
    const header = decodeRequestHeader(valid);
    const lying = Buffer.concat([valid.subarray(0, header.bodyOffset), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), valid.subarray(header.bodyOffset + 1)]);
    expect(() => decodeRequest(ApiKey.Metadata, 9, lying, header.bodyOffset)).toThrow(KafkaCodecError);
  });
});
