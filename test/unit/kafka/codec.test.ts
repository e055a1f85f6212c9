/**
 * The schema-driven codec: round trips for every advertised API and version in both
 * directions (plus flexible versions), and compatibility with a real client: requests encoded
 * by kafkajs's own encoders decode to the right fields, and responses we encode decode with
 * kafkajs's own response decoders.
 */
import { ADVERTISED_VERSIONS, ApiKey, PROTOCOL_VERSIONS, SASL_VERSIONS } from '../../../shared/kafka/api-keys';
import { apiName, decodeRequest, decodeRequestHeader, decodeResponse, encodeRequest, encodeResponse, encodeResponseChunks, GATHER_BYTES_MIN, KafkaCodecError } from '../../../shared/kafka/codec';
import { inRange, loadSchema, MessageSchema, SchemaField } from '../../../shared/kafka/schema';
import { buildRecordBatch } from '../../../shared/kafka/record-batch';

/* eslint-disable @typescript-eslint/no-var-requires */
const kafkajsRequest = require('kafkajs/src/protocol/request');
const requests = (path: string) => require(`kafkajs/src/protocol/requests/${path}`);
/* eslint-enable @typescript-eslint/no-var-requires */

/** A deterministic value for every field the version carries. */
function generate(fields: SchemaField[], schema: MessageSchema, version: number, seed: { n: number }): Record<string, unknown> {
  const flexible = inRange(schema.flexibleVersions, version);
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const present = inRange(field.versions, version) || (flexible && inRange(field.taggedVersions, version));
    if (!present) continue;
    out[field.key] = value(field, field.type, schema, version, seed);
  }
  return out;
}

function value(field: SchemaField, type: string, schema: MessageSchema, version: number, seed: { n: number }): unknown {
  const n = ++seed.n;
  if (type.startsWith('[]')) {
    const element = type.slice(2);
    return [0, 1].map(() => value(field, element, schema, version, seed));
  }
  switch (type) {
    case 'int8':
      return n % 100;
    case 'int16':
      return n % 30000;
    case 'uint16':
      return n % 60000;
    case 'int32':
      return n * 1000;
    case 'int64':
      return BigInt(n) * 10_000_000_000n;
    case 'float64':
      return n / 4;
    case 'bool':
      return n % 2 === 0;
    case 'string':
      return `s${n}`;
    case 'bytes':
      return Buffer.from(`b${n}`);
    case 'records':
      return buildRecordBatch([{ key: Buffer.from('k'), value: Buffer.from(`v${n}`), timestamp: 1000 }]);
    case 'uuid':
      return Buffer.alloc(16, n);
    default:
      return generate(field.fields ?? schema.commonStructs.get(type) ?? [], schema, version, seed);
  }
}

const flexibleExtras = [
  { apiKey: ApiKey.ApiVersions, version: 3 },
  { apiKey: ApiKey.Metadata, version: 9 },
  { apiKey: ApiKey.CreateTopics, version: 5 },
  { apiKey: ApiKey.Fetch, version: 12 },
  { apiKey: ApiKey.SaslAuthenticate, version: 2 },
  { apiKey: ApiKey.JoinGroup, version: 7 },
  { apiKey: ApiKey.OffsetCommit, version: 8 },
  { apiKey: ApiKey.FindCoordinator, version: 4 },
];
const cases = [
  ...[...PROTOCOL_VERSIONS, ...SASL_VERSIONS].flatMap(({ apiKey, minVersion, maxVersion }) => Array.from({ length: maxVersion - minVersion + 1 }, (_, i) => ({ apiKey, version: minVersion + i }))),
  ...flexibleExtras,
].map(({ apiKey, version }) => ({ name: `${apiName(apiKey)} v${version}`, apiKey, version }));

