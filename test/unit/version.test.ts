import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { installedVersion, REPORTED_LIBRARIES, versionLines } from '../../src/cli/version.ts';
import { projectRoot } from '../../src/config.ts';

const run = promisify(execFile);

/** What npm installed, from the lock file: a source independent of the code under test. */
function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  return lock.packages[`node_modules/${name}`]!.version!;
}

test('the version report names the package, Node and the kafkajs/avsc/pg versions installed', (t) => {
  const own = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  t.deepEqual(versionLines(), [
    `schema-first-pipeline ${own.version}`,
    `node ${process.versions.node}`,
    ...REPORTED_LIBRARIES.map((name) => `${name} ${lockedVersion(name)}`),
  ]);
  t.deepEqual([...REPORTED_LIBRARIES], ['kafkajs', 'avsc', 'pg']);
});

test('a library that is not installed is reported as such, not as a crash', (t) => {
  t.is(installedVersion('no-such-package-schema-first-pipeline'), 'not installed');
});

// A load hook that fails the process as soon as one of the libraries' files is loaded: --version must
// answer without loading them (it is what a user runs when something is wrong).
const hooks = `export async function load(url, context, next) {
  if (/[\\/]node_modules[\\/](kafkajs|avsc|pg)[\\/]/.test(url)) throw new Error('loaded ' + url);
  return next(url, context);
}`;
const forbidLibraries = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`,
)}`;

test('pipeline --version prints the report, exits 0 and loads none of the libraries', async (t) => {
  for (const flag of ['--version', '-v']) {
    const { stdout } = await run(
      process.execPath,
      // Through bin/pipeline.js, as a user runs it (the CLI module only exports main).
      ['--import', forbidLibraries, join(projectRoot, 'bin', 'pipeline.js'), flag],
      { cwd: projectRoot },
    );
    t.deepEqual(stdout.trimEnd().split('\n'), versionLines(), flag);
  }
});

test('the load hook of the previous test does catch a library being loaded', async (t) => {
  const error = await t.throwsAsync(
    run(process.execPath, ['--import', forbidLibraries, '--input-type=module', '-e', "await import('pg')"], {
      cwd: projectRoot,
    }),
  );
  t.regex(String(error?.message), /loaded .*node_modules\/pg\//);
});
