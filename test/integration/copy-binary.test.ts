/**
 * The binary COPY reference encoder (src/sink/copy-binary.ts) against PostgreSQL itself: random Avro values
 * of every column kind the sink maps, extremes often, through the real decoder and row mapper, loaded once
 * as COPY text (copyTextLine) and once as binary COPY (appendBinaryRow) into two tables of the same
 * definition (column-types.ts's types, NOT NULL where the mapper says, the enum CHECK): the two tables must
 * hold the same values, floats to the bit. A row PostgreSQL refuses in text it refuses in binary, on the
 * same line. The same for the bench's streams (bench/copy-binary.ts), which the raw binary limit uses.
 */

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import test, { type ExecutionContext } from 'ava';
import type avro from 'avsc';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { binaryColumnType, copyBinaryStream } from '../../bench/copy-binary.ts';
import { decodeStrict } from '../../src/codec/strict-decode.ts';
import { type CatalogEntry, parseSchema } from '../../src/contracts/catalog.ts';
import type { ColumnSpec } from '../../src/sink/column-types.ts';
import {
  appendBinaryRow,
  binaryFieldEncoder,
  COPY_BINARY_HEADER,
  COPY_BINARY_TRAILER,
} from '../../src/sink/copy-binary.ts';
import { CopyBuffer } from '../../src/sink/copy-buffer.ts';
import { copyTextLine } from '../../src/sink/copy-text.ts';
import { createRowMapper, type MessageMeta, type SqlText } from '../../src/sink/row-mapper.ts';
import { quoteIdentifier as q } from '../../src/sink/sql-identifier.ts';
import { sqlString } from '../../src/sink/sql-literal.ts';
import { rawValueOf, rawWriterSchema, twosComplement } from '../support/avro-extremes.ts';
import { schemaEntry } from '../support/schema-entry.ts';
import { seeded } from '../support/seeded-random.ts';
import { databasePool, uniqueName } from '../support/services.ts';

const decimal = (precision: number, scale: number, name?: string, size?: number) =>
  name === undefined
    ? { type: 'bytes', logicalType: 'decimal', precision, scale }
    : { type: 'fixed', name, size, logicalType: 'decimal', precision, scale };

/** One field of every column kind column-types.ts maps, as the reader has it; the writer is its raw form. */
const SCALARS: [string, (suffix: string) => unknown][] = [
  ['flag', () => 'boolean'],
  ['small', () => 'int'],
  ['big', () => 'long'],
  ['single', () => 'float'],
  ['double', () => 'double'],
  ['label', () => 'string'],
  ['colour', (s) => ({ type: 'enum', name: `Colour${s}`, symbols: ['RED', 'GREEN', 'BL_UE'] })],
  ['raw', () => 'bytes'],
  ['four', (s) => ({ type: 'fixed', name: `Four${s}`, size: 4 })],
  ['guid', () => ({ type: 'string', logicalType: 'uuid' })],
  ['money', (s) => decimal(18, 4, `Money${s}`, 8)],
  ['cents', () => decimal(10, 2)],
  ['fraction', () => decimal(5, 5)],
  ['digit', () => decimal(1, 0)],
  ['huge', () => decimal(1000, 0)],
  ['wide', () => decimal(1000, 500)],
  ['at_ms', () => ({ type: 'long', logicalType: 'timestamp-millis' })],
  ['at_us', () => ({ type: 'long', logicalType: 'timestamp-micros' })],
  ['day', () => ({ type: 'int', logicalType: 'date' })],
  ['time_ms', () => ({ type: 'int', logicalType: 'time-millis' })],
  ['time_us', () => ({ type: 'long', logicalType: 'time-micros' })],
  ['local_ms', () => ({ type: 'long', logicalType: 'local-timestamp-millis' })],
  ['local_us', () => ({ type: 'long', logicalType: 'local-timestamp-micros' })],
  [
    'doc',
    (s) => ({
      type: 'record',
      name: `Doc${s}`,
      fields: [
        { name: 'f', type: 'float' },
        { name: 'd', type: 'double' },
        { name: 'l', type: 'long' },
        { name: 'price', type: decimal(6, 2) },
        { name: 'blob', type: 'bytes' },
        { name: 'when', type: { type: 'long', logicalType: 'timestamp-micros' } },
        { name: 'day', type: { type: 'int', logicalType: 'date' } },
        { name: 'tags', type: { type: 'map', values: 'string' } },
        { name: 'list', type: { type: 'array', items: ['null', 'long', 'string'] } },
      ],
    }),
  ],
  ['longs', () => ({ type: 'array', items: 'long' })],
  ['names', () => ({ type: 'map', values: 'string' })],
  ['mixed', () => ['null', 'string', 'double']],
];

