/**
 * KafkaConnection over a real socket. The peer is a small scripted TCP server on 127.0.0.1
 * (built on the same codec) so the test controls answer order, silence and bad frames — things
 * a real broker will not do on demand. Behaviour against the real broker is covered by
 * test/integration/kafka-server.test.ts and e2e-cluster.test.ts.
 */
import * as net from 'net';
import { ApiKey } from '../../../shared/kafka/api-keys';
import { KafkaConnection, KafkaConnectionError } from '../../../shared/kafka/client';
import { decodeRequest, decodeRequestHeader, encodeResponse } from '../../../shared/kafka/codec';
import { FrameReader } from '../../../shared/kafka/framing';

interface Received {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  body: Record<string, unknown>;
  socket: net.Socket;
}

/** Collects decoded requests; the test decides when and how to answer. */
async function scriptedServer(): Promise<{ port: number; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const reader = new FrameReader(1 << 20);
    socket.on('data', (chunk) => {
      reader.push(chunk);
      for (let frame = reader.next(); frame !== null; frame = reader.next()) {
        const header = decodeRequestHeader(frame);
        received.push({ ...header, body: decodeRequest(header.apiKey, header.apiVersion, frame, header.bodyOffset), socket });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const metadataAnswer = (name: string) => ({ brokers: [], clusterId: null, controllerId: 1, topics: [{ errorCode: 0, name, isInternal: false, partitions: [] }] });

describe('KafkaConnection', () => {
  let server: Awaited<ReturnType<typeof scriptedServer>>;
  const open: KafkaConnection[] = [];
  beforeEach(async () => {
    server = await scriptedServer();
  });
  afterEach(async () => {
    for (const connection of open.splice(0)) connection.close();
    await server.close();
  });
  const connect = async (options = {}): Promise<KafkaConnection> => {
    const connection = await KafkaConnection.connect('127.0.0.1', server.port, { clientId: 'tester', ...options });
    open.push(connection);
    return connection;
  };

  test('pipelined requests resolve by correlation id even when answered out of order', async () => {
    const connection = await connect();
    const first = connection.request(ApiKey.Metadata, 4, { topics: [{ name: 'a' }], allowAutoTopicCreation: false });
    const second = connection.request(ApiKey.Metadata, 4, { topics: [{ name: 'b' }], allowAutoTopicCreation: false });
    await until(() => server.received.length === 2);
    const [a, b] = server.received as [Received, Received];
    expect(a).toMatchObject({ apiKey: ApiKey.Metadata, apiVersion: 4, clientId: 'tester', body: { topics: [{ name: 'a' }] } });
    expect(b.correlationId).not.toBe(a.correlationId);
    b.socket.write(encodeResponse(ApiKey.Metadata, 4, b.correlationId, metadataAnswer('b')));
    a.socket.write(encodeResponse(ApiKey.Metadata, 4, a.correlationId, metadataAnswer('a')));
    expect((await first).topics[0].name).toBe('a');
    expect((await second).topics[0].name).toBe('b');
    expect(connection.inFlight).toBe(0);
  });

  test('negotiate returns the advertised ranges by api key', async () => {
    const connection = await connect();
    const ranges = connection.negotiate();
    await until(() => server.received.length === 1);
    const request = server.received[0]!;
    expect(request.apiKey).toBe(ApiKey.ApiVersions);
    request.socket.write(encodeResponse(ApiKey.ApiVersions, request.apiVersion, request.correlationId, { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 7 }] }));
    expect(await ranges).toEqual(new Map([[0, { min: 3, max: 7 }]]));
  });

  test('send() writes a request that expects no answer', async () => {
    const connection = await connect();
    connection.send(ApiKey.Produce, 7, { acks: 0, timeoutMs: 100, topicData: [] });
    await until(() => server.received.length === 1);
    expect(server.received[0]).toMatchObject({ apiKey: ApiKey.Produce, body: { acks: 0, timeoutMs: 100 } });
    expect(connection.inFlight).toBe(0);
  });

  test('an unanswered request times out; a late answer is ignored', async () => {
    const connection = await connect({ requestTimeoutMs: 50 });
    const silent = connection.request(ApiKey.Metadata, 4, { topics: [] });
    await expect(silent).rejects.toThrow(KafkaConnectionError);
    expect(connection.inFlight).toBe(0);
    const late = server.received[0]!;
    late.socket.write(encodeResponse(ApiKey.Metadata, 4, late.correlationId, metadataAnswer('late')));
    // The connection still works afterwards.
    const next = connection.request(ApiKey.Metadata, 4, { topics: [] });
    await until(() => server.received.length === 2);
    const second = server.received[1]!;
    second.socket.write(encodeResponse(ApiKey.Metadata, 4, second.correlationId, metadataAnswer('next')));
    expect((await next).topics[0].name).toBe('next');
  });

  test('close() and a peer hang-up reject everything pending; later requests reject at once', async () => {
    const connection = await connect();
    const pending = [connection.request(ApiKey.Metadata, 4, { topics: [] }), connection.request(ApiKey.Metadata, 4, { topics: [] })];
    connection.close();
    for (const p of pending) await expect(p).rejects.toThrow(KafkaConnectionError);
    await expect(connection.request(ApiKey.Metadata, 4, {})).rejects.toThrow(KafkaConnectionError);
    expect(() => connection.send(ApiKey.Produce, 7, {})).toThrow(KafkaConnectionError);

    const other = await connect();
    const waiting = other.request(ApiKey.Metadata, 4, { topics: [] });
    await until(() => server.received.length === 3);
    server.received[2]!.socket.destroy();
    await expect(waiting).rejects.toThrow(KafkaConnectionError);
    expect(other.isClosed).toBe(true);
  });

  test('an oversized frame from the peer fails the connection instead of buffering it', async () => {
    const connection = await connect({ maxFrameBytes: 1000 });
    const waiting = connection.request(ApiKey.Metadata, 4, { topics: [] });
    await until(() => server.received.length === 1);
    const size = Buffer.alloc(4);
    size.writeInt32BE(2 ** 30, 0);
    server.received[0]!.socket.write(size);
    await expect(waiting).rejects.toThrow();
    expect(connection.isClosed).toBe(true);
  });

  test('connecting to a closed port fails with KafkaConnectionError', async () => {
    const port = server.port;
    await server.close();
    await expect(KafkaConnection.connect('127.0.0.1', port, { connectTimeoutMs: 1000 })).rejects.toThrow(KafkaConnectionError);
    server = await scriptedServer(); // afterEach closes it
  });
});
