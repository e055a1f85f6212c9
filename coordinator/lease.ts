/**
 * The coordinators' lease on a Redis store (issue 9): one coordinator is active at a time.
 *
 *   <prefix>:lease        {"id","url","epoch"} of the holder, with a Redis expiry (PX)
 *   <prefix>:lease-epoch  the fencing epoch: incremented by every acquisition, never lowered
 *
 * The holder renews well before the expiry; one that cannot renew in time steps down on its own
 * clock before the key can expire (`safeUntil`), so two coordinators never both believe they
 * are active. Clock drift and pauses (a SIGSTOPped process believes nothing) are covered by the
 * fence: every append and snapshot checks <prefix>:lease-epoch (coordinator/store/redis.ts), so a
 * holder that lost its lease can no longer change the log whatever it believes.
 */
import type Redis from 'ioredis';

export interface LeaseHolder {
  id: string;
  url: string;
  epoch: number;
}

export interface LeaseKeys {
  lease: string;
  epoch: string;
}

export const leaseKeys = (prefix: string): LeaseKeys => ({ lease: `${prefix}:lease`, epoch: `${prefix}:lease-epoch` });

/** Renewals per lease period: a holder survives one or two lost round trips. */
export const RENEWALS_PER_LEASE = 3;
/** The part of the lease a holder trusts on its own clock: it steps down this much before the key can expire. */
export const SAFETY_SHARE = 0.8;

/** KEYS[1] lease, KEYS[2] epoch; ARGV[1] id, ARGV[2] url, ARGV[3] lease ms. Returns the new epoch, or 0 when another holds it. */
const ACQUIRE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], cjson.encode({ id = ARGV[1], url = ARGV[2], epoch = epoch }), 'PX', ARGV[3])
return epoch
`;

/** KEYS[1] lease; ARGV[1] id, ARGV[2] lease ms, ARGV[3] epoch. 1 when renewed, 0 when the lease is not (or no longer) ours. */
const RENEW_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local holder = cjson.decode(value)
if holder.id ~= ARGV[1] or tostring(holder.epoch) ~= ARGV[3] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** KEYS[1] lease; ARGV[1] id. Deletes the lease only when it is ours (a clean shutdown hands over at once). */
const RELEASE_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value).id == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type LeaseCommands = {
  samsaLeaseAcquire(lease: string, epoch: string, id: string, url: string, ms: string): Promise<number>;
  samsaLeaseRenew(lease: string, id: string, ms: string, epoch: string): Promise<number>;
  samsaLeaseRelease(lease: string, id: string): Promise<number>;
};

export function defineLeaseCommands(redis: Redis): void {
  redis.defineCommand('samsaLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
  redis.defineCommand('samsaLeaseRenew', { numberOfKeys: 1, lua: RENEW_SCRIPT });
  redis.defineCommand('samsaLeaseRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
}

const commands = (redis: Redis): LeaseCommands => redis as unknown as LeaseCommands;

/** Takes the lease when nobody holds it: the new fencing epoch, or null. */
export async function acquireLease(redis: Redis, keys: LeaseKeys, id: string, url: string, leaseMs: number): Promise<number | null> {
  const epoch = await commands(redis).samsaLeaseAcquire(keys.lease, keys.epoch, id, url, String(leaseMs));
  return epoch > 0 ? epoch : null;
}

export async function renewLease(redis: Redis, keys: LeaseKeys, id: string, epoch: number, leaseMs: number): Promise<boolean> {
  return (await commands(redis).samsaLeaseRenew(keys.lease, id, String(leaseMs), String(epoch))) === 1;
}

export async function releaseLease(redis: Redis, keys: LeaseKeys, id: string): Promise<boolean> {
  return (await commands(redis).samsaLeaseRelease(keys.lease, id)) === 1;
}

/** The holder now, or null. */
export async function readLease(redis: Redis, keys: LeaseKeys): Promise<LeaseHolder | null> {
  const value = await redis.get(keys.lease);
  if (value === null) return null;
  const parsed = JSON.parse(value) as Partial<LeaseHolder>;
  if (typeof parsed.id !== 'string' || typeof parsed.url !== 'string' || typeof parsed.epoch !== 'number') return null;
  return { id: parsed.id, url: parsed.url, epoch: parsed.epoch };
}

/**
 * Until when a holder may act on a renewal that was sent at `sentAt` (its own monotonic clock):
 * the key expires `leaseMs` after Redis ran the renewal, which is after `sentAt`; stepping down
 * at SAFETY_SHARE of the lease leaves the rest for clock-rate differences.
 */
export function safeUntil(sentAt: number, leaseMs: number): number {
  return sentAt + Math.floor(leaseMs * SAFETY_SHARE);
}
