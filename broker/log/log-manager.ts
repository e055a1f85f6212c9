/**
 * The broker's partition logs: one directory per partition, `<topic>-<partition>`, under the
 * data directory (Kafka's layout).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from '../../shared/logging';
import { LogConfig, PartitionLog } from './partition-log';

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export class LogManager {
  private readonly logs = new Map<string, PartitionLog>();

  constructor(
    readonly dataDir: string,
    private readonly logger: Logger,
  ) {
    fs.mkdirSync(dataDir, { recursive: true });
  }

  /** Partition directories present on disk, e.g. from before a restart. */
  onDisk(): Array<{ topic: string; partition: number }> {
    const out: Array<{ topic: string; partition: number }> = [];
    for (const name of fs.readdirSync(this.dataDir)) {
      const match = /^(.+)-(\d+)$/.exec(name);
      if (match !== null && fs.statSync(path.join(this.dataDir, name)).isDirectory()) out.push({ topic: match[1]!, partition: Number(match[2]) });
    }
    return out;
  }

  async open(topic: string, partition: number, config: LogConfig, now: number): Promise<PartitionLog> {
    const key = partitionDirName(topic, partition);
    const existing = this.logs.get(key);
    if (existing !== undefined) return existing;
    const log = await PartitionLog.open(path.join(this.dataDir, key), config, this.logger, now);
    this.logs.set(key, log);
    return log;
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(partitionDirName(topic, partition));
  }

  async delete(topic: string, partition: number): Promise<void> {
    const key = partitionDirName(topic, partition);
    const log = this.logs.get(key);
    this.logs.delete(key);
    if (log !== undefined) await log.delete();
    else await fs.promises.rm(path.join(this.dataDir, key), { recursive: true, force: true });
  }

  all(): PartitionLog[] {
    return [...this.logs.values()];
  }

  /** Clean shutdown of every log (each fsyncs, writes its indexes and its clean-shutdown marker). */
  async closeAll(): Promise<void> {
    const logs = [...this.logs.values()];
    this.logs.clear();
    await Promise.all(logs.map((log) => log.close()));
  }
}
