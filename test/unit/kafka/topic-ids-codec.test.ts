/**
 * Topic ids and the newer versions of the metadata and topic-admin APIs: the UUID text form
 * (Kafka's Uuid.toString()), the topic znode with its "topic_id", and the codec against bytes
 * captured from a real client.
 *
 * CAPTURED holds frames recorded by a recording TCP proxy between @platformatic/kafka 1.35.0
 * (its own request encoders: metadataV12, createTopicsV7, …, driven through its Connection)
 * and a Samsa broker: the requests are the client's bytes; the responses are Samsa's bytes,
 * which the client parsed into the values asserted below (it printed the topic id as
 * 3f812525-886f-40f6-bdb7-b474dbef46b6).
 */
import { ApiKey } from '../../../shared/kafka/api-keys';
import { decodeRequest, decodeRequestHeader, decodeResponse, encodeRequest, encodeResponse } from '../../../shared/kafka/codec';
import { isUuidString, randomTopicId, uuidFromBuffer, uuidToBuffer, ZERO_UUID } from '../../../shared/kafka/uuid';
import { parseAssignment, parseTopicNode, topicNodeData } from '../../../broker/cluster/metadata-cache';

const hex = (...parts: string[]): Buffer => Buffer.from(parts.join(''), 'hex');

const CAPTURED = {
  createTopicsV7_req: hex(
    '0000003c001300070000000100076361707475726500020463617000000002000101020d726574656e74696f6e2e6d7308333630303030',
    '300000000027100000',
  ),
  createTopicsV7_res: hex(
    '0000015100000001000000000002046361703f812525886f40f6bdb7b474dbef46b60000000000000200010b0d726574656e74696f6e2e',
    '6d7308333630303030300001000010726574656e74696f6e2e6279746573032d31000500000e7365676d656e742e62797465730b313037',
    '3337343138323400050000146d696e2e696e73796e632e7265706c69636173023100050000126d61782e6d6573736167652e6279746573',
    '0831303438353838000500000f636c65616e75702e706f6c6963790764656c657465000500001464656c6574652e726574656e74696f6e',
    '2e6d73093836343030303030000500001a6d696e2e636c65616e61626c652e64697274792e726174696f04302e3500050000166d696e2e',
    '636f6d70616374696f6e2e6c61672e6d730230000500001f756e636c65616e2e6c65616465722e656c656374696f6e2e656e61626c6506',
    '66616c7365000500000000',
  ),
  metadataV12_req: hex(
    '0000002b0003000c000000020007636170747572650002000000000000000000000000000000000463617000000000',
  ),
  metadataV12_res: hex(
    '0000008c00000002000000000002000000010a3132372e302e302e310000991800001752513259413446375451506e4335344776654d63',
    '6e4100000001020000046361703f812525886f40f6bdb7b474dbef46b60003000000000000000000010000000002000000010200000001',
    '01000000000000010000000100000000020000000102000000010100800000000000',
  ),
  metadataV10_req: hex(
    '0000002c0003000a00000003000763617074757265000200000000000000000000000000000000046361700000000000',
  ),
  metadataV10_res: hex(
    '0000009000000003000000000002000000010a3132372e302e302e310000991800001752513259413446375451506e4335344776654d63',
    '6e4100000001020000046361703f812525886f40f6bdb7b474dbef46b60003000000000000000000010000000002000000010200000001',
    '0100000000000001000000010000000002000000010200000001010080000000008000000000',
  ),
  createPartitionsV3_req: hex(
    '000000230025000300000004000763617074757265000204636170000000030000000027100000',
  ),
  createPartitionsV3_res: hex(
    '0000001300000004000000000002046361700000000000',
  ),
  describeClusterV1_req: hex(
    '00000015003c00010000000500076361707475726500000100',
  ),
  describeClusterV1_res: hex(
    '00000042000000050000000000000000011752513259413446375451506e4335344776654d636e410000000102000000010a3132372e30',
    '2e302e310000991800008000000000',
  ),
  describeClusterV0_req: hex(
    '00000014003c000000000006000763617074757265000000',
  ),
  describeClusterV0_res: hex(
    '000000410000000600000000000000001752513259413446375451506e4335344776654d636e410000000102000000010a3132372e302e',
    '302e310000991800008000000000',
  ),
  deleteTopicsV6_req: hex(
    '0000002a00140006000000070007636170747572650002003f812525886f40f6bdb7b474dbef46b6000000271000',
  ),
  deleteTopicsV6_res: hex(
    '0000002300000007000000000002046361703f812525886f40f6bdb7b474dbef46b60000000000',
  ),
};

