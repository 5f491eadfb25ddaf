/** What the numbers were measured on: they only mean something next to the machine and its load. */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  kafka: string;
  postgres: string;
  loadAverage: number[];
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The broker's version from the jar the local stack runs (kafka_2.13-<version>.jar); unknown elsewhere. */
function kafkaVersion(stackDir: string): string {
  try {
    for (const cache of readdirSync(join(stackDir, 'cache'))) {
      for (const file of readdirSync(join(stackDir, 'cache', cache, 'lib'))) {
        const match = /^kafka_2\.13-(\d+\.\d+\.\d+)\.jar$/.exec(file);
        if (match) return match[1]!;
      }
    }
  } catch {
    // Not the local stack: nothing to read.
  }
  return 'unknown';
}

export async function machineInfo(pool: pg.Pool, stackDir: string): Promise<MachineInfo> {
  const { rows } = await pool.query<{ v: string }>('SELECT current_setting($1) AS v', ['server_version']);
  return {
    cpus: availableParallelism(),
    cpuModel: cpuModel(),
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kafka: kafkaVersion(stackDir),
    postgres: rows[0]?.v ?? 'unknown',
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
