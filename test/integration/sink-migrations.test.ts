import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { RegistryClient } from '../../src/contracts/registry-client.ts';
import { registerSchemas } from '../../src/contracts/schema-workflow.ts';
import { PipelineError } from '../../src/errors.ts';
import { assertDatabaseContract, checkDatabaseContract } from '../../src/sink/contract-gate.ts';
import { createPool } from '../../src/sink/database.ts';
import { migrateDown, migrateUp, migrationStatus } from '../../src/sink/migrations.ts';
import { config, uniqueName } from '../support/services.ts';
import { catalog, migratedSchema } from '../support/sink-fixtures.ts';
import { uniqueCatalog } from '../support/unique-catalog.ts';

const migrationsDir = config.migrationsDir;
const ALL = [
  '20251128140000000_pipeline-offsets',
  '20251128140100000_dead-letters',
  '20251128140200000_orders',
  '20251128140300000_page-views',
  '20251128140400000_orders-v2',
  '20251128150000000_dead-letters-kafka-timestamp',
  '20251129150000000_shipments',
  '20261129150000000_dead-letters-raw-headers',
  '20261129160000000_refunds',
];
const LAST = ALL.length - 1;
const RAW_HEADERS = ALL.indexOf('20261129150000000_dead-letters-raw-headers');

async function tables(pool: import('pg').Pool): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>(
    "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'pgmigrations' ORDER BY 1",
  );
  return rows.map((r) => r.t);
}

test('migrations go up, down to zero and up again in their own schema; the gate then finds nothing', async (t) => {
  const { settings, pool } = await migratedSchema(t, 'mig');
  t.deepEqual(await migrationStatus(settings, migrationsDir), {
    applied: ALL,
    pending: [],
    missingFiles: [],
  });
  t.deepEqual(await tables(pool), [
    'dead_letters',
    'orders',
    'page_views',
    'pipeline_offsets',
    'refunds',
    'shipments',
  ]);
  t.deepEqual(await checkDatabaseContract(pool, catalog, migrationsDir), []);

  t.deepEqual(await migrateDown(settings, { migrationsDir }), [ALL[LAST]], 'down is one step by default');
  t.deepEqual(
    await migrateDown(settings, { migrationsDir, count: Number.POSITIVE_INFINITY }),
    ALL.slice(0, LAST).reverse(),
  );
  t.deepEqual(await tables(pool), []);
  t.deepEqual(await migrationStatus(settings, migrationsDir), {
    applied: [],
    pending: ALL,
    missingFiles: [],
  });

  t.deepEqual(await migrateUp(settings, { migrationsDir, count: 2 }), ALL.slice(0, 2));
  t.deepEqual(await migrateUp(settings, { migrationsDir }), ALL.slice(2));
  t.deepEqual(await migrateUp(settings, { migrationsDir }), [], 'a second up finds nothing to do');
  t.deepEqual(await checkDatabaseContract(pool, catalog, migrationsDir), []);
});

test('the gate names pending migrations and what they would add', async (t) => {
  const { settings, pool } = await migratedSchema(t, 'gate');
  await migrateDown(settings, { migrationsDir, count: 5 });
  const problems = await checkDatabaseContract(pool, catalog, migrationsDir);
  t.deepEqual(
    problems.map((p) => `${p.kind} ${p.subject}`),
    [
      'migration-pending 20251128140400000_orders-v2',
      'migration-pending 20251128150000000_dead-letters-kafka-timestamp',
      'migration-pending 20251129150000000_shipments',
      'migration-pending 20261129150000000_dead-letters-raw-headers',
      'migration-pending 20261129160000000_refunds',
      'column-missing dead_letters.header_keys',
      'column-missing dead_letters.header_values',
      'column-missing dead_letters.kafka_timestamp',
      'enum-check orders.status',
      'column-missing orders.coupon_code',
      'column-missing orders.delivery_date',
      'table-missing shipments',
      'table-missing refunds',
    ],
  );
  t.regex(problems[8]!.message, /refuses the symbol\(s\) REFUNDED/);
  const error = await t.throwsAsync(assertDatabaseContract(pool, catalog, migrationsDir), {
    instanceOf: PipelineError,
  });
  t.is(error.code, 'MIGRATIONS_PENDING');
  t.regex(error.message, /migration 20251128140400000_orders-v2 is not applied/);
  t.regex(error.message, /orders\.coupon_code: missing \(expected text\)/);
});

