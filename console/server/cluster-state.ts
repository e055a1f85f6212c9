/**
 * The console's live picture of the cluster: the brokers' own metadata cache (persistent
 * watches on /brokers, /controller, …; broker/cluster/metadata-cache.ts) run on the console's
 * coordinator session, plus the brokers seen live earlier, so a broker that dies stays on the
 * page as dead instead of vanishing.
 *
 * The session is the console's only tie to the coordinator: when it expires (the coordinator
 * was down longer than the session timeout) a new one is opened and the cache restarted on it,
 * with backoff, for as long as the console runs.
 */
import { EventEmitter } from 'events';
import type { BrokerEndpoint } from '../../broker/context';
import { ClusterSnapshot, MetadataCache } from '../../broker/cluster/metadata-cache';
import { CoordinatorClient } from '../../shared/coordinator/client';
import type { Logger } from '../../shared/logging';
import { buildOverview, Overview } from './overview';

/** No ephemeral nodes hang on the console's session: a long timeout only spares reconnect work. */
export const CONSOLE_SESSION_TIMEOUT_MS = 10_000;
const RESTART_BACKOFF_MAX_MS = 5000;

export class ClusterState extends EventEmitter {
  private client: CoordinatorClient;
  private readonly cache: MetadataCache;
  private readonly seen = new Map<number, BrokerEndpoint>();
  private current: Overview;
  private closed = false;

  constructor(
    private readonly servers: string[],
    private readonly logger: Logger,
  ) {
    super();
    this.client = this.newClient();
    this.cache = new MetadataCache(this.client, logger.child({ component: 'metadata' }));
    this.current = buildOverview(this.cache.view, this.seen);
    this.cache.on('change', (snapshot: ClusterSnapshot) => {
      for (const broker of snapshot.brokers) this.seen.set(broker.id, broker);
      this.current = buildOverview(snapshot, this.seen);
      this.emit('change', this.current);
    });
  }

  /** The coordinator session now in use (a new one after an expiry). */
  get coordinator(): CoordinatorClient {
    return this.client;
  }

  get view(): ClusterSnapshot {
    return this.cache.view;
  }

  get overview(): Overview {
    return this.current;
  }

  /** Connects and reads the tree once; rejects when the coordinator cannot be reached. */
  async start(): Promise<void> {
    await this.client.connect();
    await this.cache.start(this.client);
  }

  private newClient(): CoordinatorClient {
    const client = new CoordinatorClient({ servers: this.servers, sessionTimeoutMs: CONSOLE_SESSION_TIMEOUT_MS });
    client.on('state', (state: string) => {
      if (state === 'expired' && client === this.client && !this.closed) void this.restart();
    });
    return client;
  }

  private async restart(): Promise<void> {
    this.logger.warn({}, 'console.session_expired');
    for (let attempt = 0; !this.closed; attempt++) {
      const client = this.newClient();
      this.client = client;
      try {
        await client.connect();
        await this.cache.start(client);
        this.logger.info({ sessionId: client.sessionId }, 'console.session_renewed');
        return;
      } catch (error) {
        this.logger.warn({ err: error instanceof Error ? error.message : String(error), attempt }, 'console.session_retry');
        await client.close().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, Math.min(RESTART_BACKOFF_MAX_MS, 250 * 2 ** attempt)));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cache.stop();
    await this.client.close().catch(() => undefined);
  }
}
