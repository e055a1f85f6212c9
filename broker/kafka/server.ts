/**
 * The broker's Kafka protocol server: TCP on the broker port, one FrameReader per connection,
 * requests decoded with the schema-driven codec and handed to one handler per API.
 *
 * - Responses go out in request order even when handlers finish out of order (clients pipeline).
 * - A frame larger than socket.request.max.bytes closes the connection before anything of it is
 *   buffered; an undecodable request, an unknown API, or an unadvertised version closes the
 *   connection (what Kafka does) — except ApiVersions, which answers UNSUPPORTED_VERSION in the
 *   v0 layout so clients (librdkafka) can retry with a version the broker speaks.
 * - Past inFlightRequestsPerConnectionMax pending requests, the socket is paused (backpressure).
 * - A handler's unexpected exception closes that connection only; the broker keeps serving.
 */
import * as net from 'net';
import type { Logger } from '../../shared/logging';
import { advertisedRange, ApiKey } from '../../shared/kafka/api-keys';
import { decodeRequest, decodeRequestHeader, encodeResponse, KafkaCodecError, peekRequestHeader } from '../../shared/kafka/codec';
import { KafkaError } from '../../shared/kafka/errors';
import { FrameReader, FrameTooLargeError } from '../../shared/kafka/framing';
import type { BrokerContext } from '../context';
import { HANDLERS } from './dispatch';
import { apiVersionsBody } from './handlers/api-versions';

/** Open connections at most; more are refused at accept. */
const CONNECTIONS_MAX = 10_000;

export interface KafkaServerOptions {
  hosts: string[];
  port: number;
}

export class KafkaServer {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly logger: Logger;
  private closeSignal!: () => void;
  private readonly closing = new Promise<void>((resolve) => (this.closeSignal = resolve));

  constructor(
    private readonly context: BrokerContext,
    private readonly options: KafkaServerOptions,
    logger: Logger,
  ) {
    this.logger = logger.child({ component: 'kafka' });
  }

  /** Listens on every host; resolves with the port (useful with port 0). */
  async listen(): Promise<number> {
    let port = this.options.port;
    for (const host of this.options.hosts) {
      const server = net.createServer((socket) => this.onConnection(socket));
      server.maxConnections = CONNECTIONS_MAX;
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
    this.logger.info({ hosts: this.options.hosts, port }, 'kafka.listening');
    return port;
  }

  async close(): Promise<void> {
    this.closeSignal();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const reader = new FrameReader(this.context.settings.socketRequestMaxBytes);
    const pending: Array<{ done: boolean; response: Buffer | null }> = [];
    let closed = false;
    const inFlightMax = this.context.settings.inFlightRequestsPerConnectionMax;

    const shut = (reason: string, details: object = {}): void => {
      if (closed) return;
      closed = true;
      this.logger.debug({ peer, reason, ...details }, 'kafka.connection_closed');
      socket.destroy();
    };

    const flush = (): void => {
      while (pending.length > 0 && pending[0]!.done) {
        const { response } = pending.shift()!;
        if (response !== null && !closed) socket.write(response);
      }
      if (socket.isPaused() && pending.length < inFlightMax && !closed) socket.resume();
    };

    const handleFrame = (frame: Buffer): void => {
      const peek = peekRequestHeader(frame);
      if (peek === null) return shut('short header');
      const { apiKey, apiVersion, correlationId } = peek;
      const range = advertisedRange(apiKey);
      const slot = { done: false, response: null as Buffer | null };
      if (apiKey === ApiKey.ApiVersions && (range === undefined || apiVersion < range.minVersion || apiVersion > range.maxVersion)) {
        // Answer in the v0 layout with UNSUPPORTED_VERSION and the list, so the client retries.
        slot.done = true;
        slot.response = encodeResponse(ApiKey.ApiVersions, 0, correlationId, apiVersionsBody(KafkaError.UNSUPPORTED_VERSION));
        pending.push(slot);
        return flush();
      }
      const handler = HANDLERS.get(apiKey);
      if (range === undefined || handler === undefined || apiVersion < range.minVersion || apiVersion > range.maxVersion) {
        return shut('unsupported api or version', { apiKey, apiVersion });
      }
      let request: unknown;
      try {
        const header = decodeRequestHeader(frame);
        request = decodeRequest(apiKey, apiVersion, frame, header.bodyOffset);
      } catch (error) {
        if (error instanceof KafkaCodecError) return shut('malformed request', { apiKey, apiVersion, err: error.message });
        throw error;
      }
      pending.push(slot);
      if (pending.length >= inFlightMax) socket.pause();
      Promise.resolve()
        .then(() => handler({ context: this.context, version: apiVersion, request, closing: this.closing }))
        .then(
          (body) => {
            slot.response = body === null ? null : encodeResponse(apiKey, apiVersion, correlationId, body);
            slot.done = true;
            flush();
          },
          (error: unknown) => {
            this.logger.error({ peer, apiKey, apiVersion, err: error }, 'kafka.handler_failed');
            shut('handler failed');
          },
        );
    };

    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      reader.push(chunk);
      try {
        for (let frame = reader.next(); frame !== null && !closed; frame = reader.next()) handleFrame(frame);
      } catch (error) {
        if (error instanceof FrameTooLargeError) return shut('frame too large', { size: error.size, limit: error.limit });
        this.logger.error({ peer, err: error }, 'kafka.connection_error');
        shut('internal error');
      }
    });
    socket.on('error', (error) => this.logger.debug({ peer, err: error.message }, 'kafka.socket_error'));
    socket.on('close', () => {
      closed = true;
      this.sockets.delete(socket);
    });
  }
}