test('the gate names a column of the wrong type, nullability or key, expected vs found', async (t) => {
  const { pool } = await migratedSchema(t, 'gate');
  await pool.query('ALTER TABLE orders ALTER COLUMN total TYPE numeric(16,4)');
  await pool.query('ALTER TABLE page_views ALTER COLUMN viewed_at TYPE timestamp without time zone');
  await pool.query('ALTER TABLE page_views ALTER COLUMN referrer SET NOT NULL');
  await pool.query('ALTER TABLE page_views DROP COLUMN _kafka_timestamp');
  await pool.query('ALTER TABLE page_views ADD COLUMN extra text NOT NULL');
  await pool.query('ALTER TABLE orders DROP CONSTRAINT orders_pkey');
  const problems = await checkDatabaseContract(pool, catalog, migrationsDir);
  t.deepEqual(
    problems.map((p) => p.message),
    [
      'orders.total: expected numeric(14,2), found numeric(16,4)',
      'orders: primary key must be (order_id) for upsert mode, found none',
      'page_views.referrer: the schema allows null but the column is NOT NULL',
      'page_views.viewed_at: expected timestamp with time zone, found timestamp without time zone',
      'page_views._kafka_timestamp: missing (expected timestamp with time zone NOT NULL)',
      'page_views.extra: NOT NULL without a default and not in the reader schema: every insert fails',
    ],
  );
  const error = await t.throwsAsync(assertDatabaseContract(pool, catalog, migrationsDir), {
    instanceOf: PipelineError,
  });
  t.is(error.code, 'CONTRACT_MISMATCH');
});

test("the enum gate asks PostgreSQL: a CHECK status <> 'PAID' refuses PAID (was: passed, PAID matched as text)", async (t) => {
  const { pool } = await migratedSchema(t, 'gate');
  await pool.query(`ALTER TABLE orders ADD CONSTRAINT not_paid CHECK (status <> 'PAID')`);
  // Allows every symbol without listing any: the text match took it for refusing them all.
  await pool.query(`ALTER TABLE orders ADD CONSTRAINT currency_shape CHECK (currency ~ '^[A-Z]{3}$')`);
  await pool.query(`ALTER TABLE orders ADD CONSTRAINT short_status CHECK (length(status) < 20)`);
  const problems = await checkDatabaseContract(pool, catalog, migrationsDir);
  t.deepEqual(
    problems.map((p) => p.message),
    [`orders.status: CHECK ((status <> 'PAID'::text)) refuses the symbol(s) PAID`],
  );

  // A CHECK that raises for a symbol refuses it as surely as one that is false.
  await pool.query('ALTER TABLE orders DROP CONSTRAINT not_paid');
  await pool.query('ALTER TABLE orders ADD CONSTRAINT numeric_status CHECK ((status::integer) > 0)');
  const raised = await checkDatabaseContract(pool, catalog, migrationsDir);
  t.is(raised.length, 1);
  t.regex(
    raised[0]!.message,
    /^orders\.status: CHECK .*integer.* fails for the symbols \(invalid input syntax/,
  );
});

test('the gate on a schema that does not exist: every migration pending', async (t) => {
  const pool = createPool({ ...config.database, schema: uniqueName('absent') }, { max: 1, log: t.log });
  t.teardown(() => pool.end());
  const problems = await checkDatabaseContract(pool, catalog, migrationsDir);
  t.deepEqual(
    problems.map((p) => p.kind),
    ['schema-missing', ...ALL.map(() => 'migration-pending')],
  );
});

const run = promisify(execFile);

// The registry half of `check` needs the catalog's subjects registered: a catalog of this file's own.
const cliCatalog = uniqueCatalog(uniqueName('cli'));
test.after.always(() => cliCatalog.remove());

async function pipeline(
  schema: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', ['bin/pipeline.js', ...args], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, DATABASE_SCHEMA: schema, PIPELINE_SCHEMAS_DIR: cliCatalog.dir },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('pipeline migrate up|down|status and pipeline check', async (t) => {
  const schema = uniqueName('cli');
  const { pool } = await migratedSchema(t, 'cli_keep');
  t.teardown(() => pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));

  const registry = new RegistryClient(config.registry);
  await registerSchemas(cliCatalog.catalog, registry, { allVersions: true });
  registry.close();

  const before = await pipeline(schema, 'check');
  t.is(before.code, 4, before.stderr);
  t.regex(before.stdout, /database {2}\d+ problem\(s\)\n {2}- schema .* does not exist/);
  t.regex(before.stderr, /MIGRATIONS_PENDING/);

  const up = await pipeline(schema, 'migrate', 'up');
  t.is(up.code, 0, up.stderr);
  t.is(up.stdout, ALL.map((n) => `applied   ${n}\n`).join(''));
  t.is((await pipeline(schema, 'check')).stdout, 'database  OK\nregistry  OK\n');

  const down = await pipeline(schema, 'migrate', 'down', '--count', '2');
  t.is(down.stdout, `reverted  ${ALL[LAST]}\nreverted  ${ALL[LAST - 1]}\n`);
  const status = await pipeline(schema, 'migrate', 'status');
  t.regex(
    status.stdout,
    new RegExp(
      `${LAST - 1} applied, 2 pending\\n(.|\\n)*pending   ${ALL[LAST - 1]}\\npending   ${ALL[LAST]}\\n$`,
    ),
  );
  t.is((await pipeline(schema, 'migrate', 'sideways')).code, 2);
});

