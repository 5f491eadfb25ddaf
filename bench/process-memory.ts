/**
 * Resident memory of another process, from /proc/<pid>/status (Linux): what the kernel charges it, the number
 * an operator's container limit is compared with, unlike V8's heap statistics.
 */
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  /** Resident set size now, in MB. */
  rssMb: number;
  /** Peak resident set size since the process started (VmHWM), in MB. */
  peakMb: number;
}

function field(status: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match ? Number(match[1]) / 1024 : undefined;
}

/** Undefined once the process is gone (or on a system without /proc). */
export function readProcessMemory(pid: number): ProcessMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const rssMb = field(status, 'VmRSS');
  const peakMb = field(status, 'VmHWM');
  return rssMb === undefined || peakMb === undefined ? undefined : { rssMb, peakMb };
}

/** Samples a process' RSS at a fixed interval until stopped; keeps the VmHWM seen last. */
export class MemorySampler {
  readonly samples: { atMs: number; rssMb: number }[] = [];
  peakMb = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    intervalMs = 250,
  ) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const memory = readProcessMemory(this.pid);
    if (memory === undefined) return;
    this.samples.push({ atMs: performance.now(), rssMb: memory.rssMb });
    this.peakMb = Math.max(this.peakMb, memory.peakMb);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.sample();
  }

  /** Median RSS of the samples taken in [fromMs, toMs] (performance.now() times); NaN without any. */
  medianBetween(fromMs: number, toMs: number): number {
    const inside = this.between(fromMs, toMs).sort((a, b) => a - b);
    return inside.length === 0 ? Number.NaN : inside[Math.floor(inside.length / 2)]!;
  }

  /** Highest RSS sampled in [fromMs, toMs]; NaN without any. */
  maxBetween(fromMs: number, toMs: number): number {
    const inside = this.between(fromMs, toMs);
    return inside.length === 0 ? Number.NaN : Math.max(...inside);
  }

  private between(fromMs: number, toMs: number): number[] {
    return this.samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs).map((s) => s.rssMb);
  }
}
