/**
 * The chaos run's settings: defaults <- environment <- flags (`--seconds=60` or
 * `--seconds 60`, `--verbose`). Pure: the caller passes env, argv and a random seed to use
 * when none is given.
 */
export interface ChaosOptions {
  /** How long producers write while faults are injected (SECONDS). */
  seconds: number;
  /** Seeds the fault schedule (SEED); printed with every report. */
  seed: number;
  /** Brokers in the private cluster (BROKERS, at least the replication factor). */
  brokers: number;
  topics: number;
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
  producers: number;
  consumers: number;
  /** The brokers' coordinator session timeout. */
  sessionTimeoutMs: number;
  /**
   * Faults to inject at least: the run goes on past `seconds` until there were this many,
   * for at most another `seconds` (a short test run asserts a count, not a machine's speed).
   */
  minFaults: number;
  /** Log every fault and heal (VERBOSE=1 or --verbose). */
  verbose: boolean;
  /** Keep the cluster's directory (logs, data) even when the run passes. */
  keep: boolean;
}

export const CHAOS_DEFAULTS: Omit<ChaosOptions, 'seed'> = Object.freeze({
  seconds: 600,
  brokers: 5,
  topics: 2,
  partitions: 6,
  replicationFactor: 3,
  minInsyncReplicas: 2,
  producers: 3,
  consumers: 2,
  sessionTimeoutMs: 3000,
  minFaults: 0,
  verbose: false,
  keep: false,
});

export class ChaosOptionsError extends Error {
  override readonly name = 'ChaosOptionsError';
}

/** Flag name -> environment variable and bounds. */
const NUMBERS: Record<string, { option: keyof ChaosOptions; env: string; min: number; max: number }> = {
  seconds: { option: 'seconds', env: 'SECONDS', min: 1, max: 7 * 24 * 3600 },
  seed: { option: 'seed', env: 'SEED', min: 0, max: 2 ** 31 - 1 },
  brokers: { option: 'brokers', env: 'BROKERS', min: 1, max: 50 },
  topics: { option: 'topics', env: 'TOPICS', min: 1, max: 100 },
  partitions: { option: 'partitions', env: 'PARTITIONS', min: 1, max: 1000 },
  'replication-factor': { option: 'replicationFactor', env: 'REPLICATION_FACTOR', min: 1, max: 50 },
  'min-insync-replicas': { option: 'minInsyncReplicas', env: 'MIN_ISR', min: 1, max: 50 },
  producers: { option: 'producers', env: 'PRODUCERS', min: 1, max: 100 },
  consumers: { option: 'consumers', env: 'CONSUMERS', min: 0, max: 100 },
  'session-timeout-ms': { option: 'sessionTimeoutMs', env: 'SESSION_TIMEOUT_MS', min: 100, max: 600_000 },
  'min-faults': { option: 'minFaults', env: 'MIN_FAULTS', min: 0, max: 1_000_000 },
};
const BOOLEANS: Record<string, { option: keyof ChaosOptions; env: string }> = {
  verbose: { option: 'verbose', env: 'VERBOSE' },
  keep: { option: 'keep', env: 'KEEP' },
};

function truthy(text: string): boolean {
  return text !== '' && text !== '0' && text.toLowerCase() !== 'false';
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ChaosOptionsError(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (name in BOOLEANS) flags.set(name, inline ?? 'true');
    else if (name in NUMBERS) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new ChaosOptionsError(`--${name} needs a value`);
      flags.set(name, value);
    } else throw new ChaosOptionsError(`unknown flag --${name}`);
  }
  return flags;
}

export function parseChaosOptions(env: NodeJS.ProcessEnv, argv: readonly string[], randomSeed: number): ChaosOptions {
  const flags = parseFlags(argv);
  const options: ChaosOptions = { ...CHAOS_DEFAULTS, seed: randomSeed };
  const mutable = options as unknown as Record<string, number | boolean>;
  for (const [flag, spec] of Object.entries(NUMBERS)) {
    const text = flags.get(flag) ?? env[spec.env];
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < spec.min || value > spec.max) throw new ChaosOptionsError(`--${flag} (${spec.env}) must be an integer from ${spec.min} to ${spec.max}, got ${text}`);
    mutable[spec.option] = value;
  }
  for (const [flag, spec] of Object.entries(BOOLEANS)) {
    const text = flags.get(flag) ?? env[spec.env];
    if (text !== undefined) mutable[spec.option] = truthy(text);
  }
  if (options.replicationFactor > options.brokers) throw new ChaosOptionsError(`the replication factor ${options.replicationFactor} needs at least as many brokers (${options.brokers})`);
  if (options.minInsyncReplicas > options.replicationFactor) throw new ChaosOptionsError(`min.insync.replicas ${options.minInsyncReplicas} is above the replication factor ${options.replicationFactor}`);
  return Object.freeze(options);
}

/** The command that reruns this exact schedule (settings that differ from the defaults as environment variables). */
export function rerunCommand(options: ChaosOptions): string {
  const extra: string[] = [];
  for (const spec of Object.values(NUMBERS)) {
    if (['seconds', 'seed', 'brokers'].includes(spec.option)) continue;
    const value = options[spec.option];
    if (value !== CHAOS_DEFAULTS[spec.option as keyof typeof CHAOS_DEFAULTS]) extra.push(`${spec.env}=${String(value)}`);
  }
  return `${extra.length > 0 ? `${extra.join(' ')} ` : ''}make chaos SEED=${options.seed} SECONDS=${options.seconds} BROKERS=${options.brokers}`;
}
