/**
 * Who is connected: the client software each broker counted from ApiVersions v3+
 * (`kafka_server_socket_server_metrics_connections{clientSoftwareName,clientSoftwareVersion}`),
 * read from the console's latest scrape of every broker (pure). Clients that send an older
 * ApiVersions (kafkajs 2.2.4 sends v2) name no software and are not counted, as in Kafka.
 */
import type { Exposition } from '../../shared/metrics/prometheus-text';
import type { ClientSoftwareRow } from '../web/src/api-types';
export type { ClientSoftwareRow } from '../web/src/api-types';

export const CLIENT_SOFTWARE_METRIC = 'kafka_server_socket_server_metrics_connections';

export function clientSoftware(latest: ReadonlyMap<number, Exposition>): ClientSoftwareRow[] {
  const rows: ClientSoftwareRow[] = [];
  for (const [broker, exposition] of latest) {
    for (const sample of exposition.samples) {
      if (sample.name !== CLIENT_SOFTWARE_METRIC || !(sample.value > 0)) continue;
      rows.push({ broker, name: sample.labels.clientSoftwareName ?? '', version: sample.labels.clientSoftwareVersion ?? '', connections: sample.value });
    }
  }
  return rows.sort((a, b) => a.broker - b.broker || a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}
