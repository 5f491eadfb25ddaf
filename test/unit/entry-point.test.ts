import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { entryPoint, projectRoot, tsxInstalled } from '../../bin/entry-point.js';

/** A checkout with src/cli/main.ts and its compiled dist/src/cli/main.js, both at second 1000. */
function checkout(t: ExecutionContext, options: { src?: boolean; compiled?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'entry-point-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  if (options.src ?? true) {
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    writeFileSync(join(root, 'src', 'cli', 'main.ts'), '');
    for (const path of ['src', 'src/cli', 'src/cli/main.ts']) at(join(root, path), 1000);
  }
  if (options.compiled ?? true) {
    mkdirSync(join(root, 'dist', 'src', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'src', 'cli', 'main.js'), '');
  }
  return root;
}

function at(path: string, seconds: number): void {
  utimesSync(path, seconds, seconds);
}

test('the compiled entry runs only while the build is newer than every source', (t) => {
  const root = checkout(t);
  t.deepEqual(
    entryPoint('src/cli/main.ts', root, true),
    {
      path: join(root, 'src', 'cli', 'main.ts'),
      execArgv: ['--import', 'tsx'],
    },
    'never built: the source through tsx',
  );

  writeFileSync(join(root, 'dist', '.built'), '');
  at(join(root, 'dist', '.built'), 2000);
  t.deepEqual(entryPoint('src/cli/main.ts', root, true), {
    path: join(root, 'dist', 'src', 'cli', 'main.js'),
    execArgv: [],
  });

  // An edit after the build, or a file added or removed (its folder changes), makes the build stale.
  at(join(root, 'src', 'cli', 'main.ts'), 3000);
  t.is(entryPoint('src/cli/main.ts', root, true).execArgv.length, 2);
  at(join(root, 'src', 'cli', 'main.ts'), 1000);
  at(join(root, 'src', 'cli'), 3000);
  t.is(entryPoint('src/cli/main.ts', root, true).execArgv.length, 2);
});

test('the bench writing its results does not make the build stale (was: its later modes ran through tsx, ~35 MB more RSS)', (t) => {
  const root = checkout(t);
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'run.ts'), '');
  for (const path of ['bench', 'bench/results', 'bench/run.ts']) at(join(root, path), 1000);
  writeFileSync(join(root, 'dist', '.built'), '');
  at(join(root, 'dist', '.built'), 2000);
  const compiled = { path: join(root, 'dist', 'src', 'cli', 'main.js'), execArgv: [] };
  t.deepEqual(entryPoint('src/cli/main.ts', root, true), compiled);

  // A profile and the report written during the run, then an edit of a file that is not TypeScript.
  writeFileSync(join(root, 'bench', 'results', 'pipeline-copy.cpuprofile'), '');
  writeFileSync(join(root, 'bench', 'results', 'latest.md'), '');
  at(join(root, 'bench', 'results'), 3000);
  at(join(root, 'bench', 'results', 'pipeline-copy.cpuprofile'), 3000);
  at(join(root, 'bench', 'results', 'latest.md'), 3000);
  writeFileSync(join(root, 'src', 'cli', 'notes.md'), '');
  at(join(root, 'src', 'cli'), 1000);
  at(join(root, 'src', 'cli', 'notes.md'), 3000);
  t.deepEqual(entryPoint('src/cli/main.ts', root, true), compiled);

  // A TypeScript file edited under bench/ still counts.
  at(join(root, 'bench', 'run.ts'), 3000);
  t.is(entryPoint('src/cli/main.ts', root, true).execArgv.length, 2);
});

test('an installed package (dist/ without src/) runs its build, stamp or not, without tsx', (t) => {
  const root = checkout(t, { src: false });
  t.deepEqual(entryPoint('src/cli/main.ts', root, false), {
    path: join(root, 'dist', 'src', 'cli', 'main.js'),
    execArgv: [],
  });
});

test('without tsx a stale build still runs, with a warning (was: ERR_MODULE_NOT_FOUND for tsx)', (t) => {
  const root = checkout(t);
  const entry = entryPoint('src/cli/main.ts', root, false);
  t.is(entry.path, join(root, 'dist', 'src', 'cli', 'main.js'));
  t.deepEqual(entry.execArgv, []);
  t.regex(entry.warning ?? '', /tsx \(a dev dependency\) is not installed/);
  t.is(entry.problem, undefined);
});

test('without tsx and without a build the problem names the ways out (was: ERR_MODULE_NOT_FOUND for tsx)', (t) => {
  const root = checkout(t, { compiled: false });
  const entry = entryPoint('src/cli/main.ts', root, false);
  t.regex(entry.problem ?? '', /not built .*`npm ci`.*`npm run build`.*tarball/);
});

test('tsx is found from this checkout and not from an empty folder', (t) => {
  t.true(tsxInstalled(projectRoot));
  const empty = checkout(t, { src: false, compiled: false });
  t.false(tsxInstalled(empty));
});
