/**
 * A schema change end to end: a v3 of orders only this test's catalog has, the TypeScript types generated
 * for it, its migration drafted by `pipeline migrate new --from-schema`, applied, and v1, v2 and v3 events
 * mixed in one topic consumed into the migrated table.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { projectRoot } from '../../src/config.ts';
import { entryFor, parseSchema } from '../../src/contracts/catalog.ts';
import { renderTypes } from '../../src/contracts/codegen.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { fieldColumns } from '../../src/sink/column-types.ts';
import { checkDatabaseContract, readTableShape } from '../../src/sink/contract-gate.ts';
import { createPool } from '../../src/sink/database.ts';
import { defaultLiteral, sqlString } from '../../src/sink/sql-literal.ts';
import { allTypesSchema } from '../support/all-types.ts';
import { spawnPipeline } from '../support/cli-process.ts';
import { consumeUntilCaughtUp } from '../support/consume-until-caught-up.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';
import { config, databasePool, uniqueName } from '../support/services.ts';

interface RawField {
  name: string;
  type: unknown;
  [key: string]: unknown;
}

const orderV2Json = JSON.parse(
  readFileSync(join(projectRoot, 'schemas', 'shop', 'order.v2.avsc'), 'utf8'),
) as {
  fields: RawField[];
  [key: string]: unknown;
};

/** v3: a new optional field, a new field with a default, a new status, a rename with an alias, a nested addition. */
const orderV3Schema = {
  ...orderV2Json,
  doc: 'v3 (test only): RETURNED status, coupon_code renamed promo_code, gift_message, channel, gift_wrap per line.',
  fields: [
    ...orderV2Json.fields.map((f): RawField => {
      const type = f.type as { symbols?: string[]; items?: { fields: RawField[] } };
      if (f.name === 'status') return { ...f, type: { ...type, symbols: [...type.symbols!, 'RETURNED'] } };
      if (f.name === 'coupon_code') return { ...f, name: 'promo_code', aliases: ['coupon_code'] };
      if (f.name === 'lines') {
        const items = type.items!;
        return {
          ...f,
          type: {
            ...type,
            items: {
              ...items,
              fields: [...items.fields, { name: 'gift_wrap', type: 'boolean', default: false }],
            },
          },
        };
      }
      return f;
    }),
    { name: 'gift_message', type: ['null', 'string'], default: null },
    {
      name: 'channel',
      type: { type: 'enum', name: 'SalesChannel', symbols: ['WEB', 'APP', 'STORE'] },
      default: 'WEB',
    },
  ],
};

/** A copy of the project's migrations: the draft is written there, never into migrations/. */
function migrationsCopy(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  cpSync(join(projectRoot, 'migrations'), dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Biome's verdict on a file as if it were in migrations/: the same text back, exit 0, when it is clean. */
function biomeCheck(text: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(
    join(projectRoot, 'node_modules', '.bin', 'biome'),
    ['check', '--write', '--stdin-file-path=migrations/draft.ts'],
    { input: text, encoding: 'utf8', cwd: projectRoot },
  );
}

const EXPECTED_UP = `export function up(pgm: MigrationBuilder): void {
  pgm.renameColumn('orders', 'coupon_code', 'promo_code');
  pgm.addColumns('orders', { gift_message: { type: 'text' } });
  pgm.addColumns('orders', { channel: { type: 'text', notNull: true, default: pgm.func("'WEB'") } });
  pgm.addConstraint('orders', 'orders_channel_check', { check: "\\"channel\\" IN ('WEB', 'APP', 'STORE')" });
  pgm.dropConstraint('orders', 'orders_status_check');
  pgm.addConstraint('orders', 'orders_status_check', {
    check: "\\"status\\" IN ('PLACED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'REFUNDED', 'RETURNED')",
  });
}`;

const EXPECTED_DOWN = `export function down(pgm: MigrationBuilder): void {
  // Fails while rows hold a symbol added here: a down migration must not silently rewrite data.
  pgm.dropConstraint('orders', 'orders_status_check');
  pgm.addConstraint(
    'orders',
    'orders_status_check',
    "CHECK ((status = ANY (ARRAY['PLACED'::text, 'PAID'::text, 'SHIPPED'::text, 'DELIVERED'::text, 'CANCELLED'::text, 'REFUNDED'::text])))",
  );
  pgm.dropConstraint('orders', 'orders_channel_check');
  pgm.dropColumns('orders', ['channel']);
  pgm.dropColumns('orders', ['gift_message']);
  pgm.renameColumn('orders', 'promo_code', 'coupon_code');
}`;

async function scratchSchemas(pool: import('pg').Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    "SELECT nspname::text AS name FROM pg_namespace WHERE nspname LIKE 'pipeline\\_draft\\_%'",
  );
  return rows.map((r) => r.name);
}

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function orderV1(n: number): Record<string, unknown> {
  return {
    order_id: uuid(n),
    customer_id: 9_007_199_254_740_000 + n,
    version: n,
    status: 'SHIPPED',
    currency: 'GBP',
    lines: [{ sku: `SKU-${n}`, quantity: n, unit_price: '0.01' }],
    total: `${n}.50`,
    placed_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)),
    updated_at: new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 999)),
  };
}

