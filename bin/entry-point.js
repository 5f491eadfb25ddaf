// Chooses how to run a TypeScript entry point: its compiled JavaScript in dist/ when that build is newer than
// every source file (no loader in the process: about 35 MB less for a long-running consumer, and a faster
// start), else the source itself through tsx, so that an edit is never run stale.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time of a folder, its files and its subfolders (a deleted file changes its folder). */
function newestIn(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * @param {string} source path of a .ts file under src/ or bench/, relative to the project root
 * @param {string} [root] the project root (default: this checkout)
 * @returns {{ path: string, execArgv: string[] }} the file to run and the node flags it needs
 */
export function entryPoint(source, root = projectRoot) {
  const compiled = join(root, 'dist', source.replace(/\.ts$/, '.js'));
  const stamp = join(root, 'dist', '.built');
  if (existsSync(stamp) && existsSync(compiled)) {
    const built = statSync(stamp).mtimeMs;
    const sources = ['src', 'bench'].map((d) => join(root, d)).filter((d) => existsSync(d));
    if (sources.every((d) => newestIn(d) <= built)) return { path: compiled, execArgv: [] };
  }
  return { path: join(root, source), execArgv: ['--import', 'tsx'] };
}

/** For messages: which of the two ran. */
export function describeEntry(entry) {
  return relative(projectRoot, entry.path);
}
