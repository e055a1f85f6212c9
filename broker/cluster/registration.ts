/**
 * Broker registration: the ephemeral /brokers/ids/<id> znode with the endpoint clients are told.
 * A registration left by this broker's own previous, crashed incarnation disappears when its
 * session expires, so a restart waits up to one session timeout for it; a registration that
 * outlives that wait belongs to a live broker, and starting is refused.
 */
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { hasCode } from '../../shared/coordinator/protocol';
import type { Logger } from '../../shared/logging';
import { PATHS } from './metadata-cache';
import { Clock, systemClock } from '../../shared/clock';

export class BrokerIdTakenError extends Error {
  override readonly name = 'BrokerIdTakenError';
}

export async function registerBroker(
  client: CoordinatorClient,
  id: number,
  endpoint: { host: string; port: number; rack: string | null; metricsUrl?: string | null },
  waitMs: number,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<void> {
  const path = `${PATHS.brokerIds}/${id}`;
  const data = JSON.stringify({ ...endpoint, startedAt: new Date(clock.now()).toISOString() });
  const deadline = clock.now() + waitMs;
  let waited = false;
  for (;;) {
    try {
      await client.create(path, data, { mode: 'ephemeral', createParents: true });
      logger.info({ ...endpoint }, 'broker.registered');
      return;
    } catch (error) {
      if (!hasCode(error, 'NodeExists')) throw error;
    }
    const stat = await client.exists(path);
    if (stat !== null && stat.ephemeralOwner === client.sessionId) return;
    if (clock.now() >= deadline) {
      throw new BrokerIdTakenError(`broker id ${id} is already registered by a live session (${stat?.ephemeralOwner ?? 'unknown'})`);
    }
    if (!waited) logger.warn({ owner: stat?.ephemeralOwner }, 'broker.id_taken_waiting');
    waited = true;
    // Wait for the registration to go (its session expiring), bounded by the deadline.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - clock.now()));
      client.exists(path, () => {
        clearTimeout(timer);
        resolve();
      }).then((current) => {
        if (current === null) {
          clearTimeout(timer);
          resolve();
        }
      }, () => resolve());
    });
  }
}