function orderV2(n: number): Record<string, unknown> {
  return { ...orderV1(n), status: 'REFUNDED', coupon_code: `it's-${n}`, delivery_date: '2026-02-28' };
}

function orderV3(n: number): Record<string, unknown> {
  const { coupon_code: _, ...v2 } = orderV2(n);
  return {
    ...v2,
    status: 'RETURNED',
    lines: [{ sku: `SKU-${n}`, quantity: 1, unit_price: '12.34', gift_wrap: true }],
    promo_code: n % 2 === 0 ? null : `PROMO\\${n}`,
    gift_message: `Happy birthday, "Ö" ${n}`,
    channel: 'APP',
  };
}

/** The row a sent event must become under the v3 reader: defaults for what its writer version lacks. */
function expectedRow(event: Record<string, unknown>): Record<string, unknown> {
  return {
    order_id: event.order_id,
    customer_id: String(event.customer_id),
    version: event.version,
    status: event.status,
    currency: event.currency,
    lines: (event.lines as Record<string, unknown>[]).map((l) => ({ gift_wrap: false, ...l })),
    total: event.total,
    placed_ms: String((event.placed_at as Date).getTime()),
    updated_ms: String((event.updated_at as Date).getTime()),
    promo_code: 'promo_code' in event ? event.promo_code : (event.coupon_code ?? null),
    delivery_date: event.delivery_date ?? null,
    gift_message: event.gift_message ?? null,
    channel: event.channel ?? 'WEB',
  };
}

const READBACK = `
  SELECT order_id::text, customer_id::text, version, status, currency, lines, total::text,
         (extract(epoch FROM placed_at) * 1000)::bigint::text AS placed_ms,
         (extract(epoch FROM updated_at) * 1000)::bigint::text AS updated_ms,
         promo_code, delivery_date::text, gift_message, channel
    FROM orders ORDER BY version`;

