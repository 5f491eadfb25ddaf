/**
 * Fetches the JVM services' artifacts from Maven Central with the pinned stack/pom.xml, once per pom
 * content: a marker file records the hash of the pom that filled the cache.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config.ts';
import { PipelineError } from '../errors.ts';

export interface StackArtifacts {
  /** Folder of the broker's jars (the classpath is `<dir>/*`). */
  kafkaLibDir: string;
  /** Unpacked Apicurio Registry app (holds quarkus-run.jar). */
  registryAppDir: string;
}

const pomPath = join(projectRoot, 'stack', 'pom.xml');

function requireMaven(): void {
  const probe = spawnSync('mvn', ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new PipelineError(
      'STACK_PREREQUISITE_MISSING',
      'Maven (mvn) is not on the PATH: it fetches Kafka and Apicurio from Maven Central. Install Maven 3.8+ (apt-get install maven).',
    );
  }
}

export function ensureArtifacts(cacheRoot: string, log: (line: string) => void): StackArtifacts {
  const pom = readFileSync(pomPath);
  const hash = createHash('sha256').update(pom).digest('hex').slice(0, 16);
  const cacheDir = join(cacheRoot, hash);
  const libDir = join(cacheDir, 'lib');
  const registryAppDir = join(cacheDir, 'apicurio');
  const marker = join(cacheDir, 'complete');
  if (existsSync(marker)) return { kafkaLibDir: libDir, registryAppDir };

  requireMaven();
  rmSync(cacheDir, { recursive: true, force: true });
  mkdirSync(libDir, { recursive: true });
  log('fetching Kafka and Apicurio Registry from Maven Central (first run only)…');
  const mvn = spawnSync(
    'mvn',
    ['-B', '-q', '-f', pomPath, 'dependency:copy-dependencies', `-DoutputDirectory=${libDir}`],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (mvn.status !== 0) {
    const output = `${mvn.stdout}${mvn.stderr}`.trim().split('\n').slice(-8).join('\n');
    throw new PipelineError(
      'STACK_DOWNLOAD_FAILED',
      `mvn could not fetch the stack's artifacts (is Maven Central reachable?):\n${output}`,
    );
  }

  const tarball = readdirSync(libDir).find(
    (f) => f.startsWith('apicurio-registry-app') && f.endsWith('.tar.gz'),
  );
  if (tarball === undefined) {
    throw new PipelineError(
      'STACK_DOWNLOAD_FAILED',
      'the Apicurio Registry tarball is missing after mvn ran',
    );
  }
  mkdirSync(registryAppDir, { recursive: true });
  try {
    execFileSync('tar', ['-xzf', join(libDir, tarball), '-C', registryAppDir], { stdio: 'pipe' });
  } catch (error) {
    throw new PipelineError('STACK_DOWNLOAD_FAILED', `cannot unpack ${tarball}`, { cause: error });
  }
  // The tarball is unpacked; keeping it would only double the cache.
  rmSync(join(libDir, tarball));
  if (!existsSync(join(registryAppDir, 'quarkus-run.jar'))) {
    throw new PipelineError('STACK_DOWNLOAD_FAILED', `${tarball} has no quarkus-run.jar at its root`);
  }
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return { kafkaLibDir: libDir, registryAppDir };
}
