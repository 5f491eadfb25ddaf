// npm's `prepare` (run by `npm ci` and `npm install` in a checkout, and before `npm pack`): builds dist/ when
// the TypeScript compiler is installed and dist/ is not already current. `npm ci --omit=dev` has no compiler:
// the install must not fail for that, so it says what it skipped and succeeds; the CLI then runs a build the
// checkout carries (a production image copies one in) or says how to get one. The packed tarball needs none
// of this: it carries dist/ (and npm runs the `prepare` of a tarball dependency only once approved).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildIsCurrent, projectRoot } from '../bin/entry-point.js';

function compilerInstalled() {
  try {
    createRequire(join(projectRoot, 'package.json')).resolve('typescript/bin/tsc');
    return true;
  } catch {
    return false;
  }
}

const hasBuild = existsSync(join(projectRoot, 'dist', 'src', 'index.js'));
if (!existsSync(join(projectRoot, 'src'))) {
  // An installed tarball (npm asks before running `prepare` of a non-registry dependency): dist/ is all.
  process.stdout.write('prepare: an installed package, built when it was packed: nothing to do\n');
} else if (!compilerInstalled()) {
  process.stdout.write(
    `prepare: TypeScript is not installed (dev dependencies omitted): not building; ${
      hasBuild
        ? 'the existing dist/ is used'
        : 'there is no dist/, so `pipeline` needs `npm ci` with the dev dependencies, or the packed tarball'
    }\n`,
  );
} else if (hasBuild && buildIsCurrent(projectRoot)) {
  process.stdout.write('prepare: dist/ is newer than every source: not building again\n');
} else {
  const built = spawnSync(process.execPath, [join(projectRoot, 'scripts', 'build.js')], { stdio: 'inherit' });
  process.exitCode = built.status ?? 1;
}
