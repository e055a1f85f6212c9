/**
 * ApiVersions (v0-v4): the ranges this broker serves (shared/kafka/versions.ts). v3+ requests
 * carry the client's software name and version (KIP-511): the server records them per connection
 * (server.ts, client-software.ts); values outside Kafka's character rule answer INVALID_REQUEST
 * with no API list, as Kafka does. v4 is v3 on the wire: it only lets a broker list features
 * with MinVersion 0 (KAFKA-17011), and Samsa lists no features.
 */
import { ADVERTISED_VERSIONS, ApiKey } from '../../../shared/kafka/api-keys';
import { KafkaError } from '../../../shared/kafka/errors';
import { validClientSoftware } from '../client-software';
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

export const apiVersions: Handler<'ApiVersions'> = (input) => {
  // By version, not by field: the codec fills fields a version lacks with their defaults ('').
  if ((input.version === 3 || input.version === 4) && !validClientSoftware(input.request.clientSoftwareName, input.request.clientSoftwareVersion)) {
    return { errorCode: KafkaError.INVALID_REQUEST, apiKeys: [], throttleTimeMs: 0 };
  }
  return apiVersionsBody(KafkaError.NONE);
};
