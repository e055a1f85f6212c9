/** ApiVersions: the ranges this broker serves (shared/kafka/api-keys.ts). */
import { ADVERTISED_VERSIONS } from '../../../shared/kafka/api-keys';
import { KafkaError } from '../../../shared/kafka/errors';
import type { Handler } from './types';

export function apiVersionsBody(errorCode: number): object {
  return { errorCode, apiKeys: ADVERTISED_VERSIONS.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })), throttleTimeMs: 0 };
}

export const apiVersions: Handler = () => apiVersionsBody(KafkaError.NONE);
