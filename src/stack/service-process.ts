/**
 * Detached service processes with pid files: the stack outlives the command that started it, and a later
 * `stack:down` (even after a crash) finds what is left from the pid files alone.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PipelineError } from '../errors.ts';

export interface SpawnOptions {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/** Starts the command in its own process group, stdout and stderr appended to the log file. */
export function spawnDetached(options: SpawnOptions): number {
  mkdirSync(dirname(options.logFile), { recursive: true });
  mkdirSync(dirname(options.pidFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
    });
    if (child.pid === undefined)
      throw new PipelineError('STACK_START_FAILED', `could not start ${options.command}`);
    child.unref();
    writePidFile(options.pidFile, child.pid);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** Kernel start time of a process (clock ticks since boot, /proc/<pid>/stat field 22); undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * A pid file holds the pid and the process's start time: after a reboot, or once the pid is reused, the
 * number alone would name someone else's process, and `stack:down` would signal it.
 */
export function writePidFile(pidFile: string, pid: number): void {
  writeFileSync(pidFile, `${pid} ${processStartTime(pid) ?? ''}\n`);
}

/** The pid in the file, if that very process (same start time) still exists. */
export function readPid(pidFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const [rawPid, recorded] = text.trim().split(/\s+/);
  const pid = Number.parseInt(rawPid ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const now = processStartTime(pid);
  if (now === undefined) return pid; // gone: isAlive says so; the file is cleaned up by the caller
  return recorded === undefined || recorded === '' || recorded === now ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie answers signal 0 too; /proc tells it apart.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * Stops a process group: the polite signal first, SIGKILL after `graceMs`. Resolves when nothing is left.
 */
export async function stopProcessGroup(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  send(signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(100);
  if (isAlive(pid)) {
    send('SIGKILL');
    while (isAlive(pid)) await delay(50);
  }
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

/** The last lines of a log, for an error message that shows why a service did not start. */
export function tailOfFile(path: string, lines = 25): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}