/** The topic id in the captures: platformatic's 3f812525-886f-40f6-bdb7-b474dbef46b6. */
const CAPTURED_ID = Buffer.from('3f812525886f40f6bdb7b474dbef46b6', 'hex');

describe('topic id text form', () => {
  test('is URL-safe base64 without padding, as Kafka prints it', () => {
    expect(uuidFromBuffer(Buffer.alloc(16))).toBe(ZERO_UUID);
    // Kafka's Uuid.METADATA_TOPIC_ID (0…01) prints as AAAAAAAAAAAAAAAAAAAAAQ.
    expect(uuidFromBuffer(Buffer.from('00000000000000000000000000000001', 'hex'))).toBe('AAAAAAAAAAAAAAAAAAAAAQ');
    const text = uuidFromBuffer(CAPTURED_ID);
    expect(text).toBe('P4ElJYhvQPa9t7R02-9Gtg');
    expect(uuidToBuffer(text).equals(CAPTURED_ID)).toBe(true);
  });

  test('rejects what is not a 16-byte id', () => {
    for (const bad of ['', 'AAAA', 'AAAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAA+A', 'AAAAAAAAAAAAAAAAAAAAAB', 'AAAAAAAAAAAAAAAAAAAAA=']) {
      expect(isUuidString(bad)).toBe(false);
      expect(() => uuidToBuffer(bad)).toThrow(/not a Kafka UUID/);
    }
    expect(() => uuidFromBuffer(Buffer.alloc(15))).toThrow(/16 bytes/);
  });

  test('random ids are version 4, round-trip, and never zero nor start with "-"', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const id = randomTopicId();
      expect(isUuidString(id)).toBe(true);
      expect(id.startsWith('-')).toBe(false);
      const bytes = uuidToBuffer(id);
      expect(bytes[6]! >> 4).toBe(4);
      expect(bytes[8]! >> 6).toBe(2);
      expect(uuidFromBuffer(bytes)).toBe(id);
      seen.add(id);
    }
    expect(seen.size).toBe(200);
  });

  test('a random source giving an id starting with "-" is asked again', () => {
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x11)];
    let calls = 0;
    const id = randomTopicId(() => draws[calls++]!);
    expect(calls).toBe(2);
    expect(id.startsWith('-')).toBe(false);
  });
});

describe('topic znode', () => {
  test('carries "topic_id" beside the assignment, and reads back', () => {
    const data = topicNodeData([[1, 2], [2, 3]], 'P4ElJYhvQPa9t7R02-9Gtg');
    expect(JSON.parse(data)).toEqual({ topic_id: 'P4ElJYhvQPa9t7R02-9Gtg', partitions: { '0': [1, 2], '1': [2, 3] } });
    expect(parseTopicNode(data)).toEqual({ value: { partitions: [[1, 2], [2, 3]], topicId: 'P4ElJYhvQPa9t7R02-9Gtg' } });
    expect(parseAssignment(data)).toEqual({ value: [[1, 2], [2, 3]] });
  });

  test('a topic written before ids existed has none (the controller gives it one)', () => {
    expect(parseTopicNode(topicNodeData([[1]], undefined))).toEqual({ value: { partitions: [[1]] } });
  });

  test("Kafka's own znode (version 3, reassignment maps) reads", () => {
    const kafka = '{"partitions":{"0":[1]},"topic_id":"P4ElJYhvQPa9t7R02-9Gtg","adding_replicas":{},"removing_replicas":{},"version":3}';
    expect(parseTopicNode(kafka)).toEqual({ value: { partitions: [[1]], topicId: 'P4ElJYhvQPa9t7R02-9Gtg' } });
  });

  test('a "topic_id" that is not an id makes the node malformed', () => {
    for (const id of ['nope', 42, null, ZERO_UUID]) {
      expect(parseTopicNode(JSON.stringify({ topic_id: id, partitions: { '0': [1] } }))).toEqual({ problem: '"topic_id" is not a Kafka UUID' });
    }
  });
});

/** Decodes a captured request frame and checks our encoder writes the same bytes for what it decoded. */
function request(frame: Buffer): { apiKey: number; apiVersion: number; body: any } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const header = decodeRequestHeader(frame.subarray(4));
  const body = decodeRequest(header.apiKey, header.apiVersion, frame.subarray(4), header.bodyOffset);
  expect(encodeRequest(header.apiKey, header.apiVersion, header.correlationId, header.clientId, body).equals(frame)).toBe(true);
  return { apiKey: header.apiKey, apiVersion: header.apiVersion, body };
}

