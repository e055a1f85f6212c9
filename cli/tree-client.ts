/**
 * What the znode commands (cli/commands/tree.ts, tree-acl.ts) share: the --server and --auth
 * options, one short-lived coordinator session per command, and the one-line error a command
 * reports.
 */
import type { Argv } from 'yargs';
import { digestCredentialsProblem, parseAcl } from '../shared/coordinator/acl';
import { CoordinatorClient } from '../shared/coordinator/client';
import { Acl, CoordinatorError, Stat } from '../shared/coordinator/protocol';

/** A CLI against a dead coordinator fails within this, instead of retrying for ever. */
export const CONNECT_TIMEOUT_MS = 5000;

export interface ServerArgs {
  server: string;
  /** Digest credentials `user:password` (ZooKeeper's `addauth digest user:password`), or absent. */
  auth?: string;
}
export interface JsonArgs extends ServerArgs {
  json: boolean;
}

/** The --auth option (for the tree commands and the others that write the tree). */
export function authOption<T>(yargs: Argv<T>, name = 'auth'): Argv<T> {
  return yargs.option(name, {
    type: 'string',
    // The env var keeps the password out of `ps` and shell history; its value is never shown in --help.
    default: process.env.SAMSA_COORDINATOR_AUTH,
    defaultDescription: 'env SAMSA_COORDINATOR_AUTH',
    describe: 'digest credentials user:password this session presents (ZooKeeper addauth digest): needed where an ACL restricts the nodes',
  });
}

export function serverOption<T>(yargs: Argv<T>): Argv<T & ServerArgs> {
  return authOption(
    yargs.option('server', {
      type: 'string',
      describe: 'coordinator URL(s), comma-separated; a path is a chroot, the same on each (ws://host:2181/kafka)',
      default: process.env.SAMSA_COORDINATOR ?? 'ws://127.0.0.1:2181',
    }),
  ) as Argv<T & ServerArgs>;
}

export function jsonOption<T>(yargs: Argv<T>): Argv<T & JsonArgs> {
  return serverOption(yargs).option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as Argv<T & JsonArgs>;
}

/** The client's `auth` option for `--auth user:password` (none for an absent or empty value). */
export function authFromArgs(userPassword: string | undefined, flag = '--auth'): { auth?: [{ scheme: 'digest'; auth: string }] } {
  if (userPassword === undefined || userPassword === '') return {};
  const problem = digestCredentialsProblem(userPassword);
  if (problem !== null) throw new Error(`BadArguments: ${flag}: ${problem}`);
  return { auth: [{ scheme: 'digest', auth: userPassword }] };
}

/** An ACL in zkCli's text form (`scheme:id:perms,...`), or a one-line InvalidACL error. */
export function aclFromArgs(text: string, flag: string): Acl[] {
  try {
    return parseAcl(text);
  } catch (error) {
    throw new Error(`InvalidACL: ${flag}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function newClient(args: ServerArgs): CoordinatorClient {
  return new CoordinatorClient({
    servers: args.server.split(',').map((url) => url.trim()),
    requestTimeoutMs: CONNECT_TIMEOUT_MS,
    sessionTimeoutMs: 10_000,
    ...authFromArgs(args.auth),
  });
}

/**
 * The error the CLI reports: a znode error as exactly `<Code>: <path>` (the server's detail,
 * such as the versions in a BadVersion, is dropped so scripts can rely on the line), except
 * QuotaExceeded, whose detail names the limit that was hit.
 */
export function cliError(error: unknown): unknown {
  if (error instanceof CoordinatorError && error.path !== undefined && error.code !== 'QuotaExceeded') return new CoordinatorError(error.code, '', error.path);
  return error;
}

export async function withClient<R>(args: ServerArgs, action: (client: CoordinatorClient) => Promise<R>): Promise<R> {
  const client = newClient(args);
  try {
    await client.connect();
    return await action(client);
  } catch (error) {
    throw cliError(error);
  } finally {
    await client.close();
  }
}

export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A Stat as zkCli prints it. */
export function statLines(stat: Stat): string[] {
  return [
    `cZxid = ${stat.czxid}`,
    `ctime = ${new Date(stat.ctime).toISOString()}`,
    `mZxid = ${stat.mzxid}`,
    `mtime = ${new Date(stat.mtime).toISOString()}`,
    `pZxid = ${stat.pzxid}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = ${stat.ephemeralOwner}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ];
}