describe('codec round trips', () => {
  test.each(cases)('$name request', ({ apiKey, version }) => {
    const schema = loadSchema(`${apiName(apiKey)}Request`);
    const body = generate(schema.fields, schema, version, { n: 0 });
    const frame = encodeRequest(apiKey, version, 77, 'client-x', body);
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    const header = decodeRequestHeader(frame.subarray(4));
    expect(header).toMatchObject({ apiKey, apiVersion: version, correlationId: 77, clientId: 'client-x' });
    const decoded = decodeRequest(apiKey, version, frame.subarray(4), header.bodyOffset);
    expect(decoded).toMatchObject(body);
    expect(encodeRequest(apiKey, version, 77, 'client-x', decoded).equals(frame)).toBe(true);
  });

  test.each(cases)('$name response', ({ apiKey, version }) => {
    const schema = loadSchema(`${apiName(apiKey)}Response`);
    const body = generate(schema.fields, schema, version, { n: 100 });
    const frame = encodeResponse(apiKey, version, 99, body);
    const { correlationId, body: decoded } = decodeResponse(apiKey, version, frame.subarray(4));
    expect(correlationId).toBe(99);
    expect(decoded).toMatchObject(body);
    expect(encodeResponse(apiKey, version, 99, decoded).equals(frame)).toBe(true);
  });

  test('the broker advertises a subset of the guide table, each range inside it', () => {
    for (const entry of ADVERTISED_VERSIONS) {
      const full = PROTOCOL_VERSIONS.find((p) => p.apiKey === entry.apiKey)!;
      expect(full).toBeDefined();
      expect(entry.minVersion).toBeGreaterThanOrEqual(full.minVersion);
      expect(entry.maxVersion).toBeLessThanOrEqual(full.maxVersion);
    }
  });

  test('an unknown version of a known api is refused by the header decoder', () => {
    const frame = encodeRequest(ApiKey.Metadata, 4, 1, 'c', {}).subarray(4);
    frame.writeInt16BE(99, 2);
    expect(() => decodeRequestHeader(frame)).toThrow(KafkaCodecError);
  });

  test('fields a version lacks decode to their schema defaults', () => {
    const frame = encodeRequest(ApiKey.Metadata, 1, 1, null, { topics: null });
    const decoded = decodeRequest(ApiKey.Metadata, 1, frame.subarray(4), decodeRequestHeader(frame.subarray(4)).bodyOffset);
    expect(decoded).toEqual({ topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  });

  test('hostile lengths are refused with KafkaCodecError before allocation', () => {
    const frame = encodeRequest(ApiKey.Metadata, 4, 1, 'c', { topics: [{ name: 'a' }] }).subarray(4);
    const offset = decodeRequestHeader(frame).bodyOffset;
    const lying = Buffer.from(frame);
    lying.writeInt32BE(0x7fffffff, offset); // topics count
    expect(() => decodeRequest(ApiKey.Metadata, 4, lying, offset)).toThrow(KafkaCodecError);
    expect(() => decodeRequest(ApiKey.Metadata, 4, frame.subarray(0, frame.length - 2), offset)).toThrow(KafkaCodecError);
    expect(() => decodeRequestHeader(Buffer.from([0, 99, 0, 0, 0, 0, 0, 1, 0, 0]))).toThrow(KafkaCodecError);
  });
});

async function kafkajsBytes(request: unknown, correlationId = 5): Promise<Buffer> {
  const encoder = await kafkajsRequest({ correlationId, clientId: 'kafkajs', request });
  return Buffer.from(encoder.buffer).subarray(4);
}

function decodeOurs<T>(frame: Buffer): { header: ReturnType<typeof decodeRequestHeader>; body: T } {
  const header = decodeRequestHeader(frame);
  return { header, body: decodeRequest<T>(header.apiKey, header.apiVersion, frame, header.bodyOffset) };
}

describe('compatibility with kafkajs 2.2.4', () => {
  test('ApiVersions v2 and Metadata v4 requests', async () => {
    const versions = decodeOurs(await kafkajsBytes(requests('apiVersions/v2/request')()));
    expect(versions.header).toMatchObject({ apiKey: 18, apiVersion: 2, correlationId: 5, clientId: 'kafkajs' });
    const metadata = decodeOurs<{ topics: Array<{ name: string }>; allowAutoTopicCreation: boolean }>(await kafkajsBytes(requests('metadata/v4/request')({ topics: ['a', 'b'], allowAutoTopicCreation: false })));
    expect(metadata.body.topics.map((t) => t.name)).toEqual(['a', 'b']);
    expect(metadata.body.allowAutoTopicCreation).toBe(false);
  });

  test('Produce v7 with a kafkajs-built record batch', async () => {
    const request = requests('produce/v7/request')({
      acks: 1,
      timeout: 3000,
      topicData: [{ topic: 'orders', partitions: [{ partition: 2, messages: [{ key: 'k1', value: 'hello', timestamp: 1000 }, { key: 'k2', value: 'world', timestamp: 1001 }] }] }],
    });
    const { body } = decodeOurs<{ acks: number; timeoutMs: number; transactionalId: string | null; topicData: Array<{ name: string; partitionData: Array<{ index: number; records: Buffer }> }> }>(await kafkajsBytes(request));
    expect(body).toMatchObject({ acks: 1, timeoutMs: 3000, transactionalId: null });
    expect(body.topicData[0]!.name).toBe('orders');
    expect(body.topicData[0]!.partitionData[0]!.index).toBe(2);
    const records = body.topicData[0]!.partitionData[0]!.records;
    expect(records.readInt8(16)).toBe(2); // magic
    expect(records.readInt32BE(57)).toBe(2); // record count
  });

  test('Fetch v11, ListOffsets v3, CreateTopics v3, DeleteTopics v1, CreatePartitions v1, DescribeConfigs v2 requests', async () => {
    const fetch = decodeOurs<any>(await kafkajsBytes(requests('fetch/v11/request')({ replicaId: -1, maxWaitTime: 500, minBytes: 1, maxBytes: 1000, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: '42', maxBytes: 100 }] }] }))); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(fetch.body).toMatchObject({ replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 1000 });
    expect(fetch.body.topics[0].partitions[0]).toMatchObject({ partition: 0, fetchOffset: 42n, partitionMaxBytes: 100 });
    const list = decodeOurs<any>(await kafkajsBytes(requests('listOffsets/v3/request')({ replicaId: -1, isolationLevel: 1, topics: [{ topic: 't', partitions: [{ partition: 1, timestamp: -2 }] }] }))); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(list.body.topics[0].partitions[0]).toMatchObject({ partitionIndex: 1, timestamp: -2n });
    const create = decodeOurs<any>(await kafkajsBytes(requests('createTopics/v3/request')({ topics: [{ topic: 'new', numPartitions: 6, replicationFactor: 3, configEntries: [{ name: 'retention.ms', value: '1000' }] }], timeout: 5000, validateOnly: false }))); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(create.body.topics[0]).toMatchObject({ name: 'new', numPartitions: 6, replicationFactor: 3, configs: [{ name: 'retention.ms', value: '1000' }] });
    const del = decodeOurs<any>(await kafkajsBytes(requests('deleteTopics/v1/request')({ topics: ['x'], timeout: 100 }))); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(del.body).toMatchObject({ topicNames: ['x'], timeoutMs: 100 });
    const parts = decodeOurs<any>(await kafkajsBytes(requests('createPartitions/v1/request')({ topicPartitions: [{ topic: 't', count: 8 }], timeout: 100, validateOnly: false }))); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(parts.body.topics[0]).toMatchObject({ name: 't', count: 8, assignments: null });
    const configs = decodeOurs<any>(await kafkajsBytes(requests('describeConfigs/v2/request')({ resources: [{ type: 2, name: 't', configNames: ['retention.ms'] }], includeSynonyms: false }))); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(configs.body.resources[0]).toMatchObject({ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] });
  });

  test('our responses decode with kafkajs: ApiVersions v2, Metadata v4, Produce v7, Fetch v11, ListOffsets v3, CreateTopics v3', async () => {
    const body = (apiKey: number, version: number, value: object): Buffer => encodeResponse(apiKey, version, 1, value).subarray(8);
    const versions = await requests('apiVersions/v2/response').decode(body(18, 2, { errorCode: 0, apiKeys: [{ apiKey: 3, minVersion: 1, maxVersion: 4 }], throttleTimeMs: 0 }));
    expect(versions.apiVersions).toEqual([{ apiKey: 3, minVersion: 1, maxVersion: 4 }]);
    const metadata = await requests('metadata/v4/response').decode(
      body(3, 4, {
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }],
        clusterId: 'c1',
        controllerId: 1,
        topics: [{ errorCode: 0, name: 't', isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }] }],
      }),
    );
    expect(metadata).toMatchObject({ clusterId: 'c1', controllerId: 1, brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092 }] });
    expect(metadata.topicMetadata[0].partitionMetadata[0]).toMatchObject({ partitionId: 0, leader: 1, replicas: [1], isr: [1] });
    const produce = await requests('produce/v7/response').decode(body(0, 7, { responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 42n, logAppendTimeMs: -1n, logStartOffset: 0n }] }], throttleTimeMs: 0 }));
    expect(produce.topics[0].partitions[0]).toMatchObject({ partition: 0, errorCode: 0, baseOffset: '42' });
    const batch = buildRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 5 }]);
    const fetched = await requests('fetch/v11/response').decode(
      body(1, 11, { errorCode: 0, sessionId: 0, responses: [{ topic: 't', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 1n, lastStableOffset: 1n, logStartOffset: 0n, abortedTransactions: [], preferredReadReplica: -1, records: batch }] }] }),
    );
    expect(fetched.responses[0].partitions[0].messages.map((m: { value: Buffer }) => m.value.toString())).toEqual(['v']);
    const list = await requests('listOffsets/v3/response').decode(body(2, 3, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1n, offset: 17n }] }] }));
    expect(list.responses[0].partitions[0]).toMatchObject({ partition: 0, offset: '17' });
    const created = await requests('createTopics/v3/response').decode(body(19, 3, { topics: [{ name: 'n', errorCode: 36, errorMessage: 'exists' }] }));
    expect(created.topicErrors[0]).toMatchObject({ topic: 'n', errorCode: 36 });
  });

  test('group APIs: JoinGroup v5 and OffsetCommit v5 requests; FindCoordinator v2 and JoinGroup v5 responses', async () => {
    const join = decodeOurs<any>( // eslint-disable-line @typescript-eslint/no-explicit-any
      await kafkajsBytes(requests('joinGroup/v5/request')({ groupId: 'g', sessionTimeout: 30000, rebalanceTimeout: 60000, memberId: '', protocolType: 'consumer', groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([1, 2, 3]) }] })),
    );
    expect(join.body).toMatchObject({ groupId: 'g', sessionTimeoutMs: 30000, rebalanceTimeoutMs: 60000, memberId: '', groupInstanceId: null, protocolType: 'consumer' });
    expect(join.body.protocols[0]).toMatchObject({ name: 'RoundRobinAssigner', metadata: Buffer.from([1, 2, 3]) });
    const commit = decodeOurs<any>( // eslint-disable-line @typescript-eslint/no-explicit-any
      await kafkajsBytes(requests('offsetCommit/v5/request')({ groupId: 'g', groupGenerationId: 3, memberId: 'm', topics: [{ topic: 't', partitions: [{ partition: 1, offset: '99' }] }] })),
    );
    expect(commit.body).toMatchObject({ groupId: 'g', generationIdOrMemberEpoch: 3, memberId: 'm' });
    expect(commit.body.topics[0].partitions[0]).toMatchObject({ partitionIndex: 1, committedOffset: 99n, committedMetadata: null });
    const body = (apiKey: number, version: number, value: object): Buffer => encodeResponse(apiKey, version, 1, value).subarray(8);
    const coordinator = await requests('findCoordinator/v2/response').decode(body(10, 2, { errorCode: 0, errorMessage: null, nodeId: 2, host: 'h', port: 9093 }));
    expect(coordinator).toMatchObject({ errorCode: 0, coordinator: { nodeId: 2, host: 'h', port: 9093 } });
    const joined = await requests('joinGroup/v5/response').decode(
      body(11, 5, { errorCode: 0, generationId: 4, protocolName: 'RoundRobinAssigner', leader: 'm1', memberId: 'm1', members: [{ memberId: 'm1', groupInstanceId: null, metadata: Buffer.from([9]) }] }),
    );
    expect(joined).toMatchObject({ generationId: 4, groupProtocol: 'RoundRobinAssigner', leaderId: 'm1', memberId: 'm1' });
    expect(joined.members[0]).toMatchObject({ memberId: 'm1', memberMetadata: Buffer.from([9]) });
  });
});

