/**
 * The znode tree browser:
 *   GET /api/tree?path=/brokers         { path, data, format?, json?, stat, ephemeral, children }; 404 NoNode, 403 NoAuth, 400 bad path
 *                                       (data that is not UTF-8 comes as hex, with format 'hex')
 *   GET /api/tree/events?path=/brokers  server-sent 'node' events: that body at once and after every
 *                                       change of the node's data or children; `{ path, deleted: true }`
 *                                       while it does not exist (and the body again once it is created)
 * At most TREE_STREAMS_MAX streams are open per console (each holds coordinator watches): one more gets 503.
 * When the console's coordinator session expires, its streams follow their znodes on the new one.
 */
import { setTimeout as sleep } from 'timers/promises';
import type { CoordinatorClientApi } from '../../../shared/coordinator/client-api';
import { hasCode } from '../../../shared/coordinator/protocol';
import { ApiError, type ConsoleContext, type ConsoleRequest, type EventStream, type Route } from '../types';
import { StreamSlots, TREE_STREAMS_MAX, treePath, znodeBody } from '../znode-view';
import { ZnodeWatcher } from '../znode-watch';

/** How often a stream whose session ended looks for the console's new one. */
const SESSION_POLL_MS = 250;

const slots = new StreamSlots(TREE_STREAMS_MAX);
/** One watcher per coordinator client (a console has one; tests may start several consoles in one process). */
const watchers = new WeakMap<CoordinatorClientApi, ZnodeWatcher>();

function watcherFor(context: ConsoleContext): ZnodeWatcher {
  let watcher = watchers.get(context.coordinator);
  if (watcher === undefined) {
    watcher = new ZnodeWatcher(context.coordinator, context.logger.child({ component: 'tree-watch' }));
    watchers.set(context.coordinator, watcher);
  }
  return watcher;
}

/** Waits until the console's coordinator session is a new, connected one (or the stream closed). */
async function untilRenewed(context: ConsoleContext, ended: CoordinatorClientApi, stream: EventStream): Promise<void> {
  while (!stream.closed && (context.coordinator === ended || context.coordinator.state !== 'connected')) await sleep(SESSION_POLL_MS);
}

function requestedPath(request: ConsoleRequest): string {
  const parsed = treePath(request.query.get('path'));
  if ('problem' in parsed) throw new ApiError(400, `invalid znode path: ${parsed.problem}`);
  return parsed.path;
}

async function readNode(client: CoordinatorClientApi, path: string): Promise<ReturnType<typeof znodeBody>> {
  try {
    const [{ bytes, stat }, { children }] = await Promise.all([client.getData(path), client.getChildren(path)]);
    return znodeBody(path, bytes, stat, children);
  } catch (error) {
    if (hasCode(error, 'NoNode')) throw new ApiError(404, `no znode at ${path}`);
    // The node's ACL does not let the console's session read it (it has no credentials).
    if (hasCode(error, 'NoAuth')) throw new ApiError(403, `the ACL of ${path} does not let the console read it`);
    throw error;
  }
}

export const routes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/tree',
    handler: async (request, context) => ({ body: await readNode(context.coordinator, requestedPath(request)) }),
  },
  {
    method: 'GET',
    pattern: '/api/tree/events',
    events: (request, context, stream) => {
      const path = requestedPath(request);
      if (!slots.take()) throw new ApiError(503, `too many open znode streams (${TREE_STREAMS_MAX} per console): close some console tabs and reload`);
      let unsubscribe = (): void => undefined;
      const follow = (): void => {
        if (stream.closed) return;
        const client = context.coordinator;
        unsubscribe = watcherFor(context).subscribe(
          path,
          (body) => stream.send('node', body),
          () => {
            unsubscribe();
            // The console opens a new session after its own expired (cluster-state.ts): follow the node there.
            void untilRenewed(context, client, stream).then(follow);
          },
        );
      };
      follow();
      let released = false;
      stream.onClose(() => {
        if (released) return;
        released = true;
        unsubscribe();
        slots.release();
      });
    },
  },
];
