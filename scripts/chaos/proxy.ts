/**
 * A TCP proxy between one broker and the coordinator, owned by the chaos run: cutting it
 * drops the broker's coordinator connections and refuses new ones until healed, which cuts
 * that broker off from the coordinator (its session expires) while clients still reach it.
 * Without root there is no iptables; a proxy per broker does the same for one link.
 */
import * as net from 'net';

export class CoordinatorProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<net.Socket>();
  private cut = false;
  port = 0;

  constructor(private readonly upstreamPort: number) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  get isCut(): boolean {
    return this.cut;
  }

  /** Drops every open connection and refuses new ones (accepted and closed at once). */
  cutOff(): void {
    this.cut = true;
    for (const socket of this.pairs) socket.destroy();
    this.pairs.clear();
  }

  heal(): void {
    this.cut = false;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    this.cutOff();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port: this.upstreamPort });
    this.pairs.add(client);
    this.pairs.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(client);
      this.pairs.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
