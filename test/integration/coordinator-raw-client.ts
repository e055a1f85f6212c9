/**
 * A raw WebSocket client for the coordinator's integration tests: frames as the protocol
 * document describes them, no client library in between (so the server is tested alone).
 *
 * It speaks protocol 1 unless told otherwise: data as UTF-8 text, the form older clients use and
 * the server still accepts, so these tests also keep that form working. Protocol 2 (data as
 * base64) is `{ protocolVersion: 2 }` (coordinator-binary-data.test.ts).
 */
import { WebSocket } from 'ws';
import type { AuthInfo, ConnectedFrame, ErrorFrame, Operation, ResponseFrame, ServerFrame, WatchEventFrame } from '../../shared/coordinator/protocol';

type HandshakeOptions = { timeoutMs?: number; sessionId?: string; password?: string; lastZxid?: number; protocolVersion?: number; auth?: AuthInfo[] };

export class RawClient {
  readonly frames: ServerFrame[] = [];
  readonly events: WatchEventFrame[] = [];
  readonly errors: ErrorFrame[] = [];
  connected: ConnectedFrame | null = null;
  closeCode: number | null = null;
  readonly closed: Promise<number>;
  private nextXid = 1;
  private readonly pending = new Map<number, (frame: ResponseFrame) => void>();

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      });
    });
    socket.on('error', () => undefined);
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as ServerFrame;
      this.frames.push(frame);
      if (frame.type === 'connected') this.connected = frame;
      else if (frame.type === 'watch') this.events.push(frame);
      else if (frame.type === 'error') this.errors.push(frame);
      else if (frame.type === 'response') {
        const resolve = this.pending.get(frame.xid);
        this.pending.delete(frame.xid);
        resolve?.(frame);
      }
    });
  }

  /** Opens the socket only (no connect frame). */
  static async open(url: string): Promise<RawClient> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Opens the socket and does the handshake; resolves with the first server frame. */
  static async connect(url: string, options: HandshakeOptions = {}): Promise<RawClient> {
    const client = await RawClient.open(url);
    await client.handshake(options);
    return client;
  }

  async handshake(options: HandshakeOptions = {}): Promise<ServerFrame> {
    const frame: Record<string, unknown> = { type: 'connect', protocolVersion: options.protocolVersion ?? 1, timeoutMs: options.timeoutMs ?? 3000, lastZxid: options.lastZxid ?? 0 };
    if (options.sessionId !== undefined) {
      frame.sessionId = options.sessionId;
      frame.password = options.password;
    }
    if (options.auth !== undefined) frame.auth = options.auth;
    const first = this.nextFrame();
    this.socket.send(JSON.stringify(frame));
    return first;
  }

  /** The next frame the server sends (or rejects when the socket closes first). */
  nextFrame(): Promise<ServerFrame> {
    const seen = this.frames.length;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.frames.length > seen) {
          this.socket.off('message', onMessage);
          resolve(this.frames[seen]);
        }
      };
      const onMessage = () => setImmediate(check);
      this.socket.on('message', onMessage);
      void this.closed.then(() => setImmediate(() => {
        check();
        reject(new Error(`socket closed (${this.closeCode})`));
      }));
    });
  }

  request<R = unknown>(request: Operation | Record<string, unknown>): Promise<ResponseFrame<R>> {
    const xid = this.nextXid++;
    return this.sendRaw({ type: 'request', xid, request }, xid) as Promise<ResponseFrame<R>>;
  }

  /** Sends any object as a frame and waits for the response with `xid`. */
  sendRaw(frame: unknown, xid: number): Promise<ResponseFrame> {
    return new Promise((resolve, reject) => {
      this.pending.set(xid, resolve);
      this.socket.send(JSON.stringify(frame));
      void this.closed.then(() => {
        if (this.pending.delete(xid)) reject(new Error(`socket closed (${this.closeCode}) before response ${xid}`));
      });
    });
  }

  async ok<R = unknown>(request: Operation): Promise<R> {
    const response = await this.request<R>(request);
    if (!response.ok) throw new Error(`${response.error.code}: ${response.error.message} ${response.error.path ?? ''}`);
    return response.result;
  }

  terminate(): void {
    this.socket.terminate();
  }
}
