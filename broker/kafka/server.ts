/**
 * The broker's Kafka protocol server: TCP on the broker port, one FrameReader per connection,
 * requests decoded with the schema-driven codec and handed to one handler per API.
 *
 * - Responses go out in request order even when handlers finish out of order (clients pipeline).
 * - A frame larger than socket.request.max.bytes closes the connection before anything of it is
 *   buffered; an undecodable request, an unknown API, or an unadvertised version closes the
 *   connection (what Kafka does) — except ApiVersions, which answers UNSUPPORTED_VERSION in the
 *   v0 layout so clients (librdkafka) can retry with a version the broker speaks.
 * - Reading a connection stops (socket.pause) while it has inFlightRequestsPerConnectionMax
 *   requests unanswered, or more than connectionUnsentResponseBytesMax response bytes the client
 *   has not taken yet (a slow reader makes the broker buffer one response's worth, not without
 *   bound); it resumes on 'drain'. Frames already received wait in the FrameReader meanwhile.
 * - Readiness: the port is bound early (registration needs it), but no request is read until
 *   markReady() (the metadata cache is loaded): before that a restarted broker would answer
 *   "no brokers, no topics" and auto-create topics that exist. Connections accepted meanwhile
 *   are paused (their requests wait in the kernel's buffers: bounded), and closed if the broker
 *   is still not ready after READINESS_HOLD_MAX_MS.
 * - Limits (broker/config.ts): max.connections and max.connections.per.ip at accept (refused
 *   connections are closed and logged, at most one line per reason per LOG_INTERVAL_MS),
 *   connections.max.idle.ms, and requestReadTimeoutMs for a request to arrive whole once its
 *   first byte has (a request trickled a byte a second does not hold a connection forever).
 * - A handler's unexpected exception closes that connection only; the broker keeps serving.
 */
import * as net from 'net';
import { Clock, systemClock } from '../../shared/clock';
import type { Logger } from '../../shared/logging';
import { advertisedRange, ApiKey } from '../../shared/kafka/api-keys';
import { decodeRequest, decodeRequestHeader, encodeResponseChunks, KafkaCodecError, peekRequestHeader } from '../../shared/kafka/codec';
import { KafkaError } from '../../shared/kafka/errors';
import { FrameReader, FrameTooLargeError } from '../../shared/kafka/framing';
import type { BrokerConfig } from '../config';
import type { BrokerContext } from '../context';
import type { RequestObserver } from '../metrics/broker-metrics';
import { ClientSoftwareTally, validClientSoftware } from './client-software';
import { ConnectionActivity, ConnectionTable, expiry, LogLimiter, sweepIntervalMs } from './connection-limits';
import { HANDLERS } from './dispatch';
import { apiVersionsBody, LISTED_BELOW_SERVED } from './handlers/api-versions';
import { unsupportedProduceBody } from './handlers/produce';

/** A connection accepted before markReady() is closed if the broker is not ready this long after. */
export const READINESS_HOLD_MAX_MS = 30_000;
/** Refused-connection log lines: at most one per reason per interval. */
const LOG_INTERVAL_MS = 10_000;

/** What the server reads of the broker's configuration. */
export type KafkaServerConfig = Pick<
  BrokerConfig,
  'hosts' | 'port' | 'maxConnections' | 'maxConnectionsPerIp' | 'connectionsMaxIdleMs' | 'requestReadTimeoutMs' | 'connectionUnsentResponseBytesMax' | 'socketRequestMaxBytes' | 'inFlightRequestsPerConnectionMax'
>;

interface Connection extends ConnectionActivity {
  socket: net.Socket;
  acceptedMs: number;
  /** Re-evaluates whether to read (after readiness, a response, a drain). */
  flow(): void;
  shut(reason: string, details?: object): void;
}

export class KafkaServer {
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<Connection>();
  private readonly table: ConnectionTable;
  private readonly refusals = new LogLimiter(LOG_INTERVAL_MS);
  private readonly logger: Logger;
  /** Client software per connection (ApiVersions v3+), for metrics and the console: clientSoftware.snapshot(). */
  readonly clientSoftware = new ClientSoftwareTally();
  private sweepTimer: NodeJS.Timeout | null = null;
  private ready = false;

  constructor(
    private readonly context: BrokerContext,
    private readonly config: Readonly<BrokerConfig>,
    logger: Logger,
    private readonly clock: Clock = systemClock,
    /** Per-request counts, latency and error codes (broker/metrics); null = none. */
    private readonly observer: RequestObserver | null = null,
  ) {
    this.logger = logger.child({ component: 'kafka' });
    this.table = new ConnectionTable(config);
  }

