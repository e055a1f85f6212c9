/**
 * The CLI's last resort when no `--bootstrap` broker answers: the live brokers' own
 * registrations in the coordinator (/brokers/ids/<id>, ephemeral, JSON {host, port}), as a
 * ZooKeeper-mode Kafka tool could read them. A coordinator where nothing listens is reported
 * at once (its connection refused), not after the request timeout.
 */
import { PATHS } from '../broker/cluster/metadata-cache';
import { CoordinatorClient } from '../shared/coordinator/client';
import { hasCode } from '../shared/coordinator/protocol';

/** The whole look-up (connect and reads) gives up after this when the coordinator accepts but does not answer. */
export const DISCOVERY_TIMEOUT_MS = 3000;

export interface RegisteredBroker {
  id: number;
  host: string;
  port: number;
  /** The broker's Prometheus endpoint (registered since issue 11), null when its metrics are off. */
  metricsUrl: string | null;
}

export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';
}

/** The urls of a `--coordinator` value (comma-separated). */
export function coordinatorUrls(servers: string): string[] {
  return servers.split(',').map((url) => url.trim()).filter(Boolean);
}

/** Live brokers registered in the coordinator at `servers`, by id; DiscoveryError when it cannot be read. */
export async function registeredBrokers(servers: string, timeoutMs = DISCOVERY_TIMEOUT_MS): Promise<RegisteredBroker[]> {
  const urls = coordinatorUrls(servers);
  if (urls.length === 0) throw new DiscoveryError('no coordinator URL given');
  const client = new CoordinatorClient({ servers: urls, requestTimeoutMs: timeoutMs, sessionTimeoutMs: 10_000 });
  // The client retries a refused connection until its timeout (right for a coordinator that is
  // restarting); a CLI looking for any way in gives up once every URL refused it.
  let refusals = 0;
  const refused = new Promise<never>((_resolve, reject) => {
    client.on('state', (state: string) => {
      if (state === 'disconnected' && ++refusals >= urls.length) reject(new DiscoveryError('could not connect'));
    });
  });
  refused.catch(() => undefined);
  try {
    await Promise.race([client.connect(), refused]).catch((error: unknown) => {
      throw error instanceof DiscoveryError ? error : new DiscoveryError(error instanceof Error ? error.message : String(error));
    });
    const ids = await client.getChildren(PATHS.brokerIds).then(
      (result) => result.children,
      (error: unknown) => {
        if (hasCode(error, 'NoNode')) return [];
        throw error;
      },
    );
    const brokers = await Promise.all(
      ids.map(async (id): Promise<RegisteredBroker | null> => {
        try {
          const parsed = JSON.parse((await client.getData(`${PATHS.brokerIds}/${id}`)).data) as { host?: unknown; port?: unknown; metricsUrl?: unknown };
          if (typeof parsed.host !== 'string' || typeof parsed.port !== 'number' || !Number.isInteger(Number(id))) return null;
          return { id: Number(id), host: parsed.host, port: parsed.port, metricsUrl: typeof parsed.metricsUrl === 'string' ? parsed.metricsUrl : null };
        } catch (error) {
          // Gone between the listing and the read (its session ended), or not a registration: not live.
          if (hasCode(error, 'NoNode') || error instanceof SyntaxError) return null;
          throw error;
        }
      }),
    );
    return brokers.filter((b): b is RegisteredBroker => b !== null).sort((a, b) => a.id - b.id);
  } catch (error) {
    throw error instanceof DiscoveryError ? error : new DiscoveryError(error instanceof Error ? error.message : String(error));
  } finally {
    await client.close();
  }
}