describe('responses as pieces (record sets referenced, not copied)', () => {
  const fetchBody = (sizes: number[]) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [{ topic: 't', partitions: sizes.map((size, i) => ({ partitionIndex: i, errorCode: 0, highWatermark: 5n, lastStableOffset: 5n, logStartOffset: 0n, abortedTransactions: [], preferredReadReplica: -1, records: Buffer.alloc(size, i + 1) })) }],
  });
  test.each([
    ['v11, large and small record sets', 11, [100_000, 10, 0, 20_000]],
    ['v11, nothing large', 11, [10, 20]],
    ['v12 (flexible: compact lengths, tagged fields)', 12, [70_000, 5, 16_384]],
    ['v4, only large', 4, [1 << 20]],
  ])('%s: the pieces joined are exactly the one-buffer frame, and large record sets are not copied', (_name, version, sizes) => {
    const body = fetchBody(sizes as number[]);
    const whole = encodeResponse(ApiKey.Fetch, version as number, 42, body);
    const pieces = encodeResponseChunks(ApiKey.Fetch, version as number, 42, body);
    expect(Buffer.concat(pieces).equals(whole)).toBe(true);
    expect(whole.readInt32BE(0)).toBe(whole.length - 4);
    const records = body.responses[0]!.partitions.map((p) => p.records);
    for (const set of records) expect(pieces.some((piece) => piece === set)).toBe(set.length >= GATHER_BYTES_MIN);
  });
});
