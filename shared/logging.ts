import pino, { Logger } from 'pino';

export type { Logger };

export interface LoggingOptions {
  /** pino level: trace, debug, info, warn, error, fatal, silent. */
  level: string;
  /** Human-readable lines (pino-pretty) instead of JSON; default: when stderr is a terminal. */
  pretty: boolean;
  /** Where the lines go: 'stderr' (default) or 'stdout'. */
  destination?: 'stdout' | 'stderr';
}

/**
 * The process's root logger. Components take child loggers with bound fields:
 * `logger.child({ component: 'tree' })`. Messages are fixed event names; details go in fields.
 */
export function createLogger(options: LoggingOptions): Logger {
  const fd = options.destination === 'stdout' ? 1 : 2;
  if (options.pretty) {
    const transport = pino.transport({
      target: 'pino-pretty',
      options: { destination: fd, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
    });
    return pino({ level: options.level, base: undefined }, transport);
  }
  return pino({ level: options.level, base: { pid: process.pid } }, pino.destination({ dest: fd, sync: false }));
}

/**
 * Logging options for a process from its environment: SAMSA_LOG_LEVEL (default info, a flag
 * wins) and SAMSA_LOG_PRETTY=true|false (default: pretty when stderr is a terminal).
 */
export function loggingOptionsFromEnv(env: NodeJS.ProcessEnv, levelFlag?: string): LoggingOptions {
  const pretty = env.SAMSA_LOG_PRETTY === 'true' ? true : env.SAMSA_LOG_PRETTY === 'false' ? false : Boolean(process.stderr.isTTY);
  return { level: levelFlag ?? env.SAMSA_LOG_LEVEL ?? 'info', pretty };
}

export function defaultLoggingOptions(): LoggingOptions {
  return { level: 'info', pretty: Boolean(process.stderr.isTTY) };
}
