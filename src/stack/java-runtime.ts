import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../errors.ts';

export interface JavaRuntime {
  executable: string;
  major: number;
}

function majorVersionOf(executable: string): number | undefined {
  // -XshowSettings prints on stderr, one parseable property per line.
  const probe = spawnSync(executable, ['-XshowSettings:properties', '-version'], { encoding: 'utf8' });
  if (probe.error) return undefined;
  return parse(`${probe.stdout}${probe.stderr}`);
}

function parse(text: string): number | undefined {
  const match = /java\.specification\.version = (\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}

function candidates(): string[] {
  const list = ['java'];
  const jvmRoot = '/usr/lib/jvm';
  if (existsSync(jvmRoot)) {
    for (const entry of readdirSync(jvmRoot).sort().reverse()) {
      const executable = join(jvmRoot, entry, 'bin', 'java');
      if (existsSync(executable)) list.push(executable);
    }
  }
  return list;
}

/**
 * Finds a JDK of at least `minMajor`: the configured home first (and only it, when set), then `java` on the
 * PATH, then the JDKs under /usr/lib/jvm, newest name first.
 */
export function findJava(
  service: string,
  minMajor: number,
  configuredHome: string | undefined,
  variable: string,
): JavaRuntime {
  const tried: string[] = [];
  const list = configuredHome ? [join(configuredHome, 'bin', 'java')] : candidates();
  for (const executable of list) {
    const major = majorVersionOf(executable);
    tried.push(`${executable}: ${major ?? 'not runnable'}`);
    if (major !== undefined && major >= minMajor) return { executable, major };
  }
  throw new PipelineError(
    'STACK_PREREQUISITE_MISSING',
    `${service} needs Java ${minMajor} or newer; none found (${tried.join('; ')}). Install a JDK ${minMajor}+ or set ${variable} to one.`,
  );
}