test('orders v3: codegen, the drafted migration, migrate up, v1 + v2 + v3 mixed in one topic, every row field by field', async (t) => {
  const migrationsDir = migrationsCopy(t);
  const fx = await createPipelineFixture(t, {
    files: { 'shop/order.v3.avsc': orderV3Schema },
    edit: (entries) => entries.find((e) => e.topic === 'shop.orders')!.schemas.push('shop/order.v3.avsc'),
    migrationsDir,
  });
  const topic = fx.topic('shop.orders');
  t.is(entryFor(fx.catalog, topic).reader.version, 3);
  const before = await readTableShape(fx.pool, 'orders');

  // codegen: the v3 types beside v1 and v2, v3 the reader.
  const types = renderTypes(fx.catalog);
  for (const line of [
    'export interface OrderV3 {',
    '  promo_code: string | null;',
    '  gift_message: string | null;',
    '  channel: SalesChannelV3;',
    'export type OrderStatusV3 =',
    "  | 'RETURNED';",
    '  gift_wrap: boolean;',
    'export type Order = OrderV3;',
  ]) {
    t.true(types.includes(`${line}\n`), line);
  }
  t.regex(types, /'[^']*shop\.orders': \{ 1: OrderV1; 2: OrderV2; 3: OrderV3 \};/);

  const gateBefore = await checkDatabaseContract(fx.pool, fx.catalog, migrationsDir);
  t.deepEqual(
    gateBefore.map((p) => `${p.kind} ${p.subject}`),
    [
      'enum-check orders.status',
      'column-missing orders.promo_code',
      'column-missing orders.gift_message',
      'column-missing orders.channel',
    ],
    'the v2 table does not take v3',
  );

  const scratchBefore = await scratchSchemas(fx.pool);
  const draft = spawnPipeline(t, ['migrate', 'new', '--from-schema', topic], fx.env);
  t.is(await draft.exited, 0, draft.output());
  const files = readdirSync(migrationsDir).filter((f) =>
    f.endsWith(`_${topic.replace(/[^a-z0-9]+/g, '-')}-v3.ts`),
  );
  t.is(files.length, 1, readdirSync(migrationsDir).join(', '));
  const file = join(migrationsDir, files[0]!);
  const text = readFileSync(file, 'utf8');
  t.true(text.includes(EXPECTED_UP), text);
  t.true(text.includes(EXPECTED_DOWN), text);
  t.notRegex(text, /NEEDS REVIEW/);
  t.regex(draft.output(), /rename column coupon_code to promo_code/);
  t.regex(draft.output(), /add column channel text NOT NULL DEFAULT 'WEB'/);
  const biome = biomeCheck(text);
  t.is(biome.status, 0, biome.stderr);
  t.is(biome.stdout, text, 'the draft is in Biome format already');
  t.deepEqual(
    (await scratchSchemas(fx.pool)).filter((name) => !scratchBefore.includes(name)),
    [],
    'the scratch schema is dropped',
  );

  const up = spawnPipeline(t, ['migrate', 'up'], fx.env);
  t.is(await up.exited, 0, up.output());
  t.deepEqual(await checkDatabaseContract(fx.pool, fx.catalog, migrationsDir), [], 'the gate lets v3 in');
  const again = spawnPipeline(t, ['migrate', 'new', '--from-schema', topic], fx.env);
  t.is(await again.exited, 0, again.output());
  t.regex(again.output(), /orders already takes shop\/order\.v3\.avsc.*nothing to migrate/);

  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const sent: Record<string, unknown>[] = [];
  const send = async (version: number, events: Record<string, unknown>[]) => {
    await producer.sendUnchecked(topic, version, events);
    sent.push(...events);
  };
  // Interleaved, as during a rolling upgrade of producers.
  await send(1, [1, 2, 3].map(orderV1));
  await send(3, [4, 5, 6].map(orderV3));
  await send(2, [7, 8].map(orderV2));
  await send(1, [9].map(orderV1));
  await send(3, [10].map(orderV3));
  await send(2, [11].map(orderV2));
  await consumeUntilCaughtUp(fx);

  const { rows } = await fx.pool.query(READBACK);
  t.is(rows.length, sent.length);
  const byVersion = new Map(sent.map((e) => [e.version as number, e]));
  for (const row of rows) t.deepEqual(row, expectedRow(byVersion.get(row.version)!), `order ${row.version}`);
  t.is(rows.find((r) => r.version === 1)!.channel, 'WEB', 'v1: the default of the new field');
  t.is(rows.find((r) => r.version === 7)!.promo_code, "it's-7", 'v2: coupon_code read through the alias');
  t.is(rows.find((r) => r.version === 5)!.promo_code, 'PROMO\\5');
  t.deepEqual(rows.find((r) => r.version === 4)!.lines[0].gift_wrap, true, 'v3: the nested addition');
  const dead = await fx.pool.query('SELECT count(*)::int AS n FROM dead_letters');
  t.is(dead.rows[0]!.n, 0);

  // down undoes it exactly: the table is the v2 one again, and only empty of what v3 added.
  await fx.pool.query("DELETE FROM orders WHERE status = 'RETURNED'");
  const down = spawnPipeline(t, ['migrate', 'down'], fx.env);
  t.is(await down.exited, 0, down.output());
  const after = await readTableShape(fx.pool, 'orders');
  t.deepEqual(after, before);
});

