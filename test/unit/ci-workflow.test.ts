import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { projectRoot } from '../../src/config.ts';

/**
 * .ci/run is the source of truth of what CI runs; the public workflow spells the same commands out as steps.
 * Both are reduced to their npm commands (and the CLI's `stack down`), with `npm test` and any `npm run`
 * script that only chains other npm commands expanded through package.json, and compared in order.
 */

interface Workflow {
  jobs: Record<
    string,
    {
      strategy?: { matrix?: { node?: unknown[] } };
      steps: { uses?: string; run?: string; if?: string; with?: Record<string, unknown> }[];
    }
  >;
}

const scripts = (
  JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;

// An environment assignment before the command (STACK_DIR=… node bin/pipeline.js …) is part of it.
const RELEVANT = /^([A-Z_]+=\S+ )*(npm |node bin\/pipeline\.js )/;

function expand(command: string): string[] {
  const script = command === 'npm test' ? 'test' : /^npm run ([\w:-]+)$/.exec(command)?.[1];
  const body = script === undefined ? undefined : scripts[script];
  if (body === undefined) return [command];
  const parts = body.split(' && ').map((p) => p.trim());
  // A script that does anything but chain npm commands is a command of its own.
  return parts.every((p) => p.startsWith('npm ')) ? parts.flatMap(expand) : [command];
}

function commandsOfShell(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => RELEVANT.test(line))
    .map((line) => line.replace(/\s*\|\|\s*true$/, ''))
    .flatMap(expand);
}

function ciRun(): { commands: string[]; onExit: string[] } {
  const text = readFileSync(join(projectRoot, '.ci', 'run'), 'utf8');
  const trap = /^trap '(.*)' EXIT$/m.exec(text);
  // The trap's commands are one line, separated by `;`.
  return {
    commands: commandsOfShell(text),
    onExit: trap ? commandsOfShell(trap[1]!.replaceAll(';', '\n')) : [],
  };
}

function workflow(): { workflow: Workflow; commands: string[]; onExit: string[] } {
  const parsed = parse(readFileSync(join(projectRoot, '.github', 'workflows', 'ci.yml'), 'utf8')) as Workflow;
  const steps = Object.values(parsed.jobs).flatMap((job) => job.steps);
  const always = (s: { if?: string }) => s.if === 'always()';
  return {
    workflow: parsed,
    commands: steps.filter((s) => !always(s)).flatMap((s) => commandsOfShell(s.run ?? '')),
    onExit: steps.filter(always).flatMap((s) => commandsOfShell(s.run ?? '')),
  };
}

test('the GitHub workflow runs the same npm commands as .ci/run, in the same order', (t) => {
  const ci = ciRun();
  const gh = workflow();
  t.true(ci.commands.includes('npm run lint'), 'npm test was expanded through package.json');
  t.true(ci.commands.some((c) => c.startsWith('npm ci')));
  t.deepEqual(gh.commands, ci.commands);
});

test('the workflow stops the local stack whatever happened, as the trap of .ci/run does', (t) => {
  const ci = ciRun();
  t.deepEqual(ci.onExit, [
    'node bin/pipeline.js stack down',
    'STACK_DIR=.stack/integrity-25000 node bin/pipeline.js stack down',
  ]);
  t.deepEqual(workflow().onExit, ci.onExit);
});

test('the workflow covers every supported Node major, with Java 21 and cached downloads', (t) => {
  const { workflow: parsed } = workflow();
  const [job] = Object.values(parsed.jobs);
  t.deepEqual(job?.strategy?.matrix?.node, [20, 22, 24]);
  const uses = (prefix: string) => job!.steps.find((s) => s.uses?.startsWith(prefix));
  t.is(uses('actions/setup-node')?.with?.cache, 'npm');
  t.is(uses('actions/setup-java')?.with?.['java-version'], '21');
  t.is(uses('actions/setup-java')?.with?.cache, 'maven');
  t.is(uses('actions/cache')?.with?.path, '.stack/cache');
});

test('expanding package.json scripts stops at a script that is not a chain of npm commands', (t) => {
  t.deepEqual(expand('npm run lint'), ['npm run lint']);
  t.deepEqual(expand('npm ci --no-audit --no-fund'), ['npm ci --no-audit --no-fund']);
  t.deepEqual(
    commandsOfShell('node --version\n  npm run lint  \n# npm run x\nnode bin/pipeline.js stack down || true'),
    ['npm run lint', 'node bin/pipeline.js stack down'],
  );
});
