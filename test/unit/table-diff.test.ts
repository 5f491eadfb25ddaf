import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { projectRoot } from '../../src/config.ts';
import { type CatalogEntry, parseSchema } from '../../src/contracts/catalog.ts';
import type { ColumnRow, TableShape } from '../../src/sink/contract-gate.ts';
import {
  describeStep,
  migrationFileName,
  renderMigration,
  tsString,
} from '../../src/sink/migration-render.ts';
import { diffTable, type TableStep } from '../../src/sink/table-diff.ts';

const status = { type: 'enum', name: 'Status', symbols: ['NEW', 'DONE'] };

function entry(fields: object[], writeMode: 'insert' | 'upsert' = 'upsert'): CatalogEntry {
  const schema = { type: 'record', name: 'Thing', namespace: 'test', fields };
  const version = {
    version: 2,
    file: 'thing.v2.avsc',
    schema: schema as never,
    type: parseSchema(schema, 'thing'),
    references: [],
  };
  return {
    topic: 'test.things',
    subject: 'test.things-value',
    record: 'test.Thing',
    versions: [version],
    reader: version,
    table: 'things',
    key: 'id',
    writeMode,
    ...(writeMode === 'upsert' ? { versionField: 'version' } : {}),
    partitions: 1,
  };
}

