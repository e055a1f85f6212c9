/**
 * The message browser's pure parts: reading its query (where to start, how many) and turning
 * decoded records into what the page shows (bytes as base64, plus text when they are UTF-8
 * and pretty JSON when that text is JSON; the page renders hex from the base64).
 */
import type { Compression, DecodedRecord } from '../../shared/kafka/record-batch';
import { ApiError } from './types';
import type { RecordView, RenderedBytes } from '../web/src/api-types';
export type { RecordView, RenderedBytes } from '../web/src/api-types';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export type StartAt = { kind: 'offset'; offset: number } | { kind: 'timestamp'; timestamp: number } | { kind: 'earliest' } | { kind: 'latest' };

export interface MessageQuery {
  topic: string;
  partition: number;
  start: StartAt;
  limit: number;
}

/** A non-negative whole number written in decimal digits, or null. */
function wholeNumber(text: string): number | null {
  if (!/^\d+$/.test(text.trim())) return null;
  const value = Number(text.trim());
  return Number.isSafeInteger(value) ? value : null;
}

/** `topic=&partition=&offset=N | timestamp=ms | from=earliest|latest&limit=50`; ApiError(400) naming what is wrong. */
export function parseMessageQuery(query: URLSearchParams): MessageQuery {
  const topic = query.get('topic') ?? '';
  if (topic === '') throw new ApiError(400, 'topic is required');
  const partitionText = query.get('partition') ?? '0';
  const partition = wholeNumber(partitionText);
  if (partition === null) throw new ApiError(400, `partition '${partitionText}' is not a partition number`);
  const given = (['offset', 'timestamp', 'from'] as const).filter((name) => (query.get(name) ?? '') !== '');
  if (given.length > 1) throw new ApiError(400, `give one of offset, timestamp or from, not ${given.join(' and ')}`);
  let start: StartAt = { kind: 'earliest' };
  if (given[0] === 'offset') {
    const offset = wholeNumber(query.get('offset')!);
    if (offset === null) throw new ApiError(400, `offset '${query.get('offset')}' is not a whole number`);
    start = { kind: 'offset', offset };
  } else if (given[0] === 'timestamp') {
    const timestamp = wholeNumber(query.get('timestamp')!);
    if (timestamp === null) throw new ApiError(400, `timestamp '${query.get('timestamp')}' is not milliseconds since the epoch`);
    start = { kind: 'timestamp', timestamp };
  } else if (given[0] === 'from') {
    const from = query.get('from');
    if (from !== 'earliest' && from !== 'latest') throw new ApiError(400, `from '${from}' must be earliest or latest`);
    start = { kind: from };
  }
  const limitText = query.get('limit') ?? '';
  let limit = DEFAULT_LIMIT;
  if (limitText !== '') {
    const parsed = wholeNumber(limitText);
    if (parsed === null || parsed < 1 || parsed > MAX_LIMIT) throw new ApiError(400, `limit '${limitText}' must be between 1 and ${MAX_LIMIT}`);
    limit = parsed;
  }
  return { topic, partition, start, limit };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function renderBytes(bytes: Buffer | null): RenderedBytes | null {
  if (bytes === null) return null;
  let text: string | null = null;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = null;
  }
  let json: string | null = null;
  if (text !== null && text.trim() !== '') {
    try {
      json = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      json = null;
    }
  }
  return { base64: bytes.toString('base64'), text, json };
}

export function recordView(record: DecodedRecord, codec: Compression): RecordView {
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    codec,
    key: renderBytes(record.key),
    value: renderBytes(record.value),
    headers: record.headers.map((h) => ({ key: h.key, value: renderBytes(h.value) })),
  };
}

/** The raw bytes a record carries, to keep one answer's size bounded. */
export function recordBytes(record: DecodedRecord): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + record.headers.reduce((sum, h) => sum + h.key.length + (h.value?.length ?? 0), 0);
}
