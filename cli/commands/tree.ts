/**
 * The znode commands, as in zkCli: tree, ls, get, stat, create, set, rm, watch (and, in
 * tree-acl.ts, getacl, setacl, digest). Each connects with the client library, does one thing,
 * prints, closes its session; `--auth user:password` gives the session digest credentials.
 *
 * Znode data is bytes: `get` prints it as text when it is valid UTF-8 and as hex otherwise
 * (`--format` chooses), `tree` previews binary data as hex, and `create`/`set --file` write a
 * file's bytes as they are.
 */
import * as fs from 'fs';
import type { Argv, CommandModule } from 'yargs';
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { chooseFormat, DataFormat, formatData } from '../../shared/coordinator/data';
import { childPath } from '../../shared/coordinator/paths';
import { CoordinatorError, CreateMode, hasCode, Stat, WatchEventFrame } from '../../shared/coordinator/protocol';
import { aclFromArgs, cliError, JsonArgs, jsonOption, newClient, print, ServerArgs, serverOption, statLines, withClient } from '../tree-client';
import { aclCommands } from './tree-acl';

/** `samsa tree` stops descending after this many znodes (it says so). */
const TREE_NODES_MAX = 10_000;
const PREVIEW_CHARS = 60;

/** One line of data for `tree`: text flattened, or hex for bytes that are not UTF-8. */
function preview(bytes: Buffer): string {
  if (chooseFormat(bytes) === 'hex') {
    const hex = bytes.subarray(0, Math.floor((PREVIEW_CHARS - 12) / 2)).toString('hex');
    return `<${bytes.length} bytes> ${hex}${bytes.length * 2 > hex.length ? '…' : ''}`;
  }
  const flat = bytes.toString('utf8').replace(/\s+/g, ' ');
  return flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS - 1)}…` : flat;
}

interface TreeNode {
  path: string;
  bytes: Buffer;
  stat: Stat;
  children: TreeNode[];
}

async function readTree(client: CoordinatorClient, path: string, budget: { left: number }): Promise<TreeNode> {
  budget.left--;
  const { bytes, stat } = await client.getData(path);
  const node: TreeNode = { path, bytes, stat, children: [] };
  if (stat.numChildren === 0) return node;
  const { children } = await client.getChildren(path);
  for (const name of children) {
    if (budget.left <= 0) break;
    try {
      node.children.push(await readTree(client, childPath(path, name), budget));
    } catch (error) {
      // Deleted between the listing and the read: skip it, as zkCli does.
      if (!hasCode(error, 'NoNode')) throw error;
    }
  }
  return node;
}

function printTree(node: TreeNode, prefix: string, isLast: boolean, isRoot: boolean): void {
  const name = isRoot ? node.path : node.path.slice(node.path.lastIndexOf('/') + 1);
  const owner = node.stat.ephemeralOwner !== '0' ? `  [ephemeral ${node.stat.ephemeralOwner}]` : '';
  const data = node.bytes.length > 0 ? `  ${preview(node.bytes)}` : '';
  print(`${isRoot ? '' : `${prefix}${isLast ? '└── ' : '├── '}`}${name}${owner}${data}`);
  const childPrefix = isRoot ? '' : `${prefix}${isLast ? '    ' : '│   '}`;
  node.children.forEach((child, index) => printTree(child, childPrefix, index === node.children.length - 1, false));
}

function treeJson(node: TreeNode): unknown {
  return { path: node.path, ...dataJson(node.bytes, 'auto'), stat: node.stat, children: node.children.map(treeJson) };
}

/** `data` in the chosen format; `format` says which unless it is text (so text-only JSON stays as it was). */
function dataJson(bytes: Buffer, wanted: DataFormat | 'auto'): { data: string; format?: DataFormat } {
  const format = chooseFormat(bytes, wanted);
  return format === 'text' ? { data: formatData(bytes, format) } : { data: formatData(bytes, format), format };
}

/** `raw`: the bytes alone, as they are, on stdout (for `> file`; `set --file` writes them back). */
const FORMATS: readonly (DataFormat | 'auto' | 'raw')[] = ['auto', 'text', 'hex', 'base64', 'raw'];

/** The bytes of `--file` (`-` is stdin; yargs hands `--file -` over as ''). */
function readDataFile(file: string): Buffer {
  try {
    return fs.readFileSync(file === '-' || file === '' ? 0 : file);
  } catch (error) {
    throw new Error(`BadArguments: cannot read --file ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The data a create or set writes: the positional text or the bytes of --file, not both. */
function dataToWrite(args: { data?: string; file?: string }): string | Buffer {
  if (args.file !== undefined) {
    if (args.data !== undefined && args.data !== '') throw new Error('BadArguments: give the data or --file, not both');
    return readDataFile(args.file);
  }
  return args.data ?? '';
}

