/**
 * What `pipeline consume` loads: the modules a long-running consumer carries stay in its memory for its whole
 * life, so those it never calls are loaded only when asked for (see docs/performance.md, "Steady RSS").
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { projectRoot } from '../../src/config.ts';

/**
 * Every module a fresh process has loaded after importing `modules`: the URLs an ES resolve hook saw (it logs
 * them to a file) and the paths in the CommonJS cache (requires inside CommonJS packages bypass the hook).
 */
function resolvedWhileImporting(modules: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'consume-imports-'));
  try {
    const log = join(dir, 'resolved.txt');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
  return resolved;
}\n`,
    );
    const register = join(dir, 'register.mjs');
    writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    writeFileSync(log, '');
    const script = [
      ...modules.map((m) => `await import(${JSON.stringify(pathToFileURL(join(projectRoot, m)).href)});`),
      `const { createRequire } = await import('node:module');`,
      `process.stdout.write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`,
    ];
    const required = JSON.parse(
      execFileSync(
        process.execPath,
        ['--import', register, '--import', 'tsx', '--input-type=module', '-e', script.join('\n')],
        { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    ) as string[];
    return [...readFileSync(log, 'utf8').split('\n').filter(Boolean), ...required];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loads = (urls: string[], pkg: string) => urls.some((u) => u.includes(`/node_modules/${pkg}/`));

test('pipeline consume loads neither node-pg-migrate, prom-client nor ajv/protobufjs until asked (was: ~7 MB of heap for its life)', (t) => {
  // The consume command and everything it imports up front: the start-up gate (applied migrations), the
  // registry client, the consumer.
  const urls = resolvedWhileImporting(['src/cli/consume-command.ts']);
  // The check sees both kinds: packages our modules import, and those CommonJS code requires.
  t.true(loads(urls, 'kafkajs'), 'kafkajs is seen');
  t.true(
    loads(urls, 'mappersmith'),
    "the registry library's HTTP client (required by its API client) is seen",
  );
  t.true(
    urls.some((u) => u.endsWith('/src/sink/migrations.ts')),
    'the migrations module is loaded (the gate reads the applied migrations)',
  );
  for (const pkg of ['node-pg-migrate', 'prom-client', 'ajv', 'protobufjs']) t.false(loads(urls, pkg), pkg);

  // And they are there when asked for: the metrics with METRICS_PORT, the runner with `pipeline migrate`.
  const asked = resolvedWhileImporting([
    'src/observability/consumer-metrics.ts',
    'src/cli/migrate-command.ts',
  ]);
  t.true(loads(asked, 'prom-client'));
});