test('the raw-headers migration carries the old jsonb headers over, and back on down', async (t) => {
  const { settings, pool } = await migratedSchema(t, 'hdr');
  const fromRawHeaders = ALL.slice(RAW_HEADERS);
  t.deepEqual(
    await migrateDown(settings, { migrationsDir, count: fromRawHeaders.length }),
    fromRawHeaders.toReversed(),
  );
  await pool.query(
    `INSERT INTO dead_letters (consumer_group, topic, partition, "offset", headers, error_class, message)
     VALUES ('g', 't', 0, 1, '{"trace": "t-1", "é": "x,y"}', 'E', 'm'), ('g', 't', 0, 2, '{}', 'E', 'm')`,
  );
  t.deepEqual(await migrateUp(settings, { migrationsDir }), fromRawHeaders);
  const up = await pool.query(`SELECT header_keys, header_values FROM dead_letters ORDER BY "offset"`);
  t.deepEqual(up.rows[0], {
    header_keys: [Buffer.from('é'), Buffer.from('trace')],
    header_values: [Buffer.from('x,y'), Buffer.from('t-1')],
  });
  t.deepEqual(up.rows[1], { header_keys: [], header_values: [] });

  await pool.query(
    `UPDATE dead_letters SET header_keys = ARRAY['\\x6e'::bytea, '\\x6e'::bytea], header_values = ARRAY['\\x00ff'::bytea, NULL] WHERE "offset" = 2`,
  );
  await t.throwsAsync(
    pool.query(`UPDATE dead_letters SET header_keys = ARRAY['\\x6e'::bytea] WHERE "offset" = 2`),
    { message: /dead_letters_header_pairs/ },
    'one value per key',
  );
  t.deepEqual(
    await migrateDown(settings, { migrationsDir, count: fromRawHeaders.length }),
    fromRawHeaders.toReversed(),
  );
  const down = await pool.query(`SELECT headers FROM dead_letters ORDER BY "offset"`);
  t.deepEqual(down.rows[0].headers, { trace: 't-1', é: 'x,y' });
  t.deepEqual(down.rows[1].headers, { n: null }, 'the last of a repeated key wins going down');
  await migrateUp(settings, { migrationsDir });
});