const treeCommand: CommandModule<unknown, JsonArgs & { path: string }> = {
  command: 'tree [path]',
  describe: 'print the znode tree below a path, with ephemeral owners and a data preview',
  builder: (yargs) =>
    jsonOption(yargs)
      .positional('path', { type: 'string', default: '/', describe: 'where to start' })
      .example('$0 tree /brokers', 'the broker registrations and topics') as Argv<JsonArgs & { path: string }>,
  handler: async (args) => {
    await withClient(args, async (client) => {
      const budget = { left: TREE_NODES_MAX };
      const root = await readTree(client, args.path, budget);
      if (args.json) print(JSON.stringify(treeJson(root)));
      else printTree(root, '', true, true);
      if (budget.left <= 0) process.stderr.write(`(stopped after ${TREE_NODES_MAX} znodes)\n`);
    });
  },
};

const lsCommand: CommandModule<unknown, JsonArgs & { path: string }> = {
  command: 'ls <path>',
  describe: 'list the children of a znode',
  builder: (yargs) => jsonOption(yargs).positional('path', { type: 'string', demandOption: true }).example('$0 ls /brokers/ids', 'the ids of the live brokers') as Argv<JsonArgs & { path: string }>,
  handler: async (args) => {
    const { children } = await withClient(args, (client) => client.getChildren(args.path));
    if (args.json) print(JSON.stringify(children));
    else for (const child of children) print(child);
  },
};

interface GetArgs extends JsonArgs {
  path: string;
  format: DataFormat | 'auto' | 'raw';
}

const getCommand: CommandModule<unknown, GetArgs> = {
  command: 'get <path>',
  describe: "print a znode's data and stat (data as text when it is UTF-8, else hex)",
  builder: (yargs) =>
    jsonOption(yargs)
      .positional('path', { type: 'string', demandOption: true })
      .option('format', { choices: FORMATS, default: 'auto' as const, describe: 'how to print the data: auto = text when valid UTF-8, else hex; raw = the bytes alone, no stat' })
      .example('$0 get /controller', 'which broker is the controller, and since when')
      .example('$0 get --format base64 /app/blob', 'binary data as base64')
      .example('$0 get --format raw /app/blob > blob.bin', 'the bytes into a file') as Argv<GetArgs>,
  handler: async (args) => {
    if (args.format === 'raw' && args.json) throw new Error('BadArguments: --format raw cannot be combined with --json');
    const result = await withClient(args, (client) => client.getData(args.path));
    if (args.format === 'raw') {
      process.stdout.write(result.bytes);
      return;
    }
    const shown = dataJson(result.bytes, args.format);
    if (args.json) print(JSON.stringify({ ...shown, stat: result.stat }));
    else for (const line of [shown.data, ...statLines(result.stat)]) print(line);
  },
};

const statCommand: CommandModule<unknown, JsonArgs & { path: string }> = {
  command: 'stat <path>',
  describe: "print a znode's stat",
  builder: (yargs) =>
    jsonOption(yargs)
      .positional('path', { type: 'string', demandOption: true })
      .example('$0 stat --json /brokers/ids/1', 'versions, zxids and the owning session of a broker registration') as Argv<JsonArgs & { path: string }>,
  handler: async (args) => {
    const stat = await withClient(args, async (client) => {
      const found = await client.exists(args.path);
      if (found === null) throw new CoordinatorError('NoNode', '', args.path);
      return found;
    });
    if (args.json) print(JSON.stringify(stat));
    else for (const line of statLines(stat)) print(line);
  },
};

interface CreateArgs extends ServerArgs {
  path: string;
  data: string;
  file?: string;
  ephemeral: boolean;
  sequential: boolean;
  parents: boolean;
  container: boolean;
  acl?: string;
}

function createMode(args: CreateArgs): CreateMode {
  if (args.container) {
    if (args.ephemeral || args.sequential) throw new Error('BadArguments: -c cannot be combined with -e or -s');
    return 'container';
  }
  if (args.ephemeral) return args.sequential ? 'ephemeral_sequential' : 'ephemeral';
  return args.sequential ? 'persistent_sequential' : 'persistent';
}

const createCommand: CommandModule<unknown, CreateArgs> = {
  command: 'create <path> [data]',
  describe: 'create a znode (an ephemeral one goes when this command ends its session)',
  builder: (yargs) =>
    serverOption(yargs)
      .positional('path', { type: 'string', demandOption: true })
      .positional('data', { type: 'string', default: '' })
      .option('ephemeral', { alias: 'e', type: 'boolean', default: false, describe: 'ephemeral' })
      .option('sequential', { alias: 's', type: 'boolean', default: false, describe: 'append a 10-digit sequence number' })
      .option('parents', { alias: 'p', type: 'boolean', default: false, describe: 'create missing parents' })
      .option('container', { alias: 'c', type: 'boolean', default: false, describe: 'container: removed by the periodic check once its last child is gone' })
      .option('file', { type: 'string', describe: "the data: this file's bytes, as they are (- = stdin)" })
      .option('acl', { type: 'string', describe: "the node's ACL, scheme:id:perms,... (default world:anyone:cdrwa); missing parents (-p) stay open" })
      .example("$0 create -p /app/config '{\"a\":1}'", 'create /app/config and any missing parents')
      .example('$0 create /app/secret --auth app:pw --acl digest:app:<hash>:cdrwa,world:anyone:r', 'writable by app only (hash: samsa digest app:pw)')
      .example('$0 create /app/blob --file blob.bin', 'binary data from a file') as Argv<CreateArgs>,
  handler: async (args) => {
    const mode = createMode(args);
    const data = dataToWrite(args);
    const acl = args.acl === undefined ? undefined : aclFromArgs(args.acl, '--acl');
    const created = await withClient(args, (client) => client.create(args.path, data, { mode, createParents: args.parents, ...(acl === undefined ? {} : { acl }) }));
    print(`Created ${created.path}`);
  },
};

