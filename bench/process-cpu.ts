/**
 * CPU time of another process, from /proc/<pid>/stat (Linux): user + system time in clock ticks, the kernel's
 * own accounting of what the process cost, threads (libuv's pool, V8's GC helpers) included.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK` (USER_HZ), 100 where it cannot be asked: the value of every Linux on x86 and arm. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticksPerSecond = Number.isSafeInteger(value) && value > 0 ? value : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * utime + stime of a /proc/<pid>/stat line, in ticks. The command name (field 2) is in parentheses and may
 * hold spaces, so the fields are counted after its closing parenthesis: utime and stime are fields 14 and 15.
 */
export function cpuTicksOfStat(stat: string): number {
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after[0] is field 3 (state): field n is after[n - 3].
  const utime = Number(after[11]);
  const stime = Number(after[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new RangeError(`unreadable stat line: ${stat}`);
  return utime + stime;
}

/** User + system CPU time of a process so far, in ms; undefined once it is gone (or without /proc). */
export function readProcessCpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return (cpuTicksOfStat(stat) * 1000) / clockTicksPerSecond();
}
