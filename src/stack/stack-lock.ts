import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PipelineError } from '../errors.ts';
import { isAlive, processStartTime, readPid } from './service-process.ts';

/**
 * One stack command at a time per stack folder: two `stack:up` at once would both find a port free, both
 * spawn, and leave an orphan that no pid file names. The lock is a file created exclusively, holding the
 * owner's pid and start time; one left by a dead process is taken over.
 */
export async function withStackLock<T>(
  stackDir: string,
  timeoutMs: number,
  work: () => Promise<T>,
): Promise<T> {
  const lockFile = join(stackDir, 'run', 'stack.lock');
  mkdirSync(join(stackDir, 'run'), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(lockFile, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readPid(lockFile);
      if (holder !== undefined && !isAlive(holder)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new PipelineError(
          'STACK_START_FAILED',
          `another stack command (pid ${holder ?? 'unknown'}) still holds ${lockFile}; wait for it, or remove the file if no such process runs`,
        );
      }
      await delay(200);
      continue;
    }
    try {
      writeSync(fd, `${process.pid} ${processStartTime(process.pid) ?? ''}\n`);
    } finally {
      closeSync(fd);
    }
    break;
  }
  try {
    return await work();
  } finally {
    rmSync(lockFile, { force: true });
  }
}
