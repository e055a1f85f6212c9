/**
 * What a standby coordinator answers on its port (issue 9): every WebSocket upgrade gets a 307
 * redirect to the active coordinator's URL (a client with several servers configured follows it,
 * or moves on to its next server), or 503 while no coordinator holds the lease. The role, the
 * lease epoch and how far this standby's copy lags are in headers (and in the JSON of a plain
 * GET), for `samsa coordinator stats` and for people with curl.
 */
import http from 'http';
import type { AddressInfo } from 'net';

export interface StandbyStatus {
  role: 'standby';
  /** The active coordinator's URL, null when nobody holds the lease. */
  active: string | null;
  leaseEpoch: number | null;
  /** The last zxid this standby has applied. */
  appliedZxid: number;
  /** Transactions in the store it has not applied yet (0 when it keeps up). */
  lag: number;
}

export interface StandbyListener {
  port: number;
  close(): Promise<void>;
}

export async function startStandbyListener(host: string, port: number, status: () => StandbyStatus): Promise<StandbyListener> {
  const headersOf = (s: StandbyStatus): Record<string, string> => ({
    'x-samsa-role': s.role,
    'x-samsa-lease-epoch': String(s.leaseEpoch ?? ''),
    'x-samsa-applied-zxid': String(s.appliedZxid),
    'x-samsa-lag': String(s.lag),
    ...(s.active === null ? {} : { 'x-samsa-active': s.active }),
  });
  const server = http.createServer((request, response) => {
    const s = status();
    response.writeHead(200, { 'content-type': 'application/json', ...headersOf(s) });
    response.end(JSON.stringify(s));
  });
  server.on('upgrade', (_request, socket) => {
    const s = status();
    const head =
      s.active === null
        ? 'HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n'
        : `HTTP/1.1 307 Temporary Redirect\r\nlocation: ${s.active}\r\n`;
    const extra = Object.entries(headersOf(s)).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.end(`${head}${extra}content-length: 0\r\nconnection: close\r\n\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
