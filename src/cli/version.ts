/**
 * `pipeline --version`: what a bug report needs to reproduce a run. The libraries' versions are read from
 * the package.json files Node resolves at run time (not from our package.json's ranges), and nothing here
 * loads a library: asking for the version stays instant.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../config.ts';

/** The libraries that decide the pipeline's behaviour on the wire and in the database. */
export const REPORTED_LIBRARIES = ['kafkajs', 'avsc', 'pg'] as const;

interface Manifest {
  name?: unknown;
  version?: unknown;
}

function readManifest(path: string): Manifest {
  return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
}

/** The version of the copy of `name` that `import` would load, or `not installed`. */
export function installedVersion(name: string): string {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(name));
  } catch {
    return 'not installed';
  }
  // The entry point may sit deep inside the package (lib/, esm/): the package's own manifest is the first
  // package.json above it that carries its name.
  for (let dir = dirname(entry); dirname(dir) !== dir; dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) {
      const manifest = readManifest(path);
      if (manifest.name === name) return String(manifest.version);
    }
  }
  return 'unknown';
}

/** One line per component, `name version`. */
export function versionLines(): string[] {
  const own = readManifest(join(projectRoot, 'package.json'));
  return [
    `${String(own.name)} ${String(own.version)}`,
    `node ${process.versions.node}`,
    ...REPORTED_LIBRARIES.map((name) => `${name} ${installedVersion(name)}`),
  ];
}