/** Decodes a captured response frame and checks we encode what it decoded to the same bytes (the ones the client parsed). */
function response(apiKey: number, apiVersion: number, frame: Buffer): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  const { correlationId, body } = decodeResponse(apiKey, apiVersion, frame.subarray(4));
  // The decoder fills an absent tagged field with its default; the handler never sets it, so it was not on the wire.
  const sent = apiKey === ApiKey.CreateTopics ? { ...body, topics: body.topics.map(({ topicConfigErrorCode, ...topic }: { topicConfigErrorCode: number }) => (expect(topicConfigErrorCode).toBe(0), topic)) } : body;
  expect(encodeResponse(apiKey, apiVersion, correlationId, sent).equals(frame)).toBe(true);
  return body;
}

describe('codec against @platformatic/kafka', () => {
  test('CreateTopics v7', () => {
    const { apiKey, apiVersion, body } = request(CAPTURED.createTopicsV7_req);
    expect([apiKey, apiVersion]).toEqual([ApiKey.CreateTopics, 7]);
    expect(body).toEqual({ topics: [{ name: 'cap', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '3600000' }] }], timeoutMs: 10000, validateOnly: false });
    const answer = response(ApiKey.CreateTopics, 7, CAPTURED.createTopicsV7_res);
    expect(answer.topics[0]).toMatchObject({ name: 'cap', errorCode: 0, errorMessage: null, numPartitions: 2, replicationFactor: 1 });
    expect(answer.topics[0].topicId.equals(CAPTURED_ID)).toBe(true);
    expect(answer.topics[0].configs).toHaveLength(10);
    expect(answer.topics[0].configs[0]).toEqual({ name: 'retention.ms', value: '3600000', readOnly: false, configSource: 1, isSensitive: false });
  });

  test.each([12, 10])('Metadata v%i', (version) => {
    const { apiKey, apiVersion, body } = request(version === 12 ? CAPTURED.metadataV12_req : CAPTURED.metadataV10_req);
    expect([apiKey, apiVersion]).toEqual([ApiKey.Metadata, version]);
    expect(body.topics).toEqual([{ topicId: Buffer.alloc(16), name: 'cap' }]);
    expect(body.allowAutoTopicCreation).toBe(false);
    const answer = response(ApiKey.Metadata, version, version === 12 ? CAPTURED.metadataV12_res : CAPTURED.metadataV10_res);
    expect(answer.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: 39192, rack: null }]);
    expect(answer.topics[0]).toMatchObject({ errorCode: 0, name: 'cap', isInternal: false, topicAuthorizedOperations: -2147483648 });
    expect(answer.topics[0].topicId.equals(CAPTURED_ID)).toBe(true);
    expect(answer.topics[0].partitions[0]).toEqual({ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] });
  });

  test('CreatePartitions v3', () => {
    const { apiKey, apiVersion, body } = request(CAPTURED.createPartitionsV3_req);
    expect([apiKey, apiVersion]).toEqual([ApiKey.CreatePartitions, 3]);
    expect(body).toEqual({ topics: [{ name: 'cap', count: 3, assignments: null }], timeoutMs: 10000, validateOnly: false });
    expect(response(ApiKey.CreatePartitions, 3, CAPTURED.createPartitionsV3_res)).toEqual({ throttleTimeMs: 0, results: [{ name: 'cap', errorCode: 0, errorMessage: null }] });
  });

  test('DeleteTopics v6 by topic id', () => {
    const { apiKey, apiVersion, body } = request(CAPTURED.deleteTopicsV6_req);
    expect([apiKey, apiVersion]).toEqual([ApiKey.DeleteTopics, 6]);
    expect(body).toMatchObject({ topics: [{ name: null, topicId: CAPTURED_ID }], timeoutMs: 10000 });
    const answer = response(ApiKey.DeleteTopics, 6, CAPTURED.deleteTopicsV6_res);
    expect(answer.responses).toEqual([{ name: 'cap', topicId: CAPTURED_ID, errorCode: 0, errorMessage: null }]);
  });

  test.each([1, 0])('DescribeCluster v%i', (version) => {
    const { apiKey, apiVersion, body } = request(version === 1 ? CAPTURED.describeClusterV1_req : CAPTURED.describeClusterV0_req);
    expect([apiKey, apiVersion]).toEqual([ApiKey.DescribeCluster, version]);
    expect(body.includeClusterAuthorizedOperations).toBe(false);
    const answer = response(ApiKey.DescribeCluster, version, version === 1 ? CAPTURED.describeClusterV1_res : CAPTURED.describeClusterV0_res);
    expect(answer).toMatchObject({ errorCode: 0, errorMessage: null, clusterId: 'RQ2YA4F7TQPnC54GveMcnA', controllerId: 1, brokers: [{ brokerId: 1, host: '127.0.0.1', port: 39192, rack: null }], clusterAuthorizedOperations: -2147483648 });
    if (version === 1) expect(answer.endpointType).toBe(1);
  });
});
