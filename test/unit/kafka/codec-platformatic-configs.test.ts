/**
 * The codec against @platformatic/kafka's own encoders and decoders (a real client, run as a
 * child process: test/fixtures/platformatic-codec.mjs; the package is ESM only) for the versions
 * it sends of ApiVersions (v3, v4), DescribeConfigs (v2-v4), AlterConfigs (v2) and
 * IncrementalAlterConfigs (v1): its request bytes decode to what it meant and re-encode to the
 * same bytes; the responses the broker would send decode in it to what the broker meant (the
 * decoding of DescribeConfigs v1/v2 by kafkajs is in test/integration/platformatic.test.ts).
 */
import * as path from 'path';
import { ApiKey } from '../../../shared/kafka/api-keys';
import { decodeRequest, encodeRequest, encodeResponse } from '../../../shared/kafka/codec';
import { REPO_ROOT, runCommand } from '../../helpers/processes';

jest.setTimeout(30_000);

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'platformatic-codec.mjs');
const CLIENT_ID = 'c';
const KEYS: Record<string, number> = { ApiVersions: ApiKey.ApiVersions, DescribeConfigs: ApiKey.DescribeConfigs, AlterConfigs: ApiKey.AlterConfigs, IncrementalAlterConfigs: ApiKey.IncrementalAlterConfigs };
const FLEXIBLE_FROM: Record<string, number> = { ApiVersions: 3, DescribeConfigs: 4, AlterConfigs: 2, IncrementalAlterConfigs: 1 };

function parse(label: string): { api: string; apiKey: number; version: number; flexible: boolean } {
  const [api, v] = label.split(' v') as [string, string];
  const version = Number(v);
  return { api, apiKey: KEYS[api]!, version, flexible: version >= FLEXIBLE_FROM[api]! };
}

