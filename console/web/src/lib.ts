/**
 * What every console page shares: building elements, calling the console's JSON API,
 * following server-sent events, and formatting numbers. Plain DOM, no framework: the console
 * has a handful of pages and must load at once from the console process.
 */

/** A page: render() fills `root` and returns what to run when the user leaves it (close event streams, timers). */
export interface Page {
  title: string;
  render(root: HTMLElement, params: PageParams): (() => void) | void;
}

/** The route's `:name` parts and the hash's query (`#/messages?topic=t&partition=0`). */
export interface PageParams {
  path: Record<string, string>;
  query: URLSearchParams;
}

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | EventListener | null | undefined>;

/** `h('td', { class: 'num' }, 42)`: attributes starting with `on` are listeners; false/null/undefined ones are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Array<Child | Child[]>): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Replaces `element`'s children. */
export function fill(element: HTMLElement, ...children: Array<Child | Child[]>): void {
  element.replaceChildren(...children.flat().filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))));
}

export class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A call to the console's JSON API; a non-2xx answer throws ApiFailure with the server's `error` text. */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ApiFailure(response.status, `${response.status}: ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    const error = parsed !== null && typeof parsed === 'object' && 'error' in parsed ? String((parsed as { error: unknown }).error) : `HTTP ${response.status}`;
    throw new ApiFailure(response.status, error);
  }
  return parsed as T;
}

/**
 * Follows a server-sent event stream: `handlers[event](data)` for each event (data parsed from
 * JSON). EventSource reconnects by itself after a drop; `onState` hears 'live' / 'reconnecting'.
 * Returns the function that closes the stream.
 */
export function subscribe(path: string, handlers: Record<string, (data: any) => void>, onState?: (state: 'live' | 'reconnecting') => void): () => void {
  const source = new EventSource(path);
  for (const [event, handler] of Object.entries(handlers)) {
    source.addEventListener(event, (message) => handler(JSON.parse((message as MessageEvent<string>).data)));
  }
  source.onopen = () => onState?.('live');
  source.onerror = () => onState?.('reconnecting');
  return () => source.close();
}

/** An error line in the page (role=alert, so tests and screen readers find it). */
export function errorBox(message: string): HTMLElement {
  return h('div', { class: 'error', role: 'alert' }, message);
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${BYTE_UNITS[unit]}`;
}

export function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

export function formatTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

/** `#/topics/orders` for links between pages. */
export function link(href: string, ...children: Array<Child | Child[]>): HTMLAnchorElement {
  return h('a', { href }, ...children);
}
