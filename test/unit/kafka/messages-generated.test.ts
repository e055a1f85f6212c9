/**
 * shared/kafka/messages.ts is generated (scripts/gen-kafka-types.ts) from the schemas and
 * shared/kafka/versions.ts: it must match what the generator writes today, and the tables it
 * exports must agree with the schema files the codec compiles.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OUTPUT, renderMessages } from '../../../scripts/gen-kafka-types';
import { ADVERTISED_VERSIONS, API_NAMES, ApiKey } from '../../../shared/kafka/api-keys';
import { loadSchema } from '../../../shared/kafka/schema';

const ROOT = path.resolve(__dirname, '..', '..', '..');

test('the committed shared/kafka/messages.ts is what `npm run gen:kafka` writes', () => {
  const committed = fs.readFileSync(path.join(ROOT, OUTPUT), 'utf8');
  // On failure: run `npm run gen:kafka` and commit the result.
  expect(committed === renderMessages()).toBe(true);
});

test('every API key in the generated table is the one its schema declares, both ways', () => {
  for (const [name, key] of Object.entries(ApiKey)) {
    expect(loadSchema(`${name}Request`).apiKey).toBe(key);
    expect(loadSchema(`${name}Response`).apiKey).toBe(key);
    expect(API_NAMES[key]).toBe(name);
  }
});

test('every advertised range lies within its schema versions', () => {
  for (const { apiKey, minVersion, maxVersion } of ADVERTISED_VERSIONS) {
    const versions = loadSchema(`${API_NAMES[apiKey]}Request`).validVersions;
    expect(minVersion).toBeGreaterThanOrEqual(versions.min);
    expect(maxVersion).toBeLessThanOrEqual(versions.max);
  }
});