/** Promotions: the reader's float and double read from the writer's long (a real from a long past 2^53), int, float. */
const PROMOTED: [string, string][] = [
  ['single_from_long', 'float'],
  ['double_from_long', 'double'],
  ['single_from_int', 'float'],
  ['double_from_float', 'double'],
];

const reader = {
  type: 'record',
  name: 'Every',
  namespace: 'binary',
  fields: [
    { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
    ...SCALARS.map(([name, type]) => ({ name, type: type('') })),
    // The same types nullable, the null first or last.
    ...SCALARS.filter(([name]) => name !== 'mixed').map(([name, type], i) => ({
      name: `maybe_${name}`,
      type: i % 3 === 0 ? [type('N'), 'null'] : ['null', type('N')],
    })),
    ...PROMOTED.map(([name, type]) => ({ name, type })),
  ],
};
const writerSchema = rawWriterSchema(reader) as { fields: { name: string; type: unknown }[] };
for (const field of writerSchema.fields) {
  if (field.name === 'single_from_long' || field.name === 'double_from_long') field.type = 'long';
  if (field.name === 'single_from_int') field.type = 'int';
  if (field.name === 'double_from_float') field.type = 'float';
}
const readerType = parseSchema(reader, 'binary reader');
const writerType = parseSchema(writerSchema, 'binary writer');
const resolver = readerType.createResolver(writerType);

const entry: CatalogEntry = schemaEntry(reader, { topic: 'binary.every', table: 'every' });
const mapper = createRowMapper(entry);

const writerField = (name: string) =>
  (writerType as avro.types.RecordType).fields.find((f) => f.name === name)!.type;
const longType = writerField('single_from_long');
const intType = writerField('single_from_int');
const floatType = writerField('double_from_float');
const nonAscii = (s: string) => [...s].some((c) => c.charCodeAt(0) > 0x7f);

/** A raw value of the reader's fields (the promoted ones drawn as the writer's long and int). */
function rawRow(r: ReturnType<typeof seeded>): Record<string, unknown> {
  const raw = rawValueOf(readerType, r) as Record<string, unknown>;
  for (const name of ['single_from_long', 'double_from_long']) {
    // Half the time a long past 2^53 halfway between two floats: a double, but neither float.
    const exponent = 54 + r.int(9);
    const halfway = (1n << BigInt(exponent)) + BigInt(2 * r.int(1 << 20) + 1) * (1n << BigInt(exponent - 24));
    raw[name] = r.next() < 0.5 ? (r.next() < 0.5 ? -halfway : halfway) : rawValueOf(longType, r);
  }
  raw.single_from_int = rawValueOf(intType, r);
  raw.double_from_float = rawValueOf(floatType, r);
  return raw;
}

/** The row of a raw value through the real path: Avro bytes, the strict decoder, the row mapper. */
function rowOf(raw: Record<string, unknown>, meta: MessageMeta): SqlText[] {
  const value = decodeStrict(writerType.toBuffer(raw), resolver, 'copy-binary test', writerType);
  return mapper.toRow(value as Record<string, unknown>, meta);
}

const FIRST_MS = -210_866_803_200_000;

function randomMeta(r: ReturnType<typeof seeded>): MessageMeta {
  const extreme = r.next() < 0.3;
  return {
    partition: extreme ? r.pick([0, 2 ** 31 - 1]) : r.int(64),
    offset: extreme ? r.pick(['0', '9223372036854775807']) : String(r.int(2 ** 31) * 1000 + r.int(1000)),
    timestamp: String(
      extreme
        ? r.pick([FIRST_MS, 8.64e15, -62_135_596_800_001, 253_402_300_800_000])
        : 1.7e12 + r.int(2 ** 31),
    ),
  };
}

/** `CREATE TABLE` of the mapper's columns after a row number: the types, NOT NULL and CHECK the sink's tables have. */
function createTable(
  schema: string,
  table: string,
  columns: readonly ColumnSpec[],
  override = new Map<string, string>(),
) {
  const definitions = columns.map((c) => {
    const check =
      c.symbols === undefined ? '' : ` CHECK (${q(c.name)} IN (${c.symbols.map(sqlString).join(', ')}))`;
    return override.get(c.name) ?? `${q(c.name)} ${c.pgType}${c.nullable ? '' : ' NOT NULL'}${check}`;
  });
  return `CREATE TABLE ${q(schema)}.${q(table)} (_n bigint NOT NULL, ${definitions.join(', ')})`;
}

const encoders = [binaryFieldEncoder('bigint'), ...mapper.columns.map((c) => binaryFieldEncoder(c.pgType))];

function binaryStream(rows: readonly SqlText[][]): Buffer {
  const out = new CopyBuffer(0);
  const parts: Buffer[] = [COPY_BINARY_HEADER];
  rows.forEach((row, n) => {
    const slice = appendBinaryRow(out, encoders, [String(n), ...row]);
    parts.push(Buffer.from(slice.buffer.subarray(slice.start, slice.end)));
  });
  parts.push(COPY_BINARY_TRAILER);
  return Buffer.concat(parts);
}

function textStream(rows: readonly SqlText[][]): Buffer {
  return Buffer.from(rows.map((row, n) => copyTextLine([String(n), ...row])).join(''), 'utf8');
}

async function copy(
  pool: pg.Pool,
  schema: string,
  table: string,
  data: Buffer,
  binary: boolean,
): Promise<void> {
  const columns = ['_n', ...mapper.columns.map((c) => c.name)].map(q).join(', ');
  const client = await pool.connect();
  try {
    await pipeline(
      Readable.from([data]),
      client.query(
        copyStreams.from(
          `COPY ${q(schema)}.${q(table)} (${columns}) FROM STDIN${binary ? ' WITH (FORMAT binary)' : ''}`,
        ),
      ),
    );
  } finally {
    client.release();
  }
}

/** Every row as JSON text, every float as its send bytes, in row order: a difference names row and column. */
async function readBack(pool: pg.Pool, schema: string, table: string): Promise<string[]> {
  const floats = mapper.columns.filter((c) => c.pgType === 'real' || c.pgType === 'double precision');
  const sends = floats.map(
    (c) => `coalesce(encode(${c.pgType === 'real' ? 'float4send' : 'float8send'}(${q(c.name)}), 'hex'), '-')`,
  );
  const { rows } = await pool.query<{ line: string }>(
    `SELECT _n || ' ' || row_to_json(t)::text || ' ' || ${sends.join(" || ' ' || ")} AS line
       FROM ${q(schema)}.${q(table)} t ORDER BY _n`,
  );
  return rows.map((r) => r.line);
}

async function withSchema(t: ExecutionContext, run: (pool: pg.Pool, schema: string) => Promise<void>) {
  const pool = databasePool();
  const schema = uniqueName('copy_binary');
  try {
    await pool.query(`CREATE SCHEMA ${q(schema)}`);
    await run(pool, schema);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`);
    await pool.end();
  }
  t.pass();
}

/** How often the rows hold the forms the encoder must read: a generator that lost its extremes fails. */
const FORMS: [string, (column: ColumnSpec, text: string) => boolean][] = [
  ['timestamptz BC', (c, s) => c.pgType === 'timestamp with time zone' && s.endsWith(' BC')],
  ['timestamptz year ≥ 10000', (c, s) => c.pgType === 'timestamp with time zone' && /^\d{5,}-/.test(s)],
  // The last µs an Avro long holds: the latest instant the mapper writes (timestamptz holds to 294276).
  [
    'timestamptz 294247-01-10 04:00:54.775807',
    (c, s) => c.pgType === 'timestamp with time zone' && s.startsWith('294247-01-10 04:00:54.775807'),
  ],
  [
    'timestamptz 4714-11-24 BC',
    (c, s) => c.pgType === 'timestamp with time zone' && s.startsWith('4714-11-24'),
  ],
  ['timestamptz …Z', (c, s) => c.pgType === 'timestamp with time zone' && s.endsWith('Z')],
  ['date BC', (c, s) => c.pgType === 'date' && s.endsWith(' BC')],
  ['date year ≥ 10000', (c, s) => c.pgType === 'date' && /^\d{5,}-/.test(s)],
  ['date 5874897-12-31', (c, s) => c.pgType === 'date' && s === '5874897-12-31'],
  ['timestamp year 1', (c, s) => c.pgType === 'timestamp without time zone' && s.startsWith('0001-01-01')],
  ['time micros', (c, s) => c.pgType === 'time without time zone' && /\.\d{6}$/.test(s)],
  ['time millis', (c, s) => c.pgType === 'time without time zone' && /\.\d{3}$/.test(s)],
  ['real NaN', (c, s) => c.pgType === 'real' && s === 'NaN'],
  ['real -0', (c, s) => c.pgType === 'real' && s === '-0'],
  [
    'real from a long past 2^53',
    (c, s) => c.name.endsWith('single_from_long') && s.replace('-', '').length >= 17,
  ],
  ['double -Infinity', (c, s) => c.pgType === 'double precision' && s === '-Infinity'],
  ['double subnormal', (c, s) => c.pgType === 'double precision' && s === '5e-324'],
  [
    'numeric of 1000 digits',
    (c, s) => c.pgType.startsWith('numeric') && s.replace(/[-.]/g, '').length === 1000,
  ],
  ['numeric negative', (c, s) => c.pgType.startsWith('numeric') && s.startsWith('-')],
  ['numeric zero with a scale', (c, s) => c.pgType.startsWith('numeric') && /^0\.0+$/.test(s)],
  ['text empty', (c, s) => c.pgType === 'text' && s === ''],
  ['text non-ASCII', (c, s) => c.pgType === 'text' && nonAscii(s)],
  ['jsonb non-ASCII', (c, s) => c.pgType === 'jsonb' && nonAscii(s)],
  ['jsonb "NaN"', (c, s) => c.pgType === 'jsonb' && s.includes('"NaN"')],
  ['bytea empty', (c, s) => c.pgType === 'bytea' && s === '\\x'],
  ['bigint -2^63', (c, s) => c.pgType === 'bigint' && s === '-9223372036854775808'],
  ['NULL', () => false],
];

test('random values of every column kind, extremes included, load the same through binary COPY as through COPY text', async (t) => {
  const seed = 20261130;
  const r = seeded(seed);
  const rows: SqlText[][] = [];
  const seen = new Map<string, number>(FORMS.map(([name]) => [name, 0]));
  while (rows.length < 800) {
    // Every value the generator draws maps (a refusal here fails the test: the extremes must reach COPY).
    const row = rowOf(rawRow(r), randomMeta(r));
    rows.push(row);
    row.forEach((text, i) => {
      const column = mapper.columns[i]!;
      if (text === null) seen.set('NULL', seen.get('NULL')! + 1);
      else
        for (const [name, matches] of FORMS) if (matches(column, text)) seen.set(name, seen.get(name)! + 1);
    });
  }
  t.log(`seed ${seed}: ${rows.length} rows`, Object.fromEntries(seen));
  t.is(rows.length, 800);
  for (const [name, count] of seen) t.true(count > 0, `no row holds ${name}`);

  await withSchema(t, async (pool, schema) => {
    for (const table of ['as_text', 'as_binary', 'bench_binary'])
      await pool.query(createTable(schema, table, mapper.columns));
    await copy(pool, schema, 'as_text', textStream(rows), false);
    await copy(pool, schema, 'as_binary', binaryStream(rows), true);
    const benchTypes = ['bigint', ...mapper.columns.map((c) => c.pgType)].map(binaryColumnType);
    await copy(
      pool,
      schema,
      'bench_binary',
      copyBinaryStream(
        benchTypes,
        rows.map((row, n) => [String(n), ...row]),
      ),
      true,
    );

    const asText = await readBack(pool, schema, 'as_text');
    t.is(asText.length, rows.length);
    const asBinary = await readBack(pool, schema, 'as_binary');
    for (let n = 0; n < rows.length; n++) {
      if (asBinary[n] !== asText[n]) {
        const text = asText[n]!;
        const binary = asBinary[n] ?? '';
        let at = 0;
        while (text[at] === binary[at]) at++;
        const around = (s: string) => s.slice(Math.max(0, at - 120), at + 60);
        t.fail(`row ${n} differs at ${at}:\n text   …${around(text)}\n binary …${around(binary)}`);
        return;
      }
    }
    t.deepEqual(await readBack(pool, schema, 'bench_binary'), asText);
    // The values themselves, by each type's own equality (NaN = NaN, -0 = 0 aside: the send bytes above).
    const { rows: diff } = await pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM (
         (SELECT * FROM ${q(schema)}.as_text EXCEPT ALL SELECT * FROM ${q(schema)}.as_binary)
         UNION ALL
         (SELECT * FROM ${q(schema)}.as_binary EXCEPT ALL SELECT * FROM ${q(schema)}.as_text)) d`,
    );
    t.is(diff[0]?.n, '0');
  });
});

