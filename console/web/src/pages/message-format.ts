/**
 * How the message browser shows a key, value or header: as text, pretty JSON or a hex dump,
 * from the server's `{ base64, text, json }` (console/server/record-view.ts). Pure, and
 * importing nothing at run time, so the unit tests load it as it is.
 */

import type { RenderedBytes } from '../api-types.js';
export type { RenderedBytes } from '../api-types.js';

export type ViewMode = 'text' | 'json' | 'hex';
export const VIEW_MODES: readonly ViewMode[] = ['text', 'json', 'hex'];

/** A hex dump shows at most this many bytes; the rest is counted, not drawn (a page of 1 MiB values must stay usable). */
export const HEX_MAX_BYTES = 4096;
const BYTES_PER_LINE = 16;

export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** `00000000  68 65 6c 6c 6f  |hello|`, 16 bytes a line, as `xxd`/`hexdump -C` print it. */
export function hexDump(bytes: Uint8Array, maxBytes = HEX_MAX_BYTES): string {
  const shown = Math.min(bytes.length, maxBytes);
  const lines: string[] = [];
  for (let start = 0; start < shown; start += BYTES_PER_LINE) {
    const row = bytes.subarray(start, Math.min(start + BYTES_PER_LINE, shown));
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${start.toString(16).padStart(8, '0')}  ${hex.padEnd(BYTES_PER_LINE * 3 - 1)}  |${ascii}|`);
  }
  if (bytes.length > shown) lines.push(`… ${bytes.length - shown} more bytes`);
  return lines.join('\n');
}

/** The modes that can show these bytes: text only when they are UTF-8, JSON only when that text is JSON. */
export function availableModes(rendered: RenderedBytes): ViewMode[] {
  return VIEW_MODES.filter((mode) => (mode === 'text' ? rendered.text !== null : mode === 'json' ? rendered.json !== null : true));
}

/** JSON when it is JSON, else text when it is text, else hex. */
export function defaultMode(rendered: RenderedBytes): ViewMode {
  return rendered.json !== null ? 'json' : rendered.text !== null ? 'text' : 'hex';
}

/** The bytes shown in `mode`; a mode they cannot be shown in falls back to hex. */
export function renderAs(rendered: RenderedBytes, mode: ViewMode): string {
  if (mode === 'json' && rendered.json !== null) return rendered.json;
  if (mode === 'text' && rendered.text !== null) return rendered.text;
  return hexDump(base64ToBytes(rendered.base64));
}

/** A `datetime-local` input's value (local time) as epoch ms, or null when it is not a time. */
export function localTimeToMs(value: string): number | null {
  if (value.trim() === '') return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : ms;
}

/** An epoch ms as a `datetime-local` value in local time (seconds precision). */
export function msToLocalTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
