/**
 * CPU time of the whole machine, from the first line of /proc/stat (Linux): what Kafka, PostgreSQL and the
 * consumer cost together. On a machine where they share the cores, the pipeline's throughput cannot exceed
 * the raw COPY limit × (the raw COPY's machine CPU per row ÷ the pipeline's machine CPU per event): the
 * ceiling that a ratio to the raw limit is read against.
 */
import { readFileSync } from 'node:fs';
import { clockTicksPerSecond } from './process-cpu.ts';

export interface MachineCpu {
  /** user + nice + system + irq + softirq + steal, in ms, summed over every CPU. */
  busyMs: number;
}

/** The aggregate `cpu` line's busy time; idle and iowait are left out. */
export function machineCpuOfStat(stat: string): MachineCpu {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  const fields = line?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f)))
    throw new RangeError(`unreadable /proc/stat cpu line: ${line}`);
  const [user, nice, system, , , irq, softirq, steal] = fields as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { busyMs: ((user + nice + system + irq + softirq + steal) * 1000) / clockTicksPerSecond() };
}

/** The machine's busy CPU time so far; undefined without /proc. */
export function readMachineCpu(): MachineCpu | undefined {
  try {
    return machineCpuOfStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}
