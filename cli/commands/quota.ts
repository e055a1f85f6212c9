/**
 * The quota commands, as in zkCli (ZooKeeper 3.7+): setquota, listquota, delquota.
 *
 * A quota is two znodes the client writes, as ZooKeeper's SetQuotaCommand does:
 * /zookeeper/quota<path>/zookeeper_limits (the limits, StatsTrack text) and .../zookeeper_stats
 * (the usage; the coordinator answers a read of it from live counters). The server enforces the
 * hard limits and refuses nested quotas too (coordinator/quota.ts); the checks here come first
 * only to give zkCli's messages.
 */
import type { Argv, CommandModule } from 'yargs';
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { childPath, parentOf } from '../../shared/coordinator/paths';
import { CoordinatorError, hasCode } from '../../shared/coordinator/protocol';
import {
  formatQuotaLimits,
  LIMITS_NODE,
  NO_QUOTA_LIMITS,
  parseQuotaLimits,
  QUOTA_PATH,
  quotaLimitsPath,
  QuotaLimits,
  quotaStatsPath,
  quotaTargetProblem,
  QuotaUsage,
} from '../../coordinator/quota';
import { JsonArgs, jsonOption, print, ServerArgs, serverOption, withClient } from '../tree-client';

/** The four limits and their zkCli flags: -n/-b soft (warn), -N/-B hard (refuse). */
const LIMIT_FLAGS = [
  { key: 'count', flag: 'n', name: 'count', describe: 'soft limit on znodes in the subtree, the path itself included (exceeding it logs a warning)' },
  { key: 'bytes', flag: 'b', name: 'bytes', describe: 'soft limit on data bytes in the subtree (exceeding it logs a warning)' },
  { key: 'countHardLimit', flag: 'N', name: 'count-hard-limit', describe: 'hard limit on znodes: a create beyond it fails with QuotaExceeded' },
  { key: 'byteHardLimit', flag: 'B', name: 'byte-hard-limit', describe: 'hard limit on data bytes: a create or set beyond it fails with QuotaExceeded' },
] as const;

type LimitArgs = { [K in (typeof LIMIT_FLAGS)[number]['name']]?: number | boolean };

/** Why `path` cannot carry a quota, as a one-line error. */
function checkTarget(path: string): void {
  const problem = quotaTargetProblem(path);
  if (problem !== null) throw new Error(`BadArguments: ${path}: ${problem}`);
}

async function readLimits(client: CoordinatorClient, path: string): Promise<QuotaLimits | null> {
  try {
    const { data } = await client.getData(quotaLimitsPath(path));
    return parseQuotaLimits(data) ?? { ...NO_QUOTA_LIMITS };
  } catch (error) {
    if (hasCode(error, 'NoNode')) return null;
    throw error;
  }
}

async function readUsage(client: CoordinatorClient, path: string): Promise<QuotaUsage | null> {
  try {
    const { data } = await client.getData(quotaStatsPath(path));
    const parsed = parseQuotaLimits(data);
    return parsed === null ? null : { count: parsed.count, bytes: parsed.bytes };
  } catch (error) {
    if (hasCode(error, 'NoNode')) return null;
    throw error;
  }
}

/** ZooKeeper's checkIfParentQuota and checkIfChildQuota: quotas do not nest. */
async function checkNesting(client: CoordinatorClient, path: string): Promise<void> {
  for (let at = parentOf(path); at !== '/'; at = parentOf(at)) {
    if ((await client.exists(quotaLimitsPath(at))) !== null) throw new Error(`BadArguments: ${path} has a parent ${at} which has a quota`);
  }
  const stack = [`${QUOTA_PATH}${path}`];
  while (stack.length > 0) {
    const at = stack.pop()!;
    let children: string[];
    try {
      children = (await client.getChildren(at)).children;
    } catch (error) {
      if (hasCode(error, 'NoNode')) continue;
      throw error;
    }
    for (const child of children) {
      if (child === LIMITS_NODE && at !== `${QUOTA_PATH}${path}`) {
        throw new Error(`BadArguments: ${path} has a child ${at.slice(QUOTA_PATH.length)} which has a quota`);
      }
      stack.push(childPath(at, child));
    }
  }
}

/** Creates or updates the quota: the given limits replace those set, the others stay (zkCli). */
async function setQuota(client: CoordinatorClient, path: string, given: Partial<QuotaLimits>): Promise<QuotaLimits> {
  if ((await client.exists(path)) === null) throw new CoordinatorError('NoNode', 'a quota needs an existing path', path);
  const existing = await readLimits(client, path);
  if (existing !== null) {
    const limits = { ...existing, ...given };
    await client.setData(quotaLimitsPath(path), formatQuotaLimits(limits), -1);
    return limits;
  }
  await checkNesting(client, path);
  const limits = { ...NO_QUOTA_LIMITS, ...given };
  await client.create(quotaLimitsPath(path), formatQuotaLimits(limits), { createParents: true });
  try {
    await client.create(quotaStatsPath(path), 'count=0,bytes=0');
  } catch (error) {
    if (!hasCode(error, 'NodeExists')) throw error;
  }
  return limits;
}

