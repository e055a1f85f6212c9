/**
 * API keys (generated from the schemas into messages.ts) and the version ranges as numeric
 * tables (declared by name in versions.ts): what ApiVersions answers and what the codec tests
 * cover.
 */
import { ApiKey, ApiName } from './messages';
import { ADVERTISED_APIS, PROTOCOL_RANGES, SASL_RANGES } from './versions';

export { ApiKey, API_NAMES } from './messages';
export type { ApiName } from './messages';

export interface VersionRangeEntry {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

function entries(ranges: Partial<Record<ApiName, { min: number; max: number }>>, names: readonly ApiName[]): readonly VersionRangeEntry[] {
  return Object.freeze(names.map((name) => Object.freeze({ apiKey: ApiKey[name], minVersion: ranges[name]!.min, maxVersion: ranges[name]!.max })));
}

/** What the broker serves today. */
export const ADVERTISED_VERSIONS: readonly VersionRangeEntry[] = entries(PROTOCOL_RANGES, ADVERTISED_APIS);

/** The guide's full recommended table (section 4), group APIs included, SASL excluded. */
export const PROTOCOL_VERSIONS: readonly VersionRangeEntry[] = entries(PROTOCOL_RANGES, Object.keys(PROTOCOL_RANGES) as ApiName[]);

/** Only if SASL is ever offered (guide section 4). */
export const SASL_VERSIONS: readonly VersionRangeEntry[] = entries(SASL_RANGES, Object.keys(SASL_RANGES) as ApiName[]);

export function advertisedRange(apiKey: number): VersionRangeEntry | undefined {
  return ADVERTISED_VERSIONS.find((entry) => entry.apiKey === apiKey);
}
