// Chooses how to run a TypeScript entry point: its compiled JavaScript in dist/ when that build is newer than
// every source file (no loader in the process: about 35 MB less for a long-running consumer, and a faster
// start), else the source itself through tsx, so that an edit is never run stale.
//
// An installed package (the npm tarball, a production image) has dist/ and no src/: the build is then all
// there is and runs as it is. A checkout installed without its dev dependencies (`npm ci --omit=dev`) has no
// tsx: a build it carries runs (stale or not, with a warning), and without one the problem is said plainly
// instead of ending in tsx's ERR_MODULE_NOT_FOUND.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Newest modification time of what the build compiles: the TypeScript (and JSON, which TypeScript may import)
 * files of a folder and its subfolders, and the folders themselves (a deleted file changes its folder).
 * Other files do not count, nor the folders in `outputs`: `npm run bench` writes its profiles and results
 * into bench/results while it runs, and counting them made every process it started afterwards run its
 * TypeScript through tsx (about 35 MB more RSS) instead of the build it had just checked.
 * @param {string} dir
 * @param {ReadonlySet<string>} outputs
 */
function newestIn(dir, outputs) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!outputs.has(path)) newest = Math.max(newest, newestIn(path, outputs));
    } else if (/\.(ts|json)$/.test(entry.name)) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/** Whether the TypeScript loader (a dev dependency) can be loaded from the project root. */
export function tsxInstalled(root = projectRoot) {
  try {
    createRequire(join(root, 'package.json')).resolve('tsx/package.json');
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether dist/ holds a build of the current sources: its stamp is newer than every TypeScript file and
 * folder under src/ and bench/ (bench/results, the bench's output, aside), or there are no sources to be
 * newer than (an installed package ships dist/ alone).
 * @param {string} root
 */
export function buildIsCurrent(root = projectRoot) {
  const sources = ['src', 'bench'].map((d) => join(root, d)).filter((d) => existsSync(d));
  if (sources.length === 0) return true;
  const stamp = join(root, 'dist', '.built');
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  const outputs = new Set([join(root, 'bench', 'results')]);
  return sources.every((d) => newestIn(d, outputs) <= built);
}

/**
 * @param {string} source path of a .ts file under src/ or bench/, relative to the project root
 * @param {string} [root] the project root (default: this checkout)
 * @param {boolean} [tsx] whether tsx can be loaded (default: looked up from the root)
 * @returns {{ path: string, execArgv: string[], warning?: string, problem?: string }} the file to run and
 *   the node flags it needs; `warning` to print before running it; `problem` when nothing can run
 */
export function entryPoint(source, root = projectRoot, tsx = undefined) {
  const compiled = join(root, 'dist', source.replace(/\.ts$/, '.js'));
  const hasCompiled = existsSync(compiled);
  if (hasCompiled && buildIsCurrent(root)) return { path: compiled, execArgv: [] };
  if (tsx ?? tsxInstalled(root)) return { path: join(root, source), execArgv: ['--import', 'tsx'] };
  if (hasCompiled) {
    return {
      path: compiled,
      execArgv: [],
      warning:
        'dist/ is older than the sources and tsx (a dev dependency) is not installed: running the build as it is (`npm run build` with the dev dependencies updates it)',
    };
  }
  return {
    path: compiled,
    execArgv: [],
    problem:
      'this checkout is not built and has no dev dependencies to run its TypeScript: run `npm ci` (which builds through `prepare`) or `npm run build` with the dev dependencies installed, or install the packed tarball (`npm pack`), which carries the compiled JavaScript',
  };
}

/** For messages: which of the two ran. */
export function describeEntry(entry) {
  return relative(projectRoot, entry.path);
}
