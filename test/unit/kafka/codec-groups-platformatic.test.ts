/**
 * The group APIs' flexible versions against a real client's bytes: requests built by
 * @platformatic/kafka 1.35.0's own encoders (the versions it speaks: FindCoordinator v4-6,
 * JoinGroup v6-9, SyncGroup v4-5, Heartbeat v4, LeaveGroup v4-5, OffsetCommit v8-9, OffsetFetch
 * v8-9, DescribeGroups v5, ListGroups v4-5, DeleteGroups v2) decode with our codec to the right
 * fields and re-encode to the same bytes; responses our codec encodes parse with its own decoders
 * to the same values, every byte read. The client is ESM only, so its encoders run in one child
 * process (test/fixtures/platformatic-group-codec.mjs).
 */
import { ApiKey } from '../../../shared/kafka/api-keys';
import { decodeRequest, decodeRequestHeader, encodeRequest, encodeResponse } from '../../../shared/kafka/codec';
import { runCommand } from '../../helpers/processes';

/* eslint-disable @typescript-eslint/no-explicit-any */

const hex = (buffer: Buffer) => ({ $hex: buffer.toString('hex') });

interface Case {
  /** platformatic's module name, e.g. joinGroupV9. */
  api: string;
  apiKey: number;
  version: number;
  /** platformatic's createRequest arguments ({ $hex } = a Buffer). */
  args: unknown[];
  /** What our codec must decode from its bytes. */
  request: object;
  /** A response body as our handlers fill it (every version's fields). */
  response: object;
  /** What platformatic must parse from our bytes. */
  parsed: object;
  /** Error codes platformatic must report (it throws them wrapped; the fixture unwraps). */
  errorCodes?: number[];
}

const subscription = Buffer.from('000100000001000674657374732d31ffffffff00000000', 'hex');
const assignment = Buffer.from('0001000000010006746f70696300000002000000000000000100000000', 'hex');

const coordinatorsResponse = {
  throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: -1, host: '', port: -1,
  coordinators: [
    { key: 'g1', nodeId: 2, host: '127.0.0.1', port: 9093, errorCode: 0, errorMessage: null },
    { key: 'g2', nodeId: -1, host: '', port: -1, errorCode: 15, errorMessage: 'no live leader' },
  ],
};
const findCoordinator = (version: number): Case => ({
  api: `findCoordinatorV${version}`, apiKey: ApiKey.FindCoordinator, version,
  args: [0, ['g1', 'g2']],
  request: { keyType: 0, coordinatorKeys: ['g1', 'g2'] },
  response: coordinatorsResponse,
  parsed: { coordinators: [{ key: 'g1', nodeId: 2, host: '127.0.0.1', port: 9093, errorCode: 0 }, { key: 'g2', nodeId: -1, errorCode: 15, errorMessage: 'no live leader' }] },
  errorCodes: [15],
});

const joinResponse = {
  throttleTimeMs: 0, errorCode: 0, generationId: 3, protocolType: 'consumer', protocolName: 'roundrobin', leader: 'm-1', skipAssignment: false, memberId: 'm-1',
  members: [{ memberId: 'm-1', groupInstanceId: null, metadata: subscription }, { memberId: 'm-2', groupInstanceId: 'static-2', metadata: subscription }],
};
const joinGroup = (version: number): Case => ({
  api: `joinGroupV${version}`, apiKey: ApiKey.JoinGroup, version,
  args: [
    'group-a', 30000, 60000, '', version >= 6 ? 'instance-1' : null, 'consumer',
    [{ name: 'roundrobin', metadata: hex(subscription) }, { name: 'range', metadata: hex(subscription) }],
    'rejoining: metadata changed',
  ],
  request: {
    groupId: 'group-a', sessionTimeoutMs: 30000, rebalanceTimeoutMs: 60000, memberId: '', groupInstanceId: 'instance-1', protocolType: 'consumer',
    protocols: [{ name: 'roundrobin', metadata: subscription }, { name: 'range', metadata: subscription }],
    ...(version >= 8 ? { reason: 'rejoining: metadata changed' } : {}),
  },
  response: joinResponse,
  parsed: {
    errorCode: 0, generationId: 3, protocolName: 'roundrobin', leader: 'm-1', memberId: 'm-1',
    ...(version >= 7 ? { protocolType: 'consumer' } : {}),
    ...(version >= 9 ? { skipAssignment: false } : {}),
    members: [{ memberId: 'm-1', groupInstanceId: null, metadata: hex(subscription) }, { memberId: 'm-2', groupInstanceId: 'static-2', metadata: hex(subscription) }],
  },
});

