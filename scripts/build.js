// `npm run build`: the compiled JavaScript and type declarations in dist/, from a clean folder so that a
// module deleted from src/ cannot linger in dist/ (nor in the packed tarball), then the stamp
// bin/entry-point.js compares with the sources.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from '../bin/entry-point.js';

const tsc = createRequire(join(projectRoot, 'package.json')).resolve('typescript/bin/tsc');
rmSync(join(projectRoot, 'dist'), { recursive: true, force: true });
const built = spawnSync(process.execPath, [tsc, '-p', join(projectRoot, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (built.status !== 0) process.exit(built.status ?? 1);
writeFileSync(join(projectRoot, 'dist', '.built'), '');