/** A value that maps to a row PostgreSQL refuses, and where: the refusal must be the same in both formats. */
const REFUSED: [string, (raw: Record<string, unknown>) => void][] = [
  ['a NUL in text', (raw) => (raw.label = 'before\u0000after')],
  ['a NUL escaped in jsonb', (raw) => ((raw.doc as Record<string, unknown>).tags = { k: '\u0000' })],
  [
    'a numeric over the precision of an older, narrower column',
    (raw) => (raw.cents = twosComplement(12_345_678n)),
  ],
  ['an enum symbol the CHECK of an older table lacks', (raw) => (raw.colour = 'BL_UE')],
];

for (const [what, spoil] of REFUSED) {
  test(`a row PostgreSQL refuses in COPY text is refused in binary COPY too, on the same line: ${what}`, async (t) => {
    const r = seeded(what.length);
    const rows: SqlText[][] = [];
    const bad = 3;
    while (rows.length < 6) {
      const raw = rawRow(r);
      raw.colour = 'RED';
      raw.cents = twosComplement(BigInt(r.int(10_000)));
      if (rows.length === bad) spoil(raw);
      rows.push(rowOf(raw, randomMeta(r)));
    }
    await withSchema(t, async (pool, schema) => {
      // The tables of an older contract: cents numeric(4,2), colour without BL_UE.
      const older = new Map([
        ['cents', `${q('cents')} numeric(4,2) NOT NULL`],
        ['colour', `${q('colour')} text NOT NULL CHECK (${q('colour')} IN ('RED', 'GREEN'))`],
      ]);
      for (const table of ['as_text', 'as_binary'])
        await pool.query(createTable(schema, table, mapper.columns, older));
      const refusal = async (table: string, binary: boolean) => {
        const data = binary ? binaryStream(rows) : textStream(rows);
        const error = await t.throwsAsync<Error & { code?: string; where?: string }>(
          copy(pool, schema, table, data, binary),
        );
        // The line (tuple) of the COPY; COPY text names no column when a line is not valid UTF-8.
        const line = /COPY \S+, line (\d+)/.exec(error?.where ?? '')?.[1];
        return { code: error?.code, message: error?.message.replaceAll(table, 'TABLE'), line };
      };
      const asText = await refusal('as_text', false);
      const asBinary = await refusal('as_binary', true);
      t.log(asText, asBinary);
      t.truthy(asText.code);
      t.deepEqual(asBinary, asText);
      t.is(asText.line, String(bad + 1));
      const { rows: counts } = await pool.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM ${q(schema)}.as_text) + (SELECT count(*) FROM ${q(schema)}.as_binary) AS n`,
      );
      t.is(counts[0]?.n, '0');
    });
  });
}