interface SetArgs extends ServerArgs {
  path: string;
  data?: string;
  file?: string;
  version: number;
  json: boolean;
}

const setCommand: CommandModule<unknown, SetArgs> = {
  command: 'set <path> [data]',
  describe: "replace a znode's data (with -v: only at that version, else BadVersion)",
  builder: (yargs) =>
    jsonOption(yargs)
      .positional('path', { type: 'string', demandOption: true })
      .positional('data', { type: 'string', describe: 'the new data (text), or --file' })
      .option('file', { type: 'string', describe: "the new data: this file's bytes, as they are (- = stdin)" })
      .option('version', { alias: 'v', type: 'number', default: -1, describe: 'expected version (-1: any)' })
      .example("$0 set -v 0 /app/config '{\"a\":2}'", 'update only if nobody changed it since version 0')
      .example('$0 set /app/blob --file blob.bin', 'binary data from a file') as Argv<SetArgs>,
  handler: async (args) => {
    if (args.data === undefined && args.file === undefined) throw new Error('BadArguments: set needs the data or --file');
    const data = dataToWrite(args);
    const { stat } = await withClient(args, (client) => client.setData(args.path, data, args.version));
    if (args.json) print(JSON.stringify(stat));
  },
};

interface RmArgs extends ServerArgs {
  path: string;
  version: number;
  recursive: boolean;
}

const rmCommand: CommandModule<unknown, RmArgs> = {
  command: 'rm <path>',
  describe: 'delete a znode (-r: with everything below it)',
  builder: (yargs) =>
    serverOption(yargs)
      .positional('path', { type: 'string', demandOption: true })
      .option('version', { alias: 'v', type: 'number', default: -1, describe: 'expected version (-1: any)' })
      .option('recursive', { alias: 'r', type: 'boolean', default: false, describe: 'delete the whole subtree' })
      .example('$0 rm -r /app', 'delete /app and everything below it') as Argv<RmArgs>,
  handler: async (args) => {
    if (args.recursive && args.version !== -1) throw new Error('BadArguments: -v cannot be combined with -r');
    await withClient(args, async (client) => {
      if (!args.recursive) return client.delete(args.path, args.version);
      if ((await client.exists(args.path)) === null) throw new CoordinatorError('NoNode', '', args.path);
      return client.deleteRecursive(args.path);
    });
  },
};

interface WatchArgs extends JsonArgs {
  path: string;
  recursive: boolean;
}

const watchCommand: CommandModule<unknown, WatchArgs> = {
  command: 'watch <path>',
  describe: 'print events on a znode (-r: and everything below it) until Ctrl-C',
  builder: (yargs) =>
    jsonOption(yargs)
      .positional('path', { type: 'string', demandOption: true })
      .option('recursive', { alias: 'r', type: 'boolean', default: false, describe: 'persistent recursive watch' })
      .example('$0 watch -r /brokers', 'brokers coming and going, topics created') as Argv<WatchArgs>,
  handler: async (args) => {
    const client = newClient(args);
    try {
      await watchUntilStopped(client, args);
    } catch (error) {
      throw cliError(error);
    } finally {
      await client.close();
    }
  },
};

/** Prints events until SIGINT/SIGTERM (or the session expires). */
async function watchUntilStopped(client: CoordinatorClient, args: WatchArgs): Promise<void> {
  await client.connect();
  const onEvent = (event: WatchEventFrame): void => {
    if (args.json) print(JSON.stringify({ event: event.event, path: event.path, zxid: event.zxid }));
    else print(`${event.event} ${event.path} (zxid ${event.zxid})`);
  };
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    client.on('state', (state) => {
      if (state === 'expired') {
        process.stderr.write('SessionExpired: the watch session expired\n');
        process.exitCode = 1;
        resolve();
      } else if (state === 'disconnected') {
        process.stderr.write('(disconnected; reconnecting)\n');
      }
    });
  });
  await client.addWatch(args.path, args.recursive ? 'persistentRecursive' : 'persistent', onEvent);
  process.stderr.write(`watching ${args.path}${args.recursive ? ' and below' : ''}; Ctrl-C to stop\n`);
  await stopped;
}

export const treeCommands: CommandModule<any, any>[] = [treeCommand, lsCommand, getCommand, statCommand, createCommand, setCommand, rmCommand, watchCommand, ...aclCommands]; // eslint-disable-line @typescript-eslint/no-explicit-any
