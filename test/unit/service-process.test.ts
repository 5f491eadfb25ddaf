import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import test from 'ava';
import { processStartTime, readPid, writePidFile } from '../../src/stack/service-process.ts';
import { withStackLock } from '../../src/stack/stack-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'service-process-'));

test('a pid file names its process only while that very process lives (was: any process reusing the pid)', (t) => {
  const file = join(dir, 'self.pid');
  writePidFile(file, process.pid);
  t.is(readPid(file), process.pid);
  // The same pid with another start time: after a reboot or a pid reuse, not ours to signal.
  writeFileSync(file, `${process.pid} ${Number(processStartTime(process.pid)) + 1}\n`);
  t.is(readPid(file), undefined);
});

test('stack commands on one folder run one at a time; a lock left by a dead process is taken over', async (t) => {
  const events: string[] = [];
  const job = (name: string) =>
    withStackLock(dir, 10_000, async () => {
      events.push(`${name} in`);
      await delay(100);
      events.push(`${name} out`);
    });
  await Promise.all([job('a'), job('b')]);
  t.deepEqual(events, ['a in', 'a out', 'b in', 'b out']);

  // A pid that cannot exist (above the kernel's pid_max) holds a stale lock.
  writeFileSync(join(dir, 'run', 'stack.lock'), '999999999 1\n');
  await withStackLock(dir, 1000, async () => events.push('c'));
  t.is(events.at(-1), 'c');
});
