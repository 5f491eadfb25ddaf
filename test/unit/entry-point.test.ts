import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { entryPoint } from '../../bin/entry-point.js';

test('the compiled entry runs only while the build is newer than every source', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'entry-point-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  mkdirSync(join(root, 'dist', 'src', 'cli'), { recursive: true });
  writeFileSync(join(root, 'src', 'cli', 'main.ts'), '');
  writeFileSync(join(root, 'dist', 'src', 'cli', 'main.js'), '');
  for (const dir of ['src', 'src/cli']) at(join(root, dir), 1000);
  at(join(root, 'src', 'cli', 'main.ts'), 1000);

  t.deepEqual(
    entryPoint('src/cli/main.ts', root),
    {
      path: join(root, 'src', 'cli', 'main.ts'),
      execArgv: ['--import', 'tsx'],
    },
    'never built: the source through tsx',
  );

  writeFileSync(join(root, 'dist', '.built'), '');
  at(join(root, 'dist', '.built'), 2000);
  t.deepEqual(entryPoint('src/cli/main.ts', root), {
    path: join(root, 'dist', 'src', 'cli', 'main.js'),
    execArgv: [],
  });

  // An edit after the build, or a file added or removed (its folder changes), makes the build stale.
  at(join(root, 'src', 'cli', 'main.ts'), 3000);
  t.is(entryPoint('src/cli/main.ts', root).execArgv.length, 2);
  at(join(root, 'src', 'cli', 'main.ts'), 1000);
  at(join(root, 'src', 'cli'), 3000);
  t.is(entryPoint('src/cli/main.ts', root).execArgv.length, 2);
});