const syncGroup = (version: number): Case => ({
  api: `syncGroupV${version}`, apiKey: ApiKey.SyncGroup, version,
  args: ['group-a', 3, 'm-1', null, 'consumer', 'roundrobin', [{ memberId: 'm-1', assignment: hex(assignment) }, { memberId: 'm-2', assignment: hex(Buffer.alloc(0)) }]],
  request: {
    groupId: 'group-a', generationId: 3, memberId: 'm-1', groupInstanceId: null,
    ...(version >= 5 ? { protocolType: 'consumer', protocolName: 'roundrobin' } : {}),
    assignments: [{ memberId: 'm-1', assignment }, { memberId: 'm-2', assignment: Buffer.alloc(0) }],
  },
  response: { throttleTimeMs: 0, errorCode: 0, protocolType: 'consumer', protocolName: 'roundrobin', assignment },
  parsed: { errorCode: 0, assignment: hex(assignment), ...(version >= 5 ? { protocolType: 'consumer', protocolName: 'roundrobin' } : {}) },
});

const cases: Case[] = [
  findCoordinator(4), findCoordinator(5), findCoordinator(6),
  joinGroup(6), joinGroup(7), joinGroup(8), joinGroup(9),
  syncGroup(4), syncGroup(5),
  {
    api: 'heartbeatV4', apiKey: ApiKey.Heartbeat, version: 4,
    args: ['group-a', 3, 'm-1', 'instance-1'],
    request: { groupId: 'group-a', generationId: 3, memberId: 'm-1', groupInstanceId: 'instance-1' },
    response: { throttleTimeMs: 0, errorCode: 27 },
    parsed: { errorCode: 27 },
    errorCodes: [27],
  },
  ...[4, 5].map((version): Case => ({
    api: `leaveGroupV${version}`, apiKey: ApiKey.LeaveGroup, version,
    args: ['group-a', [{ memberId: 'm-1', groupInstanceId: null, reason: 'closing' }, { memberId: '', groupInstanceId: 'instance-2', reason: null }]],
    request: { groupId: 'group-a', members: [{ memberId: 'm-1', groupInstanceId: null, ...(version >= 5 ? { reason: 'closing' } : {}) }, { memberId: '', groupInstanceId: 'instance-2' }] },
    response: { throttleTimeMs: 0, errorCode: 0, members: [{ memberId: 'm-1', groupInstanceId: null, errorCode: 0 }, { memberId: '', groupInstanceId: 'instance-2', errorCode: 25 }] },
    parsed: { errorCode: 0, members: [{ memberId: 'm-1', groupInstanceId: null, errorCode: 0 }, { memberId: '', groupInstanceId: 'instance-2', errorCode: 25 }] },
    errorCodes: [25],
  })),
  ...[8, 9].map((version): Case => ({
    api: `offsetCommitV${version}`, apiKey: ApiKey.OffsetCommit, version,
    args: ['group-a', 3, 'm-1', 'instance-1', [{ name: 'events', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: 7, committedMetadata: null }, { partitionIndex: 2, committedOffset: 9007199254740993n, committedLeaderEpoch: -1, committedMetadata: 'm' }] }]],
    request: {
      groupId: 'group-a', generationIdOrMemberEpoch: 3, memberId: 'm-1', groupInstanceId: 'instance-1',
      topics: [{ name: 'events', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: 7, committedMetadata: null }, { partitionIndex: 2, committedOffset: 9007199254740993n, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
    },
    response: { throttleTimeMs: 0, topics: [{ name: 'events', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 2, errorCode: 22 }] }] },
    parsed: { topics: [{ name: 'events', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 2, errorCode: 22 }] }] },
    errorCodes: [22],
  })),
  ...[8, 9].map((version): Case => ({
    api: `offsetFetchV${version}`, apiKey: ApiKey.OffsetFetch, version,
    // offsetFetchV8 takes the same shape; it simply does not write memberId/memberEpoch.
    args: [[{ groupId: 'group-a', memberId: 'm-1', memberEpoch: 3, topics: [{ name: 'events', partitionIndexes: [0, 1] }] }, { groupId: 'group-b', memberId: null, memberEpoch: -1, topics: null }], true],
    request: {
      groups: [
        { groupId: 'group-a', ...(version >= 9 ? { memberId: 'm-1', memberEpoch: 3 } : {}), topics: [{ name: 'events', partitionIndexes: [0, 1] }] },
        { groupId: 'group-b', ...(version >= 9 ? { memberId: null, memberEpoch: -1 } : {}), topics: null },
      ],
      requireStable: true,
    },
    response: {
      throttleTimeMs: 0, errorCode: 0, topics: [],
      groups: [
        { groupId: 'group-a', errorCode: 0, topics: [{ name: 'events', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: 7, metadata: '', errorCode: 0 }, { partitionIndex: 1, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] }] },
        { groupId: 'group-b', errorCode: 14, topics: [] },
      ],
    },
    parsed: {
      groups: [
        { groupId: 'group-a', errorCode: 0, topics: [{ name: 'events', partitions: [{ partitionIndex: 0, committedOffset: '42', committedLeaderEpoch: 7, metadata: '', errorCode: 0 }, { partitionIndex: 1, committedOffset: '-1', committedLeaderEpoch: -1 }] }] },
        { groupId: 'group-b', errorCode: 14, topics: [] },
      ],
    },
    errorCodes: [14],
  })),
  {
    api: 'describeGroupsV5', apiKey: ApiKey.DescribeGroups, version: 5,
    args: [['group-a', 'group-b'], true],
    request: { groups: ['group-a', 'group-b'], includeAuthorizedOperations: true },
    response: {
      throttleTimeMs: 0,
      groups: [
        {
          errorCode: 0, groupId: 'group-a', groupState: 'Stable', protocolType: 'consumer', protocolData: 'roundrobin', authorizedOperations: 328,
          members: [{ memberId: 'm-1', groupInstanceId: 'instance-1', clientId: 'app', clientHost: '/127.0.0.1', memberMetadata: subscription, memberAssignment: assignment }],
        },
        { errorCode: 0, groupId: 'group-b', groupState: 'Dead', protocolType: '', protocolData: '', authorizedOperations: -(2 ** 31), members: [] },
      ],
    },
    parsed: {
      groups: [
        {
          errorCode: 0, groupId: 'group-a', groupState: 'Stable', protocolType: 'consumer', protocolData: 'roundrobin', authorizedOperations: 328,
          members: [{ memberId: 'm-1', groupInstanceId: 'instance-1', clientId: 'app', clientHost: '/127.0.0.1', memberMetadata: hex(subscription), memberAssignment: hex(assignment) }],
        },
        { groupId: 'group-b', groupState: 'Dead', members: [] },
      ],
    },
  },
  ...[4, 5].map((version): Case => ({
    api: `listGroupsV${version}`, apiKey: ApiKey.ListGroups, version,
    args: version === 5 ? [['Stable', 'Empty'], ['classic']] : [['Stable', 'Empty']],
    request: { statesFilter: ['Stable', 'Empty'], ...(version >= 5 ? { typesFilter: ['classic'] } : {}) },
    response: { throttleTimeMs: 0, errorCode: 0, groups: [{ groupId: 'group-a', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' }] },
    parsed: { errorCode: 0, groups: [{ groupId: 'group-a', protocolType: 'consumer', groupState: 'Stable', ...(version >= 5 ? { groupType: 'classic' } : {}) }] },
  })),
  {
    api: 'deleteGroupsV2', apiKey: ApiKey.DeleteGroups, version: 2,
    args: [['group-a', 'group-b']],
    request: { groupsNames: ['group-a', 'group-b'] },
    response: { throttleTimeMs: 0, results: [{ groupId: 'group-a', errorCode: 0 }, { groupId: 'group-b', errorCode: 68 }] },
    parsed: { results: [{ groupId: 'group-a', errorCode: 0 }, { groupId: 'group-b', errorCode: 68 }] },
    errorCodes: [68],
  },
];

/** The JSON the fixture reads: bigints cross as { $bigint }. */
function jobArgs(args: unknown[]): unknown {
  return JSON.parse(JSON.stringify(args, (_key, value) => (typeof value === 'bigint' ? { $bigint: value.toString() } : value)));
}

/** A request frame (without its size prefix) around a body platformatic encoded: header v2, client id 'plt'. */
function requestFrame(apiKey: number, version: number, body: Buffer): Buffer {
  const clientId = Buffer.from('plt');
  const header = Buffer.alloc(10 + clientId.length + 1);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(5, 4);
  header.writeInt16BE(clientId.length, 8);
  clientId.copy(header, 10);
  header[10 + clientId.length] = 0; // no header tagged fields
  return Buffer.concat([header, body]);
}

let results: { requests: string[]; responses: Array<{ response?: any; errorCodes?: number[]; trailing?: number; failure?: string }> };

beforeAll(async () => {
  const job = {
    requests: cases.map((c) => ({ api: c.api, args: jobArgs(c.args) })),
    // A flexible response frame: size, correlation id, empty header tagged fields, then the body.
    responses: cases.map((c) => ({ api: c.api, hex: encodeResponse(c.apiKey, c.version, 5, c.response).subarray(9).toString('hex') })),
  };
  const run = await runCommand('node', ['test/fixtures/platformatic-group-codec.mjs'], JSON.stringify(job), { timeoutMs: 20_000 });
  if (run.code !== 0) throw new Error(`fixture failed (${run.code}): ${run.stderr}`);
  results = JSON.parse(run.stdout);
  if (results.requests?.length !== cases.length || results.responses?.length !== cases.length) throw new Error(`fixture answered ${run.stdout.slice(0, 300)}`);
});

describe.each(cases.map((c, index) => ({ ...c, index, name: `${c.api.replace(/V(\d+)$/, ' v$1')}` })))('$name', (c) => {
  test('platformatic\'s request decodes to its fields and re-encodes to the same bytes', () => {
    const body = Buffer.from(results.requests[c.index]!, 'hex');
    const frame = requestFrame(c.apiKey, c.version, body);
    const header = decodeRequestHeader(frame);
    expect(header).toMatchObject({ apiKey: c.apiKey, apiVersion: c.version, correlationId: 5, clientId: 'plt' });
    const decoded = decodeRequest(c.apiKey, c.version, frame, header.bodyOffset);
    expect(decoded).toMatchObject(c.request);
    expect(encodeRequest(c.apiKey, c.version, 5, 'plt', decoded).subarray(4).equals(frame)).toBe(true);
  });

  test('our response parses with platformatic\'s decoder, every byte read', () => {
    const parsed = results.responses[c.index]!;
    expect(parsed.failure).toBeUndefined();
    // Its parsers stop before the body's own (empty) tagged fields: exactly that one byte is left.
    expect(parsed.trailing).toBe(1);
    expect(parsed.response).toMatchObject(c.parsed);
    expect(parsed.errorCodes).toEqual(c.errorCodes ?? []);
  });
});
