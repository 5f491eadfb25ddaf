import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { commandIndex } from '../../src/cli/command-index.ts';
import { projectRoot } from '../../src/config.ts';

const run = promisify(execFile);

/** `pipeline <args>` in `cwd` with only PATH set: no service variable leaks in from the test's environment. */
async function pipeline(cwd: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [join(projectRoot, 'bin', 'pipeline.js'), ...args], {
      cwd,
      env: { PATH: process.env.PATH, STACK_DIR: join(cwd, '.stack') },
    });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

function emptyFolder(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-args-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a stray positional argument is a usage error (was: `pipeline consume extra` consumed everything)', async (t) => {
  const dir = emptyFolder(t);
  const consume = await pipeline(dir, 'consume', 'extra');
  t.is(consume.code, 2, consume.stderr);
  t.regex(consume.stderr, /unexpected argument "extra"/);
  const migrate = await pipeline(dir, 'migrate', 'status', 'now', 'please');
  t.is(migrate.code, 2, migrate.stderr);
  t.regex(migrate.stderr, /unexpected arguments "now" "please"/);
});

test('every command declares the positional words it takes, and no more', async (t) => {
  const takesAction = ['migrate', 'schemas', 'stack', 'topics'];
  for (const entry of commandIndex) {
    const command = await entry.load();
    t.deepEqual(command.positionals ?? [], takesAction.includes(entry.name) ? ['action'] : [], entry.name);
  }
});

test('a malformed .env stops the CLI naming the line (was: the next line, DATABASE_URL, was ignored)', async (t) => {
  const dir = emptyFolder(t);
  writeFileSync(
    join(dir, '.env'),
    'KAFKA_BROKERS=127.0.0.1:1\nSCHEMA_REGISTRY_URL=http://127.0.0.1:1\nFOO\nDATABASE_URL=postgres://u@127.0.0.1:1/x\n',
  );
  const check = await pipeline(dir, 'check');
  t.is(check.code, 3, check.stderr);
  t.regex(check.stderr, /\.env:3: not a NAME=value line/);
});
