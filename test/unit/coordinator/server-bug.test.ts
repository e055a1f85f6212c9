/**
 * The coordinator server around a core that fails: an unexpected exception inside a write (a
 * bug, after which the in-memory tree may differ from the log) stops the server and reaches
 * onFatal (in the real process: log fatal, exit 1, the file store recovers); an expected
 * operating error thrown as a CoordinatorError is answered with its code and serving goes on.
 *
 * No bug is reachable on purpose in the real core, so the test uses the server's existing seam,
 * the injected core: a real CoordinatorCore wrapped so that one path misbehaves. Real server,
 * real WebSocket, real client.
 */
import { loadCoordinatorConfig } from '../../../coordinator/config';
import { CoordinatorCore } from '../../../coordinator/core';
import type { CoordinatorCoreApi, CoreOperation, ExecuteOutcome, Txn } from '../../../coordinator/core-api';
import { CoordinatorServer } from '../../../coordinator/server';
import { MemoryStore } from '../../../coordinator/store/memory';
import { CoordinatorClient } from '../../../shared/coordinator/client';
import { CoordinatorError, hasCode } from '../../../shared/coordinator/protocol';
import { createLogger } from '../../../shared/logging';

jest.setTimeout(20_000);

/** A real core whose execute changes the tree for /bug and then throws, as a bug half-way through a write would. */
function faultyCore(config: ReturnType<typeof loadCoordinatorConfig>): CoordinatorCoreApi {
  const core = new CoordinatorCore(config.limits);
  return new Proxy(core, {
    get(target, property, receiver) {
      if (property !== 'execute') {
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      return (sessionId: string, operation: CoreOperation, now: number): ExecuteOutcome => {
        const path = (operation as { path?: string }).path;
        if (path === '/expected') throw new CoordinatorError('BadArguments', 'refused on purpose', path);
        const outcome = target.execute(sessionId, operation, now);
        if (path === '/bug') throw new TypeError('a bug after the tree changed');
        return outcome;
      };
    },
  }) as CoordinatorCoreApi;
}

class RecordingStore extends MemoryStore {
  readonly appended: Txn[] = [];
  override async append(txns: Txn[]): Promise<void> {
    this.appended.push(...txns);
    await super.append(txns);
  }
}

async function serve(): Promise<{ server: CoordinatorServer; url: string; store: RecordingStore; fatal: Promise<Error> }> {
  const config = loadCoordinatorConfig({}, { port: 0, host: '127.0.0.1', metricsPort: -1, store: 'memory' });
  const store = new RecordingStore();
  await store.open();
  let onFatal: (error: Error) => void = () => undefined;
  const fatal = new Promise<Error>((resolve) => {
    onFatal = resolve;
  });
  const server = new CoordinatorServer({ config, core: faultyCore(config), store, logger: createLogger({ level: 'silent', pretty: false }), version: 'test', onFatal });
  const port = await server.listen();
  return { server, url: `ws://127.0.0.1:${port}`, store, fatal };
}

const clients: CoordinatorClient[] = [];
function client(url: string): CoordinatorClient {
  const made = new CoordinatorClient({ servers: [url], requestTimeoutMs: 2000, reconnectBackoffMaxMs: 100 });
  clients.push(made);
  return made;
}

afterEach(async () => {
  for (const made of clients.splice(0)) await made.close().catch(() => undefined);
});

describe('coordinator server: an exception inside execute', () => {
  test('a bug stops the server: onFatal gets the error, the half-done write is never answered or logged, nothing more is served', async () => {
    const { server, url, store, fatal } = await serve();
    try {
      const a = client(url);
      await a.connect();
      await a.create('/before', 'x');
      const bug = a.create('/bug', 'y');
      bug.catch(() => undefined);
      const error = await fatal;
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe('a bug after the tree changed');
      // Nothing more is answered, on this connection or a new one.
      const after = a.create('/after', 'z');
      const outcome = await Promise.race([after.then(() => 'answered', () => 'failed'), new Promise((resolve) => setTimeout(() => resolve('silent'), 500))]);
      expect(outcome).not.toBe('answered');
      after.catch(() => undefined);
      await server.close({ snapshot: false });
      await expect(bug).rejects.toThrow();
      const paths = store.appended.map((txn) => (txn as { path?: string }).path);
      expect(paths).toContain('/before');
      expect(paths).not.toContain('/bug');
      expect(paths).not.toContain('/after');
    } finally {
      await server.close({ snapshot: false }).catch(() => undefined);
    }
  });

  test('an operating error thrown as a CoordinatorError is answered with its code, and serving goes on', async () => {
    const { server, url, fatal } = await serve();
    let fatalCalled = false;
    void fatal.then(() => {
      fatalCalled = true;
    });
    try {
      const a = client(url);
      await a.connect();
      const refused = await a.create('/expected', 'x').then(() => null, (error: unknown) => error);
      expect(hasCode(refused, 'BadArguments')).toBe(true);
      expect((refused as Error).message).toContain('refused on purpose');
      await a.create('/still-serving', 'y');
      expect((await a.getData('/still-serving')).data).toBe('y');
      expect(fatalCalled).toBe(false);
    } finally {
      await server.close({ snapshot: false });
    }
  });
});
