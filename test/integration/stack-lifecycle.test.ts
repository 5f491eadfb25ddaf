import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parseStackSettings } from '../../src/config.ts';
import { postgresDataDirectory } from '../../src/stack/postgres-service.ts';
import { postgresAnswers } from '../../src/stack/readiness.ts';
import { isAlive, readPid } from '../../src/stack/service-process.ts';
import { stackDown, stackStatus, stackUp } from '../../src/stack/stack.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

// A stack of its own (PostgreSQL only: Kafka and the registry are "external" here), in a private temporary
// folder, as a CI checkout under a 0700 directory would be.
test('stack up twice, status, down: idempotent, and nothing left running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-lifecycle-'));
  const settings = parseStackSettings({
    STACK_DIR: dir,
    STACK_POSTGRES_PORT: String(await freePort()),
    KAFKA_BROKERS: '127.0.0.1:1',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
  });
  t.teardown(async () => {
    await stackDown(settings, () => undefined);
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(postgresDataDirectory(dir), '..'), { recursive: true, force: true });
  });
  const lines: string[] = [];
  await stackUp(settings, (line) => lines.push(line));
  const pidFile = join(dir, 'run', 'postgres.pid');
  const pid = readPid(pidFile)!;
  t.true(isAlive(pid));
  const env = readFileSync(join(dir, 'stack.env'), 'utf8');
  const url = /^DATABASE_URL=(.+)$/m.exec(env)?.[1];
  t.truthy(url, env);
  t.true(await postgresAnswers(url!));

  await stackUp(settings, (line) => lines.push(line));
  t.is(readPid(pidFile), pid, 'the second up keeps the running server');
  t.true(
    lines.some((l) => /PostgreSQL already running/.test(l)),
    lines.join('\n'),
  );
  t.deepEqual(
    (await stackStatus(settings)).map((s) => [s.name, s.state]),
    [
      ['kafka', 'external'],
      ['registry', 'external'],
      ['postgres', 'ready'],
    ],
  );

  await stackDown(settings, () => undefined);
  t.false(isAlive(pid), 'the server is gone');
  t.false(existsSync(pidFile));
  t.false(existsSync(join(dir, 'stack.env')));
  t.false(await postgresAnswers(url!));
});