  /** Listens on every host; resolves with the port (useful with port 0). Requests wait for markReady(). */
  async listen(): Promise<number> {
    let port = this.config.port;
    for (const host of this.config.hosts) {
      const server = net.createServer((socket) => this.onConnection(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host, port }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (host.includes(':') && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT' || code === 'EINVAL')) {
          this.logger.info({ host, code }, 'kafka.listen_skipped');
          continue;
        }
        await this.close();
        throw error;
      }
      port = (server.address() as net.AddressInfo).port;
      server.on('error', (error) => this.logger.error({ err: error }, 'kafka.server_error'));
      this.servers.push(server);
    }
    this.sweepTimer = setInterval(() => this.sweep(), sweepIntervalMs(this.config));
    this.sweepTimer.unref();
    this.logger.info({ hosts: this.config.hosts, port }, 'kafka.listening');
    return port;
  }

  /** The broker knows the cluster: start reading requests (held connections go first). */
  markReady(): void {
    if (this.ready) return;
    this.ready = true;
    this.logger.info({ held: this.connections.size }, 'kafka.ready');
    for (const connection of this.connections) connection.flow();
  }

  async close(): Promise<void> {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    // net.Server.close calls back only once every connection has ended: stop listening, cut
    // the open connections, then wait (awaiting first hung for as long as a client stayed).
    const closed = Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const connection of this.connections) connection.socket.destroy();
    this.connections.clear();
    await closed;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const connection of this.connections) {
      if (!this.ready) {
        if (now - connection.acceptedMs >= READINESS_HOLD_MAX_MS) connection.shut('broker not ready');
        continue;
      }
      const reason = expiry(connection, now, this.config);
      if (reason !== null) connection.shut(reason, { idleMs: now - connection.lastActiveMs });
    }
  }

  private onConnection(socket: net.Socket): void {
    const ip = socket.remoteAddress ?? 'unknown';
    const admission = this.table.admit(ip);
    if (admission !== 'accepted') {
      socket.destroy();
      const log = this.refusals.take(admission, this.clock.now());
      if (log !== null) this.logger.warn({ ip, limit: admission, open: this.table.size, suppressed: log.suppressed }, 'kafka.connection_refused');
      return;
    }
    socket.setNoDelay(true);
    const peer = `${ip}:${socket.remotePort}`;
    const reader = new FrameReader(this.config.socketRequestMaxBytes);
    const pending: Array<{ done: boolean; response: Buffer[] | null }> = [];
    const inFlightMax = this.config.inFlightRequestsPerConnectionMax;
    const unsentMax = this.config.connectionUnsentResponseBytesMax;
    let closed = false;
    // This connection's entry in clientSoftware, once it has said what it is.
    let software: string | null = null;
    // Bytes received and bytes consumed as whole frames: a difference is a request half-received.
    let received = 0;
    let consumed = 0;
    const now = this.clock.now();

    const connection: Connection = {
      socket,
      acceptedMs: now,
      lastActiveMs: now,
      partialSinceMs: null,
      inFlight: 0,
      flow: () => flow(),
      shut: (reason, details) => shut(reason, details),
    };
    this.connections.add(connection);

    const shut = (reason: string, details: object = {}): void => {
      if (closed) return;
      closed = true;
      this.logger.debug({ peer, reason, ...details }, 'kafka.connection_closed');
      socket.destroy();
    };

    /** ApiVersions v3+ names the client software: counted once per connection (the latest wins). */
    const noteSoftware = ({ clientSoftwareName: name, clientSoftwareVersion: version }: { clientSoftwareName: string; clientSoftwareVersion: string }, clientId: string | null): void => {
      if (!validClientSoftware(name, version)) return; // answered INVALID_REQUEST (handlers/api-versions.ts)
      if (software !== null) this.clientSoftware.release(software);
      software = this.clientSoftware.record(name, version);
      this.logger.debug({ peer, clientId, clientSoftwareName: name, clientSoftwareVersion: version }, 'kafka.client_software');
    };

    /** Why reading must stop now, or null to read. */
    const stopReading = (): string | null => {
      if (!this.ready) return 'not ready';
      if (pending.length >= inFlightMax) return 'in flight';
      if (socket.writableLength > unsentMax) return 'unsent responses';
      return null;
    };

    // Responses finished in the same turn of the event loop (several acks=all produces released
    // by one follower fetch, the pieces of one frame with their record sets referenced, not
    // copied) leave in one writev: the socket stays corked until the turn ends. Writes are
    // most of a busy broker's CPU; this costs no latency (nextTick runs before any I/O).
    let corked = false;
    const uncork = (): void => {
      corked = false;
      socket.uncork();
    };
    const flush = (): void => {
      while (pending.length > 0 && pending[0]!.done) {
        const { response } = pending.shift()!;
        if (response !== null && !closed) {
          if (!corked) {
            corked = true;
            socket.cork();
            process.nextTick(uncork);
          }
          for (const piece of response) socket.write(piece);
          connection.lastActiveMs = this.clock.now();
        }
      }
      connection.inFlight = pending.length;
      flow();
    };

    const handleFrame = (frame: Buffer): void => {
      const peek = peekRequestHeader(frame);
      if (peek === null) return shut('short header');
      const { apiKey, apiVersion, correlationId } = peek;
      const range = advertisedRange(apiKey);
      const slot = { done: false, response: null as Buffer[] | null };
      if (apiKey === ApiKey.ApiVersions && (range === undefined || apiVersion < range.minVersion || apiVersion > range.maxVersion)) {
        // Answer in the v0 layout with UNSUPPORTED_VERSION and the list, so the client retries.
        slot.done = true;
        slot.response = encodeResponseChunks(ApiKey.ApiVersions, 0, correlationId, apiVersionsBody(KafkaError.UNSUPPORTED_VERSION));
        pending.push(slot);
        return flush();
      }
      const listedBelow = LISTED_BELOW_SERVED.get(apiKey);
      if (range !== undefined && listedBelow !== undefined && apiVersion >= listedBelow && apiVersion < range.minVersion) {
        // Listed (for librdkafka's feature detection) but not served: a clear error per partition.
        let body: object | null;
        try {
          body = unsupportedProduceBody(decodeRequest(apiKey, apiVersion, frame, decodeRequestHeader(frame).bodyOffset));
        } catch (error) {
          if (error instanceof KafkaCodecError) return shut('malformed request', { apiKey, apiVersion, err: error.message });
          throw error;
        }
        slot.done = true;
        slot.response = body === null ? null : encodeResponseChunks(apiKey, apiVersion, correlationId, body);
        pending.push(slot);
        return flush();
      }
      const handler = HANDLERS.get(apiKey);
      if (range === undefined || handler === undefined || apiVersion < range.minVersion || apiVersion > range.maxVersion) {
        return shut('unsupported api or version', { apiKey, apiVersion });
      }
      let request: unknown;
      let clientId: string | null;
      try {
        const header = decodeRequestHeader(frame);
        clientId = header.clientId;
        request = decodeRequest(apiKey, apiVersion, frame, header.bodyOffset);
      } catch (error) {
        if (error instanceof KafkaCodecError) return shut('malformed request', { apiKey, apiVersion, err: error.message });
        throw error;
      }
      if (apiKey === ApiKey.ApiVersions && apiVersion >= 3) noteSoftware(request as { clientSoftwareName: string; clientSoftwareVersion: string }, clientId);
      pending.push(slot);
      connection.inFlight = pending.length;
      const observer = this.observer;
      const startedMs = observer === null ? 0 : observer.now();
      Promise.resolve()
        .then(() => handler({ context: this.context, config: this.config, version: apiVersion, request, client: { id: clientId, host: ip } }))
        .then(
          (body) => {
            slot.response = body === null ? null : encodeResponseChunks(apiKey, apiVersion, correlationId, body);
            slot.done = true;
            observer?.requestDone(apiKey, apiVersion, request, body, startedMs);
            flush();
          },
          (error: unknown) => {
            this.logger.error({ peer, apiKey, apiVersion, err: error }, 'kafka.handler_failed');
            shut('handler failed');
          },
        );
    };

    /** Handles the whole frames received, as long as reading is allowed. */
    const drainFrames = (): void => {
      try {
        while (!closed && stopReading() === null) {
          const frame = reader.next();
          if (frame === null) break;
          consumed += frame.length + 4;
          handleFrame(frame);
        }
      } catch (error) {
        if (error instanceof FrameTooLargeError) return shut('frame too large', { size: error.size, limit: error.limit });
        this.logger.error({ peer, err: error }, 'kafka.connection_error');
        return shut('internal error');
      }
      // Only a frame the client has not finished sending counts, not frames waiting on us.
      if (received === consumed || stopReading() !== null) connection.partialSinceMs = null;
      else if (connection.partialSinceMs === null) connection.partialSinceMs = this.clock.now();
    };

    let draining = false;
    const flow = (): void => {
      if (closed || draining) return;
      draining = true;
      try {
        drainFrames();
      } finally {
        draining = false;
      }
      if (closed) return;
      const stop = stopReading();
      if (stop !== null && !socket.isPaused()) socket.pause();
      else if (stop === null && socket.isPaused()) socket.resume();
    };

    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      connection.lastActiveMs = this.clock.now();
      received += chunk.length;
      reader.push(chunk);
      flow();
    });
    socket.on('drain', () => {
      connection.lastActiveMs = this.clock.now(); // the client took its responses: not idle
      flow();
    });
    socket.on('error', (error) => this.logger.debug({ peer, err: error.message }, 'kafka.socket_error'));
    socket.on('close', () => {
      closed = true;
      if (software !== null) this.clientSoftware.release(software);
      software = null;
      this.connections.delete(connection);
      this.table.release(ip);
    });
    flow();
  }
}
