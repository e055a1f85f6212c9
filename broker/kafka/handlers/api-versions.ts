/** ApiVersions: the ranges this broker serves (shared/kafka/versions.ts). */
import { ADVERTISED_VERSIONS, ApiKey } from '../../../shared/kafka/api-keys';
import { KafkaError } from '../../../shared/kafka/errors';
import type { Handler, ResponseBody } from './types';

/**
 * Versions listed below what is served (answered with UNSUPPORTED_VERSION, see produce.ts).
 * Produce from 0: librdkafka up to 2.8 turns gzip and snappy off unless Produce v0 is listed
 * (librdkafka issue #4956), so kcat would send those uncompressed; Kafka 4.0 lists 0 and
 * refuses 0-2 for the same reason (KAFKA-18659).
 */
export const LISTED_BELOW_SERVED: ReadonlyMap<number, number> = new Map([[ApiKey.Produce, 0]]);

export function apiVersionsBody(errorCode: number): ResponseBody<'ApiVersions'> {
  return {
    errorCode,
    apiKeys: ADVERTISED_VERSIONS.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion: LISTED_BELOW_SERVED.get(apiKey) ?? minVersion, maxVersion })),
    throttleTimeMs: 0,
  };
}

export const apiVersions: Handler<'ApiVersions'> = () => apiVersionsBody(KafkaError.NONE);