const BASE_FIELDS = [
  { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
  { name: 'version', type: 'int' },
  { name: 'status', type: status },
  { name: 'note', type: ['null', 'string'], default: null },
];

function column(name: string, type: string, notNull = true, hasDefault = false): ColumnRow {
  return { table: 'things', column: name, type, not_null: notNull, has_default: hasDefault };
}

/** The table v1 left: the base fields and the pipeline's own columns. */
function shape(
  extra: ColumnRow[] = [],
  checks = ["CHECK ((status = ANY (ARRAY['NEW'::text, 'DONE'::text])))"],
): TableShape {
  return {
    table: 'things',
    columns: [
      column('id', 'uuid'),
      column('version', 'integer'),
      column('status', 'text'),
      column('note', 'text', false),
      ...extra,
      column('_kafka_partition', 'integer'),
      column('_kafka_offset', 'bigint'),
      column('_kafka_timestamp', 'timestamp with time zone'),
      column('_ingested_at', 'timestamp with time zone', true, true),
    ],
    checks: checks.map((definition) => ({
      table: 'things',
      column: 'status',
      name: 'things_status_check',
      definition,
      expression: definition.replace(/^CHECK \((.*)\)$/s, '$1'),
    })),
    primaryKey: ['id'],
  };
}

const described = (steps: TableStep[]) => steps.map(describeStep);

test('the reader the table already takes needs no step; a nested addition neither (jsonb either way)', (t) => {
  t.deepEqual(diffTable(entry(BASE_FIELDS), shape()), []);
  const nested = {
    name: 'detail',
    type: { type: 'record', name: 'Detail', fields: [{ name: 'added', type: 'long', default: 0 }] },
  };
  t.deepEqual(diffTable(entry([...BASE_FIELDS, nested]), shape([column('detail', 'jsonb')])), []);
});

test('new fields become columns: nullable, NOT NULL with the default as a literal, an enum with its CHECK', (t) => {
  const steps = diffTable(
    entry([
      ...BASE_FIELDS,
      { name: 'gift', type: ['null', 'string'], default: null },
      { name: 'priority', type: 'int', default: 0 },
      { name: 'motto', type: 'string', default: "it's \\ fine" },
      { name: 'channel', type: { type: 'enum', name: 'Channel', symbols: ['WEB', 'APP'] }, default: 'APP' },
    ]),
    shape(),
  );
  t.deepEqual(described(steps), [
    'add column gift text',
    'add column priority integer NOT NULL DEFAULT 0',
    "add column motto text NOT NULL DEFAULT E'it''s \\\\ fine'",
    "add column channel text NOT NULL DEFAULT 'APP'",
    'add CHECK on channel: WEB, APP',
  ]);
});

test('a new enum symbol widens the CHECK: the old constraint dropped, the full list added, down restores it', (t) => {
  const fields = BASE_FIELDS.map((f) =>
    f.name === 'status' ? { ...f, type: { ...status, symbols: ['NEW', 'DONE', 'LOST'] } } : f,
  );
  const steps = diffTable(entry(fields), shape());
  t.deepEqual(described(steps), ['widen the CHECK on status to NEW, DONE, LOST']);
  const file = renderMigration(entry(fields), steps, { source: 'a test' });
  t.true(
    file.includes(
      [
        'export function up(pgm: MigrationBuilder): void {',
        "  pgm.dropConstraint('things', 'things_status_check');",
        `  pgm.addConstraint('things', 'things_status_check', { check: "\\"status\\" IN ('NEW', 'DONE', 'LOST')" });`,
        '}',
      ].join('\n'),
    ),
    file,
  );
  t.true(
    file.includes(
      [
        "  pgm.dropConstraint('things', 'things_status_check');",
        '  pgm.addConstraint(',
        "    'things',",
        "    'things_status_check',",
        `    "CHECK ((status = ANY (ARRAY['NEW'::text, 'DONE'::text])))",`,
        '  );',
      ].join('\n'),
    ),
    file,
  );
  t.deepEqual(
    diffTable(
      entry(
        BASE_FIELDS.filter((f) => f.name !== 'status').concat([
          { name: 'status', type: { ...status, symbols: ['NEW'] } },
        ]),
      ),
      shape(),
    ),
    [],
    'a CHECK that allows more is left alone',
  );
});

test('a CHECK is widened, never narrowed: a symbol the reader dropped stays allowed (rows may hold it)', (t) => {
  const fields = BASE_FIELDS.map((f) =>
    f.name === 'status' ? { ...f, type: { ...status, symbols: ['NEW', 'LOST'], default: 'NEW' } } : f,
  );
  t.deepEqual(described(diffTable(entry(fields), shape())), ['widen the CHECK on status to NEW, LOST, DONE']);
});

test('a field renamed with an alias renames its column (the data stays); the old name is not dropped', (t) => {
  const fields = BASE_FIELDS.map((f) =>
    f.name === 'note' ? { ...f, name: 'remark', aliases: ['note'] } : f,
  );
  const steps = diffTable(entry(fields), shape());
  t.deepEqual(described(steps), ['rename column note to remark (an alias of the field)']);
  const file = renderMigration(entry(fields), steps, { source: 'a test' });
  t.regex(
    file,
    /export function up\(pgm: MigrationBuilder\): void \{\n {2}pgm\.renameColumn\('things', 'note', 'remark'\);\n\}/,
  );
  t.regex(
    file,
    /export function down\(pgm: MigrationBuilder\): void \{\n {2}pgm\.renameColumn\('things', 'remark', 'note'\);\n\}/,
  );
});

test('a field that became nullable drops NOT NULL', (t) => {
  const fields = BASE_FIELDS.map((f) =>
    f.name === 'version' ? { ...f, type: ['null', 'int'], default: null } : f,
  );
  t.deepEqual(
    described(
      diffTable(entry(fields, 'insert'), { ...shape(), primaryKey: ['_kafka_partition', '_kafka_offset'] }),
    ),
    ['allow NULL in version'],
  );
});

/** Review steps and what the file makes of them: the reason in a comment, no statement left active. */
function reviewed(
  t: import('ava').ExecutionContext,
  fields: object[],
  table: TableShape,
  reason: RegExp,
): string {
  const steps = diffTable(entry(fields), table);
  const review = steps.filter((s) => s.kind === 'review');
  t.is(review.length, 1, described(steps).join('\n'));
  t.regex(describeStep(review[0]!), reason);
  const file = renderMigration(entry(fields), review, { source: 'a test' });
  t.regex(file, /NEEDS REVIEW: 1 step\(s\) below are commented out/);
  const active = file.split('\n').filter((l) => /^\s*pgm\./.test(l));
  t.deepEqual(active, [], 'nothing a person must decide runs by accident');
  return file;
}

test('a type change needs a person: the conversion is written commented out', (t) => {
  const fields = BASE_FIELDS.map((f) => (f.name === 'version' ? { ...f, type: 'long' } : f));
  const file = reviewed(t, fields, shape(), /type changes from integer to bigint/);
  t.true(
    file.includes(
      `  // pgm.alterColumn('things', 'version', { type: 'bigint', using: '"version"::bigint' });`,
    ),
    file,
  );
  t.true(
    file.includes(
      `  // pgm.alterColumn('things', 'version', { type: 'integer', using: '"version"::integer' });`,
    ),
    file,
  );
});

test('a rename without an alias needs a person: both readings are offered, neither applied', (t) => {
  const fields = BASE_FIELDS.map((f) => (f.name === 'note' ? { ...f, name: 'remark' } : f));
  const file = reviewed(
    t,
    fields,
    shape(),
    /note is no longer in the reader schema and remark is new.*renamed without an alias/,
  );
  t.true(file.includes("  // pgm.renameColumn('things', 'note', 'remark');"));
  t.true(file.includes("  // pgm.addColumns('things', { remark: { type: 'text' } });"));
});

test('a NOT NULL column gone from the reader needs a person: keep its data or drop it', (t) => {
  const file = reviewed(
    t,
    BASE_FIELDS,
    shape([column('legacy', 'bigint')]),
    /legacy is NOT NULL without a default/,
  );
  t.true(file.includes("  // pgm.alterColumn('things', 'legacy', { notNull: false });"));
  t.true(file.includes("  // pgm.dropColumns('things', ['legacy']);"));
  t.deepEqual(
    diffTable(entry(BASE_FIELDS), shape([column('legacy', 'bigint', false)])),
    [],
    'a nullable one is left alone',
  );
  t.deepEqual(
    diffTable(entry(BASE_FIELDS), shape([column('legacy', 'bigint', true, true)])),
    [],
    'so is one with a default',
  );
});

test('a new NOT NULL field without a default needs a person: existing rows have no value', (t) => {
  reviewed(
    t,
    [...BASE_FIELDS, { name: 'weight', type: 'double' }],
    shape(),
    /NOT NULL column without an Avro default/,
  );
});

test('a write mode that needs another primary key needs a person: the key swap is written commented out', (t) => {
  const insertShape = { ...shape(), primaryKey: ['_kafka_partition', '_kafka_offset'] };
  const file = reviewed(
    t,
    BASE_FIELDS,
    insertShape,
    /primary key is \(_kafka_partition, _kafka_offset\) and upsert mode needs \(id\)/,
  );
  t.true(
    file.includes(
      "  // pgm.dropConstraint('things', 'things_pkey');\n  // pgm.addConstraint('things', 'things_pkey', { primaryKey: ['id'] });",
    ),
    file,
  );
  t.deepEqual(diffTable(entry(BASE_FIELDS, 'insert'), insertShape), []);
});

test('an enum column without any CHECK needs a person', (t) => {
  reviewed(t, BASE_FIELDS, shape([], []), /enum column without a CHECK/);
});

test('a table that does not exist is created with the pipeline columns, key and CHECKs', (t) => {
  const steps = diffTable(entry(BASE_FIELDS, 'insert'), undefined);
  t.deepEqual(described(steps), ['create the table (8 columns)', 'add CHECK on status: NEW, DONE']);
  const file = renderMigration(entry(BASE_FIELDS, 'insert'), steps, { source: 'a test' });
  t.true(file.includes("    { constraints: { primaryKey: ['_kafka_partition', '_kafka_offset'] } },"), file);
  t.true(file.includes("  pgm.createIndex('things', 'id');"));
  t.true(
    file.includes(
      "      _ingested_at: { type: 'timestamp with time zone', notNull: true, default: pgm.func('now()') },",
    ),
  );
  const upsert = renderMigration(entry(BASE_FIELDS), diffTable(entry(BASE_FIELDS), undefined), {
    source: 'a test',
  });
  t.true(upsert.includes("    id: { type: 'uuid', primaryKey: true },"), upsert);
  t.regex(
    upsert,
    /export function down\(pgm: MigrationBuilder\): void \{\n {2}pgm\.dropConstraint\('things', 'things_status_check'\);\n {2}pgm\.dropTable\('things'\);\n\}/,
  );
});

test('migration file names sort after every existing one, even against the clock', (t) => {
  const now = new Date('2026-11-29T15:30:00.123Z');
  t.is(
    migrationFileName(['20251128140000000_a'], 'shop.orders', 'v3', now),
    '20261129153000123_shop-orders-v3.ts',
  );
  t.is(
    migrationFileName(['20251128140000000_a', '20991231235959999_future'], 'Shop.Orders', 'v3', now),
    '21000101000000000_shop-orders-v3.ts',
    'a millisecond after the latest, as node-pg-migrate reads the prefix: a UTC instant',
  );
});

test('TypeScript string literals are the ones Biome writes', (t) => {
  t.is(tsString('plain'), "'plain'");
  t.is(tsString("it's"), `"it's"`);
  t.is(tsString(`"a" 'b'`), `'"a" \\'b\\''`);
  t.is(tsString(`"a" 'b' 'c'`), `"\\"a\\" 'b' 'c'"`);
  t.is(tsString('back\\slash\nline'), "'back\\\\slash\\nline'");
});

test('a drafted file is already what Biome would write (format and lint), every kind of step in it', (t) => {
  const fields = [
    { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'version', type: 'long' },
    { name: 'status', type: { ...status, symbols: ['NEW', 'DONE', 'LOST'] } },
    { name: 'remark', aliases: ['note'], type: ['null', 'string'], default: null },
    { name: 'renamed_blindly', type: 'double' },
    {
      name: 'a_rather_long_field_name_for_a_rather_long_default',
      type: { type: 'map', values: 'string' },
      default: { "it's": 'a default long enough to be broken over lines by the formatter, with a \\ in it' },
    },
  ];
  const table = shape([column('gone_double', 'double precision', false), column('legacy', 'bigint')]);
  const steps = diffTable(entry(fields), table);
  t.deepEqual([...new Set(steps.map((s) => s.kind))].sort(), [
    'add-column',
    'rename-column',
    'review',
    'widen-check',
  ]);
  const file = renderMigration(entry(fields), steps, { source: 'a test' });
  const biome = spawnSync(
    join(projectRoot, 'node_modules', '.bin', 'biome'),
    ['check', '--write', '--stdin-file-path=migrations/draft.ts'],
    {
      input: file,
      encoding: 'utf8',
      cwd: projectRoot,
    },
  );
  t.is(biome.status, 0, biome.stderr);
  t.is(biome.stdout, file);
});
