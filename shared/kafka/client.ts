/**
 * A lean Kafka protocol connection built on the codec: pipelined requests with correlation
 * ids, per-request timeouts, and acks=0 sends. Used by the CLI, the benchmark's producer and
 * (with replication) the follower fetcher. Not a full client: no metadata cache, no retries.
 */
import * as net from 'net';
import { decodeResponse, encodeRequest } from './codec';
import { FrameReader } from './framing';

export interface KafkaConnectionOptions {
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxFrameBytes?: number;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class KafkaConnectionError extends Error {
  override readonly name = 'KafkaConnectionError';
}

export class KafkaConnection {
  /**
   * Requests awaiting their response, in the order sent: a Kafka broker answers a connection's
   * requests in order, so the response is almost always for the first. An array, not a Map by
   * correlation id: a long-lived Map under add/delete churn rehashes into new old-generation
   * tables whose obsolete predecessors keep finished requests alive until a major collection
   * (see broker/purgatory.ts); the array's removed slots are cleared.
   */
  private readonly pending: Pending[] = [];
  private readonly reader: FrameReader;
  private nextCorrelationId = 1;
  private closed = false;
  private corked = false;
  /** Frames written in one tick leave in one syscall (cork until the next tick). */
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private constructor(
    private readonly socket: net.Socket,
    private readonly options: Required<KafkaConnectionOptions>,
    readonly address: string,
  ) {
    this.reader = new FrameReader(options.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new KafkaConnectionError(`${address}: ${error.message}`)));
    socket.on('close', () => this.fail(new KafkaConnectionError(`${address}: connection closed`)));
  }

  static connect(host: string, port: number, options: KafkaConnectionOptions = {}): Promise<KafkaConnection> {
    const full: Required<KafkaConnectionOptions> = {
      clientId: options.clientId ?? 'samsa',
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      maxFrameBytes: options.maxFrameBytes ?? 100 * 1024 * 1024,
    };
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KafkaConnectionError(`could not connect to ${host}:${port} within ${full.connectTimeoutMs} ms`));
      }, full.connectTimeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new KafkaConnectionError(`could not connect to ${host}:${port}: ${error.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new KafkaConnection(socket, full, `${host}:${port}`));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get inFlight(): number {
    return this.pending.length;
  }

  request<T = any>(apiKey: number, apiVersion: number, body: object): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (this.closed) return Promise.reject(new KafkaConnectionError(`${this.address}: connection closed`));
    const correlationId = this.nextCorrelationId++ & 0x7fffffff;
    const frame = encodeRequest(apiKey, apiVersion, correlationId, this.options.clientId, body);
    return new Promise<T>((resolve, reject) => {
      // Unref'd, as the purgatory's (see there): the socket keeps the process alive while it waits.
      const timer = setTimeout(() => {
        const index = this.pending.indexOf(pending);
        if (index >= 0) this.pending.splice(index, 1);
        reject(new KafkaConnectionError(`${this.address}: no response to api ${apiKey} within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs).unref();
      const pending: Pending = { correlationId, apiKey, apiVersion, resolve: resolve as (body: unknown) => void, reject, timer };
      this.pending.push(pending);
      this.write(frame);
    });
  }

  /** A request the broker does not answer (Produce with acks=0). */
  send(apiKey: number, apiVersion: number, body: object): void {
    if (this.closed) throw new KafkaConnectionError(`${this.address}: connection closed`);
    this.write(encodeRequest(apiKey, apiVersion, this.nextCorrelationId++ & 0x7fffffff, this.options.clientId, body));
  }

  private write(frame: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(frame);
  }

  /** ApiVersions v0: the broker's advertised ranges. */
  async negotiate(): Promise<Map<number, { min: number; max: number }>> {
    const response = await this.request<{ errorCode: number; apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }> }>(18, 0, {});
    return new Map(response.apiKeys.map((entry) => [entry.apiKey, { min: entry.minVersion, max: entry.maxVersion }]));
  }

  close(): void {
    if (this.closed) return;
    this.socket.end();
    this.socket.destroy();
    this.fail(new KafkaConnectionError(`${this.address}: connection closed`));
  }

  private onData(chunk: Buffer): void {
    this.reader.push(chunk);
    try {
      for (let frame = this.reader.next(); frame !== null; frame = this.reader.next()) {
        const correlationId = frame.readInt32BE(0);
        // Almost always the first; out of order (or for a request that timed out), looked for.
        const index = this.pending[0]?.correlationId === correlationId ? 0 : this.pending.findIndex((candidate) => candidate.correlationId === correlationId);
        if (index < 0) continue;
        const pending = index === 0 ? this.pending.shift()! : this.pending.splice(index, 1)[0]!;
        clearTimeout(pending.timer);
        try {
          pending.resolve(decodeResponse(pending.apiKey, pending.apiVersion, frame).body);
        } catch (error) {
          pending.reject(error as Error);
        }
      }
    } catch (error) {
      this.fail(error as Error);
      this.socket.destroy();
    }
  }

  private fail(error: Error): void {
    this.closed = true;
    for (const pending of this.pending.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
  }
}