test('a change only a person can decide is drafted commented out, exits 4, and applying it by accident changes nothing', async (t) => {
  const migrationsDir = migrationsCopy(t);
  const v2 = orderV2Schema();
  // customer_id becomes a string (type change); coupon_code renamed without an alias; delivery_date dropped.
  const risky = {
    ...v2,
    fields: [
      ...v2.fields
        .filter((f) => f.name !== 'delivery_date')
        .map((f) => (f.name === 'customer_id' ? { ...f, type: 'string' } : f))
        .map((f) => (f.name === 'coupon_code' ? { ...f, name: 'voucher' } : f)),
    ],
  };
  const fx = await createPipelineFixture(t, {
    files: { 'shop/order.v3.avsc': risky },
    edit: (entries) => {
      // Only the new version: an int → string change is not resolvable from the old ones.
      entries.find((e) => e.topic === 'shop.orders')!.schemas = ['shop/order.v3.avsc'];
    },
    migrationsDir,
  });
  const topic = fx.topic('shop.orders');
  const before = await readTableShape(fx.pool, 'orders');

  const draft = spawnPipeline(
    t,
    ['migrate', 'new', '--from-schema', topic, '--from-database', '--name', 'risky'],
    fx.env,
  );
  t.is(await draft.exited, 4, draft.output());
  t.regex(draft.output(), /MIGRATION_NEEDS_REVIEW/);
  t.regex(draft.output(), /2 step\(s\) of .* need a person/);
  t.regex(draft.output(), /from the table in schema /);
  const [name] = readdirSync(migrationsDir).filter((f) => f.endsWith('-risky.ts'));
  const text = readFileSync(join(migrationsDir, name!), 'utf8');
  t.regex(text, /NEEDS REVIEW orders\.customer_id: type changes from bigint to text/);
  t.regex(
    text,
    /NEEDS REVIEW orders\.voucher: coupon_code is no longer in the reader schema and voucher is new/,
  );
  t.true(text.includes("  // pgm.renameColumn('orders', 'coupon_code', 'voucher');"), text);
  t.true(
    text.includes(
      `  // pgm.alterColumn('orders', 'customer_id', { type: 'text', using: '"customer_id"::text' });`,
    ),
  );
  t.deepEqual(
    text.split('\n').filter((l) => /^\s*pgm\./.test(l)),
    [],
    'nothing that needs a person is active',
  );
  const biome = biomeCheck(text);
  t.is(biome.status, 0, biome.stderr);
  t.is(biome.stdout, text);

  const up = spawnPipeline(t, ['migrate', 'up'], fx.env);
  t.is(await up.exited, 0, up.output());
  t.deepEqual(await readTableShape(fx.pool, 'orders'), before, 'applied by accident: the table is unchanged');
  const gate = await checkDatabaseContract(fx.pool, fx.catalog, migrationsDir);
  t.deepEqual(
    gate.map((p) => `${p.kind} ${p.subject}`),
    ['column-type orders.customer_id', 'column-missing orders.voucher'],
    'and the gate still refuses to consume',
  );

  const missing = spawnPipeline(t, ['migrate', 'new'], fx.env);
  t.is(await missing.exited, 2);
  const unknown = spawnPipeline(t, ['migrate', 'new', '--from-schema', 'no.such.topic'], fx.env);
  t.is(await unknown.exited, 4);
  t.regex(unknown.output(), /UNKNOWN_TOPIC/);
});