async function run(mode: string, input?: string): Promise<Record<string, unknown>> {
  const result = await runCommand(process.execPath, [FIXTURE, mode], input, { timeoutMs: 20_000 });
  if (result.code !== 0) throw new Error(`platformatic-codec.mjs ${mode} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const EXPECTED_REQUESTS: Record<string, object> = {
  'ApiVersions v3': { clientSoftwareName: 'platformatic-kafka', clientSoftwareVersion: '1.35.0' },
  'ApiVersions v4': { clientSoftwareName: 'platformatic-kafka', clientSoftwareVersion: '1.35.0' },
  'DescribeConfigs v2': {
    resources: [
      { resourceType: 2, resourceName: 'events', configurationKeys: ['retention.ms'] },
      { resourceType: 4, resourceName: '1', configurationKeys: null },
    ],
    includeSynonyms: true,
  },
  'DescribeConfigs v3': { resources: [{ resourceType: 2, resourceName: 'events', configurationKeys: null }], includeSynonyms: false, includeDocumentation: true },
  'DescribeConfigs v4': { resources: [{ resourceType: 2, resourceName: 'events', configurationKeys: ['cleanup.policy', 'retention.ms'] }], includeSynonyms: true, includeDocumentation: true },
  'AlterConfigs v2': {
    resources: [{ resourceType: 2, resourceName: 'events', configs: [{ name: 'retention.ms', value: '1000' }, { name: 'segment.bytes', value: null }] }],
    validateOnly: true,
  },
  'IncrementalAlterConfigs v1': {
    resources: [{ resourceType: 2, resourceName: 'events', configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }, { name: 'retention.ms', configOperation: 1, value: null }] }],
    validateOnly: false,
  },
};

test("platformatic's requests decode to what it sent and re-encode to the same bytes", async () => {
  const captured = (await run('requests')) as Record<string, string>;
  expect(Object.keys(captured).sort()).toEqual(Object.keys(EXPECTED_REQUESTS).sort());
  for (const [label, hex] of Object.entries(captured)) {
    const { apiKey, version, flexible } = parse(label);
    const body = Buffer.from(hex, 'hex');
    const decoded = decodeRequest(apiKey, version, body, 0);
    expect([label, decoded]).toEqual([label, expect.objectContaining(EXPECTED_REQUESTS[label]!)]);
    // Size, api key, version, correlation id, client id, then header v2's tagged fields.
    const headerBytes = 4 + 8 + 2 + CLIENT_ID.length + (flexible ? 1 : 0);
    // platformatic 1.35.0 writes DescribeConfigs v2 in the v3 layout: a trailing include_documentation
    // byte v2 does not have (and its v2 parser expects v3's response fields). The decoder ignores the
    // byte; it only matters if a broker advertised no DescribeConfigs above v2 (Samsa: up to v4).
    const sent = label === 'DescribeConfigs v2' ? hex.slice(0, -2) : hex;
    expect([label, encodeRequest(apiKey, version, 1, CLIENT_ID, decoded).subarray(headerBytes).toString('hex')]).toEqual([label, sent]);
  }
});

const describeBody = {
  throttleTimeMs: 0,
  results: [
    {
      errorCode: 0,
      errorMessage: null,
      resourceType: 2,
      resourceName: 'events',
      configs: [
        {
          name: 'cleanup.policy',
          value: 'delete,compact',
          readOnly: false,
          isDefault: false,
          configSource: 1,
          isSensitive: false,
          synonyms: [
            { name: 'cleanup.policy', value: 'delete,compact', source: 1 },
            { name: 'log.cleanup.policy', value: 'delete', source: 5 },
          ],
          configType: 7,
          documentation: 'The retention policy of log segments.',
        },
      ],
    },
  ],
};
const RESPONSES: Record<string, object> = {
  'ApiVersions v3': { errorCode: 0, apiKeys: [{ apiKey: 44, minVersion: 0, maxVersion: 1 }], throttleTimeMs: 0 },
  'ApiVersions v4': { errorCode: 0, apiKeys: [{ apiKey: 32, minVersion: 1, maxVersion: 4 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 0 },
  // Not v2: platformatic's v2 parser reads v3's fields (see above).
  'DescribeConfigs v3': describeBody,
  'DescribeConfigs v4': describeBody,
  'AlterConfigs v2': { throttleTimeMs: 0, responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'events' }] },
  'IncrementalAlterConfigs v1': { throttleTimeMs: 0, responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'events' }] },
};

test('our responses decode in platformatic to what the broker meant', async () => {
  const frames: Record<string, string> = {};
  for (const [label, body] of Object.entries(RESPONSES)) {
    const { apiKey, version, flexible } = parse(label);
    // Size and correlation id, then header v1's tagged fields (never for ApiVersions).
    const headerBytes = 8 + (flexible && apiKey !== ApiKey.ApiVersions ? 1 : 0);
    frames[label] = encodeResponse(apiKey, version, 1, body).subarray(headerBytes).toString('hex');
  }
  const parsed = await run('responses', JSON.stringify(frames));
  const synonymsSeen = { name: 'cleanup.policy', value: 'delete,compact', readOnly: false, configSource: 1, isSensitive: false, synonyms: describeBody.results[0]!.configs[0]!.synonyms };
  expect(parsed['ApiVersions v3']).toMatchObject({ errorCode: 0, apiKeys: [{ apiKey: 44, name: 'IncrementalAlterConfigs', minVersion: 0, maxVersion: 1 }], throttleTimeMs: 0 });
  expect(parsed['ApiVersions v4']).toMatchObject({ apiKeys: [{ apiKey: 32, minVersion: 1, maxVersion: 4 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }] });
  for (const label of ['DescribeConfigs v3', 'DescribeConfigs v4']) {
    expect(parsed[label]).toMatchObject({ results: [{ errorCode: 0, resourceName: 'events', configs: [{ ...synonymsSeen, configType: 7, documentation: 'The retention policy of log segments.' }] }] });
  }
  expect(parsed['AlterConfigs v2']).toMatchObject(RESPONSES['AlterConfigs v2']!);
  expect(parsed['IncrementalAlterConfigs v1']).toMatchObject(RESPONSES['IncrementalAlterConfigs v1']!);
});