/** Removes the quota's nodes, then its parents under /zookeeper/quota left empty (zkCli's trimProcQuotas). */
async function deleteQuota(client: CoordinatorClient, path: string): Promise<void> {
  const quotaDir = `${QUOTA_PATH}${path}`;
  for (const child of (await client.getChildren(quotaDir)).children) {
    if (child === LIMITS_NODE || child === 'zookeeper_stats') await client.delete(childPath(quotaDir, child), -1);
  }
  for (let at = quotaDir; at !== QUOTA_PATH; at = parentOf(at)) {
    if ((await client.getChildren(at)).children.length > 0) return;
    await client.delete(at, -1);
  }
}

interface SetQuotaArgs extends ServerArgs, LimitArgs {
  path: string;
}

const setQuotaCommand: CommandModule<unknown, SetQuotaArgs> = {
  command: 'setquota <path>',
  describe: 'set a quota on a subtree: -n/-b soft limits (warn), -N/-B hard limits (refuse with QuotaExceeded); -1 = none',
  builder: (yargs) => {
    let built = serverOption(yargs).positional('path', { type: 'string', demandOption: true });
    for (const { flag, name, describe } of LIMIT_FLAGS) built = built.option(name, { alias: flag, type: 'number', describe });
    return built
      .check((args) => {
        if (LIMIT_FLAGS.every(({ name }) => args[name] === undefined)) throw new Error('give at least one of -n, -b, -N, -B');
        for (const { flag, name } of LIMIT_FLAGS) {
          const value = args[name];
          if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < -1)) throw new Error(`-${flag} must be an integer >= -1`);
        }
        return true;
      })
      .epilogue('The path must exist; quotas do not nest. The count includes the path itself; bytes are data bytes. The hard limits apply unless the coordinator runs with --no-enforce-quota.')
      .example('$0 setquota -N 1000 -B 10485760 /app', 'at most 1000 znodes and 10 MiB of data below /app')
      .example('$0 setquota -n 100 /app', 'warn past 100 znodes') as Argv<SetQuotaArgs>;
  },
  handler: async (args) => {
    checkTarget(args.path);
    const given: Partial<QuotaLimits> = {};
    for (const { key, name } of LIMIT_FLAGS) if (args[name] !== undefined) given[key] = args[name] as number;
    await withClient(args, (client) => setQuota(client, args.path, given));
  },
};

const listQuotaCommand: CommandModule<unknown, JsonArgs & { path: string }> = {
  command: 'listquota <path>',
  describe: "print a path's quota and its usage now",
  builder: (yargs) =>
    jsonOption(yargs)
      .positional('path', { type: 'string', demandOption: true })
      .example('$0 listquota /app', 'Output quota for /app count=-1,bytes=-1=;countHardLimit=1000 / Output stat for /app count=12,bytes=340') as Argv<JsonArgs & { path: string }>,
  handler: async (args) => {
    checkTarget(args.path);
    const { limits, usage } = await withClient(args, async (client) => ({ limits: await readLimits(client, args.path), usage: await readUsage(client, args.path) }));
    if (limits === null) throw new Error(`NoNode: quota for ${args.path} does not exist`);
    if (args.json) {
      print(JSON.stringify({ path: args.path, limits, usage }));
      return;
    }
    print(`Output quota for ${args.path} ${formatQuotaLimits(limits)}`);
    if (usage !== null) print(`Output stat for ${args.path} count=${usage.count},bytes=${usage.bytes}`);
  },
};

type DelQuotaArgs = ServerArgs & { path: string } & { [K in (typeof LIMIT_FLAGS)[number]['name']]?: boolean };

const delQuotaCommand: CommandModule<unknown, DelQuotaArgs> = {
  command: 'delquota <path>',
  describe: 'remove a quota, or with -n/-b/-N/-B only those limits',
  builder: (yargs) => {
    let built = serverOption(yargs).positional('path', { type: 'string', demandOption: true });
    for (const { flag, name } of LIMIT_FLAGS) built = built.option(name, { alias: flag, type: 'boolean', describe: `remove only the ${name} limit` });
    return built.example('$0 delquota /app', 'no quota on /app any more').example('$0 delquota -N /app', 'keep the other limits, drop the hard count limit') as Argv<DelQuotaArgs>;
  },
  handler: async (args) => {
    checkTarget(args.path);
    const chosen = LIMIT_FLAGS.filter(({ name }) => args[name] === true);
    await withClient(args, async (client) => {
      const limits = await readLimits(client, args.path);
      if (limits === null) {
        print(`Quota does not exist for ${args.path}`);
        return;
      }
      if (chosen.length === 0) return deleteQuota(client, args.path);
      for (const { key } of chosen) limits[key] = -1;
      await client.setData(quotaLimitsPath(args.path), formatQuotaLimits(limits), -1);
    });
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const quotaCommands: CommandModule<any, any>[] = [setQuotaCommand, listQuotaCommand, delQuotaCommand];