function orderV2Schema(): { fields: RawField[]; [key: string]: unknown } {
  return JSON.parse(JSON.stringify(orderV2Json));
}

test('SQL literals read back unchanged by PostgreSQL, whatever standard_conforming_strings says', async (t) => {
  const schema = uniqueName('lit');
  const pool = createPool({ ...config.database, schema }, { max: 1, log: t.log });
  t.teardown(() => pool.end());
  const strings = [
    '',
    "O'Brien",
    "'; DROP TABLE x; --",
    'back\\slash \\N \\x00',
    "\\'",
    '$$ $pg1$ dollar',
    'tab\tnew\nline ünï 🎉 \u2028',
  ];
  for (const conforming of ['on', 'off']) {
    await pool.query(`SET standard_conforming_strings = ${conforming}`);
    await pool.query('SET escape_string_warning = off');
    for (const value of strings) {
      const { rows } = await pool.query(`SELECT ${sqlString(value)}::text AS v`);
      t.is(rows[0]!.v, value, `${JSON.stringify(value)} with standard_conforming_strings ${conforming}`);
    }
  }
  await pool.query('SET standard_conforming_strings = on');
  // Typed defaults: the literal, cast to the column type, is the value the row mapper would write.
  const columns = new Map(fieldColumns(parseSchema(allTypesSchema, 'all-types')).map((c) => [c.name, c]));
  const cases: [string, unknown, string][] = [
    ['raw', Buffer.from([0, 0x5c, 0x27, 255]), '\\x005c27ff'],
    ['double', -0, '-0'],
    ['single', Number.NaN, 'NaN'],
    ['tags', { "k'ey": 'va\\lue', n: 'ü' }, '{"n": "ü", "k\'ey": "va\\\\lue"}'],
    ['at_us', -1n, '1969-12-31 23:59:59.999999+00'],
    ['local_us', '2026-03-29T02:30:00.000001', '2026-03-29 02:30:00.000001'],
    ['time_ms', '23:59:59.999', '23:59:59.999'],
    ['amount', '-1234567.891', '-1234567.891'],
    ['label', "it's", "it's"],
  ];
  await pool.query("SET TIME ZONE 'UTC'");
  for (const [name, value, text] of cases) {
    const column = columns.get(name)!;
    const { rows } = await pool.query(
      `SELECT (${defaultLiteral(column, value)})::${column.pgType}::text AS v`,
    );
    t.is(rows[0]!.v, text, name);
  }
});

// Serial: it runs before the other tests of this file, so no other draft's scratch schema exists meanwhile.
test.serial(
  'a migration that fails in the scratch schema fails the draft, and the scratch schema is dropped',
  async (t) => {
    const migrationsDir = migrationsCopy(t);
    writeFileSync(
      join(migrationsDir, '20251129160000000_broken.ts'),
      "import type { MigrationBuilder } from 'node-pg-migrate';\n\nexport function up(pgm: MigrationBuilder): void {\n  pgm.sql('SELECT 1/0');\n}\n",
    );
    const pool = databasePool();
    t.teardown(() => pool.end());
    const before = await scratchSchemas(pool);
    const run = spawnPipeline(t, ['migrate', 'new', '--from-schema', 'shop.orders'], {
      ...process.env,
      PIPELINE_MIGRATIONS_DIR: migrationsDir,
    });
    t.is(await run.exited, 4, run.output());
    t.regex(run.output(), /MIGRATION_FAILED.*division by zero/s);
    t.deepEqual(
      (await scratchSchemas(pool)).filter((name) => !before.includes(name)),
      [],
    );
    t.deepEqual(
      readdirSync(migrationsDir).filter((f) => f.includes('shop-orders')),
      [],
      'no file written',
    );
  },
);
