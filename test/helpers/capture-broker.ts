/**
 * A one-partition stand-in broker that records the batches a real producer sends, so tests
 * can get librdkafka's own compressed output (raw snappy, LZ4 frames, gzip, zstd).
 *
 * Why not the real broker: librdkafka 2.0.2 (the kcat here) compresses gzip, snappy and lz4
 * only if the broker's ApiVersions lists Produce version 0 (librdkafka issue #4956, the
 * reason for KAFKA-18659) and, for lz4, FindCoordinator; otherwise it sends them
 * uncompressed. This stand-in advertises both (and Fetch, without which librdkafka falls back
 * to message format v0). It answers ApiVersions, Metadata (itself as
 * the leader of every named topic's partition 0) and Produce (acknowledged, offsets counted).
 */
import * as net from 'net';
import { decodeRequest, decodeRequestHeader, encodeResponse, peekRequestHeader } from '../../shared/kafka/codec';
import { FrameReader } from '../../shared/kafka/framing';

const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const API_VERSIONS = [
  { apiKey: 0, minVersion: 0, maxVersion: 7 }, // Produce
  { apiKey: 1, minVersion: 4, maxVersion: 11 }, // Fetch: never called, listed for librdkafka's MsgVer2 check
  { apiKey: 3, minVersion: 1, maxVersion: 4 }, // Metadata
  { apiKey: 10, minVersion: 0, maxVersion: 0 }, // FindCoordinator: never called, listed for librdkafka's LZ4 check
  { apiKey: 18, minVersion: 0, maxVersion: 3 }, // ApiVersions
];

export interface CaptureBroker {
  port: number;
  /** Every Produce `records` field received, in order, per topic. */
  batches: Map<string, Buffer[]>;
  close(): Promise<void>;
}

export async function startCaptureBroker(): Promise<CaptureBroker> {
  const batches = new Map<string, Buffer[]>();
  const sockets = new Set<net.Socket>();
  let port = 0;
  let nextOffset = 0n;
  const answer = (frame: Buffer): Buffer => {
    const peek = peekRequestHeader(frame)!;
    if (peek.apiKey === 18) return encodeResponse(18, Math.min(peek.apiVersion, 3), peek.correlationId, { errorCode: 0, apiKeys: API_VERSIONS, throttleTimeMs: 0 });
    const header = decodeRequestHeader(frame);
    const body = decodeRequest(header.apiKey, header.apiVersion, frame, header.bodyOffset);
    if (header.apiKey === 3) {
      const names: string[] = (body.topics ?? []).map((t: { name: string }) => t.name);
      return encodeResponse(3, header.apiVersion, header.correlationId, {
        throttleTimeMs: 0,
        brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }],
        clusterId: 'capture',
        controllerId: 1,
        topics: names.map((name) => ({ errorCode: 0, name, isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }] })),
      });
    }
    if (header.apiKey === 0) {
      const responses = body.topicData.map((topic: { name: string; partitionData: Array<{ index: number; records: Buffer }> }) => ({
        name: topic.name,
        partitionResponses: topic.partitionData.map((part) => {
          const kept = batches.get(topic.name) ?? [];
          kept.push(Buffer.from(part.records));
          batches.set(topic.name, kept);
          const baseOffset = nextOffset;
          nextOffset += BigInt(part.records.readInt32BE(23) + 1); // lastOffsetDelta + 1 of the (single) batch
          return { index: part.index, errorCode: 0, baseOffset, logAppendTimeMs: -1n, logStartOffset: 0n };
        }),
      }));
      return encodeResponse(0, header.apiVersion, header.correlationId, { responses, throttleTimeMs: 0 });
    }
    throw new Error(`capture broker: api ${header.apiKey} not served`);
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new FrameReader(MAX_FRAME_BYTES);
    socket.on('data', (chunk) => {
      reader.push(chunk);
      try {
        for (let frame = reader.next(); frame !== null; frame = reader.next()) socket.write(answer(frame));
      } catch {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
  return {
    port,
    batches,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
