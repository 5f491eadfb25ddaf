/**
 * The production artifact as a user gets it: `npm pack` of a copy of this checkout, installed into an empty
 * folder (production dependencies only: no TypeScript, no tsx anywhere it could be found), then the
 * installed `pipeline` against the running services and the package imported as a library. Also a copy of
 * the checkout installed with `npm ci --omit=dev`, which used to fail in `prepare` (exit 127, no tsc).
 *
 * The copies keep this test away from the checkout's own dist/, which other test files run from.
 */
import { type ExecFileException, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { projectRoot } from '../../src/config.ts';
import { waitUntil } from '../support/cli-process.ts';
import { config, databasePool, uniqueName } from '../support/services.ts';
import { uniqueCatalog } from '../support/unique-catalog.ts';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env,
        timeout: options.timeoutMs ?? 240_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (error: ExecFileException | null, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const described = (r: Ran) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/**
 * What a user's shell would have: no npm lifecycle variables of the `npm test` running this, no loader in
 * NODE_OPTIONS, and none of this checkout's pipeline settings (each command gets its own explicitly).
 */
const baseEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) =>
      ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_EXTRA_CA_CERTS'].includes(name) ||
      /^(https?_proxy|no_proxy)$/i.test(name),
  ),
);

const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd, env: baseEnv });

/** What the tarball and a checkout need to build: the package's files plus its sources and build settings. */
const CHECKOUT_ENTRIES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'LICENSE',
  'bin',
  'scripts',
  'src',
  'bench',
  'schemas',
  'migrations',
];

function copyCheckout(to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of CHECKOUT_ENTRIES)
    cpSync(join(projectRoot, entry), join(to, entry), { recursive: true });
}

