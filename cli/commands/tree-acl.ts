/**
 * The ACL commands, as in zkCli: getacl, setacl, and `digest`, which computes the id an ACL
 * names for `user:password` (ZooKeeper's DigestAuthenticationProvider main), for writing ACLs
 * and the coordinator's --super-digest.
 *
 * ACLs are read and written in zkCli's text form, `scheme:id:perms`, comma-separated in one
 * argument (`digest:app:<hash>:cdrwa,world:anyone:r`); getacl prints one entry per line in the
 * same form, so its output can be given back to setacl.
 */
import type { Argv, CommandModule } from 'yargs';
import { digestCredentialsProblem, digestId, formatAcl } from '../../shared/coordinator/acl';
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { childPath } from '../../shared/coordinator/paths';
import { Acl, CoordinatorError, Stat, unlessCode } from '../../shared/coordinator/protocol';
import { aclFromArgs, JsonArgs, jsonOption, print, statLines, withClient } from '../tree-client';

/** `setacl -R` refuses a subtree larger than this (the listing is held in memory before any change). */
const RECURSIVE_NODES_MAX = 100_000;

interface GetAclArgs extends JsonArgs {
  path: string;
  stat: boolean;
}

const getAclCommand: CommandModule<unknown, GetAclArgs> = {
  command: 'getacl <path>',
  describe: "print a znode's ACL, one scheme:id:perms per line (perms: c create, d delete, r read, w write, a admin)",
  builder: (yargs) =>
    jsonOption(yargs)
      .positional('path', { type: 'string', demandOption: true })
      .option('stat', { alias: 's', type: 'boolean', default: false, describe: 'print the stat too (aclVersion is what setacl -v expects)' })
      .epilogue('Needs READ or ADMIN on the node; without ADMIN, digest ids are shown as user:x.')
      .example('$0 getacl /brokers', 'e.g. digest:broker:<hash>:cdrwa and world:anyone:r') as Argv<GetAclArgs>,
  handler: async (args) => {
    const { acl, stat } = await withClient(args, (client) => client.getACL(args.path));
    if (args.json) {
      print(JSON.stringify({ acl, text: formatAcl(acl), stat }));
      return;
    }
    for (const entry of acl) print(formatAcl([entry]));
    if (args.stat) for (const line of statLines(stat)) print(line);
  },
};

interface SetAclArgs extends JsonArgs {
  path: string;
  acl: string;
  version: number;
  recursive: boolean;
}

/**
 * `path` and every node below it, parents first (zkCli's setAcl -R lists the subtree the same
 * way before changing anything: an ACL set first could forbid the listing of what is below).
 */
async function subtree(client: CoordinatorClient, path: string): Promise<string[]> {
  const paths = [path];
  for (let index = 0; index < paths.length; index++) {
    const listed = await unlessCode(client.getChildren(paths[index]!), ['NoNode'], { children: [] as string[] });
    for (const child of listed.children) paths.push(childPath(paths[index]!, child));
    if (paths.length > RECURSIVE_NODES_MAX) throw new Error(`BadArguments: more than ${RECURSIVE_NODES_MAX} nodes below ${path}; set the ACL of its parts one at a time`);
  }
  return paths;
}

/** Sets `acl` on every node of the subtree at `path` (any aversion); nodes deleted meanwhile are skipped. */
async function setAclRecursive(client: CoordinatorClient, path: string, acl: Acl[]): Promise<Stat> {
  if ((await client.exists(path)) === null) throw new CoordinatorError('NoNode', '', path);
  let top: Stat | null = null;
  for (const node of await subtree(client, path)) {
    const result = await unlessCode(client.setACL(node, acl, -1), ['NoNode'], null);
    if (node === path) top = result?.stat ?? null;
  }
  if (top === null) throw new CoordinatorError('NoNode', '', path);
  return top;
}

const setAclCommand: CommandModule<unknown, SetAclArgs> = {
  command: 'setacl <path> <acl>',
  describe: "replace a znode's ACL (zkCli form scheme:id:perms, comma-separated; with -v only at that aclVersion, else BadVersion)",
  builder: (yargs) =>
    jsonOption(yargs)
      .positional('path', { type: 'string', demandOption: true })
      .positional('acl', { type: 'string', demandOption: true, describe: 'scheme:id:perms,... with schemes world (id anyone), digest (id user:hash, see samsa digest), ip (address or CIDR), auth (id empty: every digest identity of this session)' })
      .option('version', { alias: 'v', type: 'number', default: -1, describe: 'expected aclVersion (-1: any)' })
      .option('recursive', { alias: 'R', type: 'boolean', default: false, describe: 'the node and every node below it' })
      .epilogue('Needs ADMIN on the node. Errors: NoAuth (no ADMIN), InvalidACL (a malformed or empty ACL), BadVersion.')
      .example('$0 setacl /app digest:app:<hash>:cdrwa,world:anyone:r --auth app:pw', 'app may do anything, everyone else read')
      .example('$0 setacl /app auth::cdrwa --auth app:pw', 'every permission for the identity this session authenticated as') as Argv<SetAclArgs>,
  handler: async (args) => {
    if (args.recursive && args.version !== -1) throw new Error('BadArguments: -v cannot be combined with -R');
    const acl = aclFromArgs(args.acl, 'acl');
    const stat = await withClient(args, async (client) => {
      if (!args.recursive) return (await client.setACL(args.path, acl, args.version)).stat;
      return setAclRecursive(client, args.path, acl);
    });
    if (args.json) print(JSON.stringify(stat));
  },
};

interface DigestArgs {
  credentials: string[];
  json: boolean;
}

const digestCommand: CommandModule<unknown, DigestArgs> = {
  command: 'digest <credentials..>',
  describe: "print the digest id for user:password, as ZooKeeper's DigestAuthenticationProvider computes it (user:base64(sha1(user:password)))",
  builder: (yargs) =>
    (yargs as Argv<DigestArgs>)
      .positional('credentials', { type: 'string', array: true, demandOption: true, describe: 'user:password, one or more' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .epilogue('Prints the id alone (ZooKeeper prints user:password->id), one per line: use it in a digest ACL entry (digest:<id>:cdrwa) or as the coordinator\'s --super-digest. No coordinator is contacted.')
      .example('$0 digest super:test', "super:D/InIHSb7yEEbrWz8b9l71RjZJU= (the superDigest of ZooKeeper's own tests)") as Argv<DigestArgs>,
  handler: (args) => {
    for (const credentials of args.credentials) {
      const problem = digestCredentialsProblem(credentials);
      if (problem !== null) throw new Error(`BadArguments: ${problem}`);
    }
    const ids = args.credentials.map((credentials) => digestId(credentials));
    if (args.json) print(JSON.stringify(ids.map((id) => ({ id }))));
    else for (const id of ids) print(id);
  },
};

export const aclCommands: CommandModule<any, any>[] = [getAclCommand, setAclCommand, digestCommand]; // eslint-disable-line @typescript-eslint/no-explicit-any
