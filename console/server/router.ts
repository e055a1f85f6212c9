/**
 * The console's HTTP routing: API routes (JSON in, JSON out, or server-sent events) matched by
 * method and pattern, and the static assets (the page, its stylesheet, the compiled browser
 * modules). Hand-written rather than a web framework: a dozen routes and two kinds of answer
 * do not justify one more dependency in a process that must start at once.
 */
import fs from 'fs';
import type http from 'http';
import path from 'path';
import type { Logger } from '../../shared/logging';
import { ApiError, ConsoleContext, ConsoleRequest, EventStream, Route } from './types';

/** A JSON body larger than this is refused (413): the console's forms send a few hundred bytes. */
export const BODY_LIMIT_BYTES = 1 << 20;
/** A comment line on every event stream this often, so proxies and browsers keep it open. */
const EVENT_KEEPALIVE_MS = 15_000;

/** The repository root, from dist/console/server/ (compiled) or console/server/ (ts-jest). */
const ROOT = path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? path.resolve(__dirname, '..', '..', '..') : path.resolve(__dirname, '..', '..');
export const STATIC_DIR = path.join(ROOT, 'console', 'web', 'static');
export const SCRIPT_DIR = path.join(ROOT, 'dist', 'console', 'web');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** `:name` and a trailing `*rest` of `pattern` against a request path; null when it does not match. */
export function matchPattern(pattern: string, requestPath: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = requestPath.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const part = want[i]!;
    if (part.startsWith('*')) {
      params[part.slice(1)] = got.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    if (i >= got.length) return null;
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(got[i]!);
    else if (part !== got[i]) return null;
  }
  return want.length === got.length ? params : null;
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value));
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(text);
}

async function readBody(request: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) throw new ApiError(413, `request body over ${BODY_LIMIT_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'the request body is not JSON');
  }
}

/**
 * The headers go out at the first event or once `events()` returned (`start`), not before: a
 * route that refuses the stream (ApiError: bad parameter, too many streams) still answers with
 * its status and `{ error }`, which EventSource reports as a failure instead of reconnecting.
 */
function openStream(request: http.IncomingMessage, response: http.ServerResponse): EventStream & { start(): void } {
  let started = false;
  const start = (): void => {
    if (started || stream.closed) return;
    started = true;
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    response.write('retry: 2000\n\n');
  };
  const cleanups: Array<() => void> = [];
  const stream = {
    closed: false,
    start,
    send(event: string, data: unknown): void {
      if (stream.closed) return;
      start();
      response.write(`event: ${event}\ndata: ${JSON.stringify(data, (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value))}\n\n`);
    },
    onClose(cleanup: () => void): void {
      if (stream.closed) cleanup();
      else cleanups.push(cleanup);
    },
  };
  const keepalive = setInterval(() => started && response.write(': keepalive\n\n'), EVENT_KEEPALIVE_MS);
  const close = (): void => {
    if (stream.closed) return;
    stream.closed = true;
    clearInterval(keepalive);
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
  request.on('close', close);
  response.on('close', close);
  return stream;
}

function serveStatic(requestPath: string, response: http.ServerResponse): boolean {
  let file: string | null = null;
  if (requestPath === '/' || requestPath === '/index.html') file = path.join(STATIC_DIR, 'index.html');
  else if (requestPath.startsWith('/js/')) file = path.join(SCRIPT_DIR, requestPath.slice('/js/'.length));
  else if (!requestPath.startsWith('/api/')) file = path.join(STATIC_DIR, requestPath.slice(1));
  if (file === null) return false;
  const base = requestPath.startsWith('/js/') ? SCRIPT_DIR : STATIC_DIR;
  // path.join normalises `..`: anything that lands outside the asset folder is not served.
  if (!file.startsWith(base + path.sep)) return false;
  let body: Buffer;
  try {
    body = fs.readFileSync(file);
  } catch {
    return false;
  }
  response.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  response.end(body);
  return true;
}

/** The request handler of the console's HTTP server. */
export function createHandler(routes: Route[], context: ConsoleContext, logger: Logger): (request: http.IncomingMessage, response: http.ServerResponse) => void {
  return (request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://console.invalid');
      const method = request.method ?? 'GET';
      let requestPath: string;
      try {
        decodeURIComponent(url.pathname);
        requestPath = url.pathname;
      } catch {
        sendJson(response, 400, { error: 'malformed URL encoding' });
        return;
      }
      try {
        let pathMatched = false;
        for (const route of routes) {
          const params = matchPattern(route.pattern, requestPath);
          if (params === null) continue;
          pathMatched = true;
          if (route.method !== method) continue;
          const consoleRequest: ConsoleRequest = { method, path: requestPath, params, query: url.searchParams, body: method === 'GET' ? undefined : await readBody(request) };
          if ('events' in route) {
            const stream = openStream(request, response);
            await route.events(consoleRequest, context, stream);
            stream.start();
            return;
          }
          const result = await route.handler(consoleRequest, context);
          sendJson(response, result.status ?? 200, result.body);
          return;
        }
        if (pathMatched) sendJson(response, 405, { error: `${method} is not allowed on ${requestPath}` });
        else if (method !== 'GET' || !serveStatic(requestPath, response)) sendJson(response, 404, { error: `nothing at ${requestPath}` });
      } catch (error) {
        if (response.headersSent) {
          response.end();
          return;
        }
        if (error instanceof ApiError) {
          sendJson(response, error.status, { error: error.message });
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        logger.warn({ method, path: requestPath, err: message }, 'console.request_failed');
        sendJson(response, 500, { error: message });
      }
    })();
  };
}