const devDependencies = (
  JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  }
).devDependencies;
const migrationNames = readdirSync(join(projectRoot, 'migrations'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

const work = mkdtempSync(join(tmpdir(), 'package-tarball-'));
const packed = join(work, 'packed');
const app = join(work, 'app');
const omitDev = join(work, 'omit-dev');
let tarball = '';
let tarballFiles: string[] = [];
let omitDevInstall: Ran;

test.before(async (t) => {
  t.timeout(400_000);
  // The packing copy borrows this checkout's node_modules (only `npm pack` runs there, which never changes
  // them); the --omit=dev copy installs its own.
  copyCheckout(packed);
  symlinkSync(join(projectRoot, 'node_modules'), join(packed, 'node_modules'), 'dir');
  copyCheckout(omitDev);
  const [pack, ci] = await Promise.all([
    npm(['pack', '--pack-destination', work], packed),
    npm(['ci', '--omit=dev'], omitDev),
  ]);
  omitDevInstall = ci;
  if (pack.code !== 0) throw new Error(`npm pack failed: ${described(pack)}`);
  const name = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (name === undefined) throw new Error(`npm pack wrote no tarball: ${described(pack)}`);
  tarball = join(work, name);
  const listing = await run('tar', ['-tzf', tarball], { cwd: work, env: baseEnv });
  tarballFiles = listing.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^package\//, ''));

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // The type packages only for the docs/install.md example's type check below (a TypeScript user's own choice).
  const install = await npm(
    [
      'install',
      tarball,
      `@types/node@${devDependencies['@types/node']}`,
      `@types/pg@${devDependencies['@types/pg']}`,
    ],
    app,
  );
  if (install.code !== 0) throw new Error(`npm install of the tarball failed: ${described(install)}`);
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

test('the tarball carries compiled JavaScript, declarations, schemas, migrations, bin and an exports map; no sources', (t) => {
  for (const file of [
    'bin/pipeline.js',
    'bin/entry-point.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cli/main.js',
    'dist/src/contracts/generated/events.d.ts',
    'schemas/catalog.json',
    'scripts/prepare.js',
    ...migrationNames.map((m) => `migrations/${m}.ts`),
  ]) {
    t.true(tarballFiles.includes(file), `${file} in the tarball`);
  }
  t.deepEqual(
    tarballFiles.filter((f) => /^(src|test|bench|dist\/bench)\//.test(f) || f === '.env'),
    [],
    'no sources, tests, benchmark or local settings',
  );
  const manifest = JSON.parse(
    readFileSync(join(app, 'node_modules', 'schema-first-pipeline', 'package.json'), 'utf8'),
  );
  t.is(manifest.private, undefined);
  t.deepEqual(manifest.bin, { pipeline: './bin/pipeline.js' });
  t.deepEqual(manifest.exports['.'], { types: './dist/src/index.d.ts', default: './dist/src/index.js' });
  // Installed: the production dependencies, and neither the TypeScript compiler nor its loader.
  for (const dev of ['typescript', 'tsx', 'ava', '@biomejs/biome']) {
    t.false(existsSync(join(app, 'node_modules', dev)), `${dev} is not installed`);
  }
});

test('importing the installed package runs nothing: no output, no connection, exits by itself with 0', async (t) => {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { port } = server.address() as { port: number };
  const cli = join(app, 'node_modules', 'schema-first-pipeline', 'dist', 'src', 'cli', 'main.js');
  const script = [
    "const api = await import('schema-first-pipeline');",
    "const types = await import('schema-first-pipeline/generated');",
    `const cli = await import(${JSON.stringify(cli)});`,
    "const expected = ['TypedProducer', 'PipelineConsumer', 'loadCatalog', 'loadConfig', 'createKafka', 'createPool', 'RegistryClient', 'MessageDecoder', 'migrateUp'];",
    "const missing = expected.filter((name) => typeof api[name] !== 'function');",
    "if (missing.length > 0 || typeof cli.main !== 'function' || Object.keys(types).length !== 0) process.exit(3);",
  ].join('\n');
  const imported = await run(process.execPath, ['--input-type=module', '--eval', script], {
    cwd: app,
    timeoutMs: 30_000,
    env: {
      ...baseEnv,
      KAFKA_BROKERS: `127.0.0.1:${port}`,
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/db`,
    },
  });
  t.is(imported.code, 0, described(imported));
  t.is(imported.stdout, '');
  t.is(imported.stderr, '');
  t.is(connections, 0);
});

test('the library example of docs/install.md type-checks against the installed declarations, and a wrong event does not', async (t) => {
  const readme = readFileSync(join(projectRoot, 'docs', 'install.md'), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Use as a library')))?.[1];
  if (example === undefined) return t.fail('no ts example under "Use as a library"');
  writeFileSync(join(app, 'example.ts'), example);
  writeFileSync(
    join(app, 'wrong-shape.ts'),
    [
      "import type { TypedProducer } from 'schema-first-pipeline';",
      'declare const producer: TypedProducer;',
      "await producer.send('shop.orders', [{ order_id: 42 }]);",
    ].join('\n'),
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2023',
        strict: true,
        noEmit: true,
        // The package's own declarations are checked too.
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['example.ts', 'wrong-shape.ts'],
    }),
  );
  // One compiler run for both files (a run checks every declaration again: tens of seconds here).
  const tsc = join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const checked = await run(process.execPath, [tsc, '-p', app], { cwd: app, env: baseEnv });
  const errors = checked.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
  t.is(checked.code, 2, described(checked));
  t.true(errors.length > 0);
  t.deepEqual(
    errors.filter((line) => !line.startsWith('wrong-shape.ts(3,')),
    [],
    'the docs/install.md example and the package declarations compile; only the wrong event is refused',
  );
});

test('installed without dev dependencies: pipeline --help, migrate up, then a short produce and consume into PostgreSQL', async (t) => {
  t.timeout(180_000);
  const catalog = uniqueCatalog(uniqueName('tarball'));
  t.teardown(() => catalog.remove());
  const schema = uniqueName('tarball');
  const group = uniqueName('tarball');
  const pool = databasePool();
  t.teardown(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    KAFKA_BROKERS: config.kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: config.registry.url,
    DATABASE_URL: config.database.connectionString,
    DATABASE_SCHEMA: schema,
    CONSUMER_GROUP_ID: group,
    PIPELINE_SCHEMAS_DIR: catalog.dir,
  };
  const bin = join(app, 'node_modules', '.bin', 'pipeline');
  const pipeline = (...args: string[]) => run(bin, args, { cwd: app, env, timeoutMs: 120_000 });

  const help = await pipeline('--help');
  t.is(help.code, 0, described(help));
  t.regex(help.stdout, /^usage: pipeline <command>/);
  t.regex(help.stdout, /\n {2}consume /);

  // The TypeScript migrations, loaded by node-pg-migrate's jiti from the installed package.
  const up = await pipeline('migrate', 'up');
  t.is(up.code, 0, described(up));
  t.is(up.stdout, migrationNames.map((n) => `applied   ${n}\n`).join(''));

  for (const step of [
    ['topics', 'create'],
    ['schemas', 'register', '--all-versions'],
  ]) {
    const ran = await pipeline(...step);
    t.is(ran.code, 0, `${step.join(' ')}: ${described(ran)}`);
  }
  const count = 40;
  const topics = [catalog.topic('shop.orders'), catalog.topic('shop.page-views')];
  for (const topic of topics) {
    const produced = await pipeline('produce', '--topic', topic, '--count', String(count), '--seed', '7');
    t.is(produced.code, 0, `produce ${topic}: ${described(produced)}`);
  }

  const consumer = spawn(bin, ['consume', '--progress-seconds', '0'], {
    cwd: app,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [consumer.stdout, consumer.stderr])
    stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(consumer, 'exit');
  t.teardown(() => {
    if (consumer.exitCode === null && consumer.signalCode === null) consumer.kill('SIGKILL');
  });
  await waitUntil(
    `the consumer stored offset ${count} for both topics (output so far: ${output})`,
    async () => {
      if (consumer.exitCode !== null) throw new Error(`pipeline consume exited early:\n${output}`);
      const { rows } = await pool.query<{ topic: string; next: string }>(
        `SELECT topic, sum(next_offset)::text AS next FROM "${schema}".pipeline_offsets
          WHERE consumer_group = $1 GROUP BY topic`,
        [group],
      );
      return topics.every((topic) => rows.find((r) => r.topic === topic)?.next === String(count));
    },
    90_000,
  );
  consumer.kill('SIGTERM');
  const [code] = await exited;
  t.is(code, 0, output);

  const counted = async (table: string) =>
    Number(
      (await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".${table}`)).rows[0]?.n,
    );
  t.is(await counted('page_views'), count, 'insert topic: one row per event');
  const orders = await counted('orders');
  t.true(orders >= 1 && orders <= count, `upsert topic: one row per order key (${orders})`);
  t.is(await counted('dead_letters'), 0);
});

test('npm ci --omit=dev in a checkout succeeds, and pipeline then says how to build (was: exit 127 from prepare, ERR_MODULE_NOT_FOUND for tsx)', async (t) => {
  t.is(omitDevInstall.code, 0, described(omitDevInstall));
  t.regex(omitDevInstall.stdout, /prepare: TypeScript is not installed .*not building/);
  t.false(existsSync(join(omitDev, 'node_modules', 'typescript')));

  const unbuilt = await run(process.execPath, ['bin/pipeline.js', '--help'], { cwd: omitDev, env: baseEnv });
  t.is(unbuilt.code, 1, described(unbuilt));
  t.regex(unbuilt.stderr, /^error: this checkout is not built .*`npm ci`.*tarball/);
  t.notRegex(unbuilt.stderr, /ERR_MODULE_NOT_FOUND/);

  // With a build copied in (what the Dockerfile's runtime stage does), the CLI runs without any dev tool.
  cpSync(join(packed, 'dist'), join(omitDev, 'dist'), { recursive: true });
  const built = await run(process.execPath, ['bin/pipeline.js', '--help'], { cwd: omitDev, env: baseEnv });
  t.is(built.code, 0, described(built));
  t.regex(built.stdout, /^usage: pipeline <command>/);
});
