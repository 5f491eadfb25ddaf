/**
 * The bench's binary COPY encoder (bench/copy-binary.ts) against PostgreSQL itself: the same row values
 * loaded once as COPY text and once as binary COPY into two tables of every column type the sink creates
 * must give the same table, extremes included. The raw binary COPY limit is only worth reporting if so.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import test from 'ava';
import copyStreams from 'pg-copy-streams';
import { type BinaryColumnType, binaryColumnType, copyBinaryStream } from '../../bench/copy-binary.ts';
import { copyTextLine } from '../../src/sink/copy-text.ts';
import { quoteIdentifier } from '../../src/sink/sql-identifier.ts';
import { databasePool, uniqueName } from '../support/services.ts';

const COLUMNS: [string, string][] = [
  ['b', 'boolean'],
  ['i4', 'integer'],
  ['i8', 'bigint'],
  ['f4', 'real'],
  ['f8', 'double precision'],
  ['t', 'text'],
  ['by', 'bytea'],
  ['u', 'uuid'],
  ['d', 'date'],
  ['tm', 'time without time zone'],
  ['ts', 'timestamp without time zone'],
  ['tz', 'timestamp with time zone'],
  ['n', 'numeric(30,6)'],
  ['n0', 'numeric(9,0)'],
  ['j', 'jsonb'],
];

/** Rows as the row mapper writes them (PostgreSQL text of each column), extremes and NULLs included. */
const ROWS: (string | null)[][] = [
  [
    't',
    '0',
    '0',
    '0',
    '0',
    '',
    '\\x',
    '00000000-0000-0000-0000-000000000000',
    '2000-01-01',
    '00:00:00',
    '2000-01-01T00:00:00',
    '2000-01-01T00:00:00Z',
    '0',
    '0',
    '{}',
  ],
  [
    'f',
    '-2147483648',
    '-9223372036854775808',
    '-3.4028235e+38',
    '-1.7976931348623157e+308',
    'tab\there\nnew line \\ backslash',
    '\\x00ff10',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '0001-01-01',
    '23:59:59.999999',
    '0001-01-01T00:00:00',
    '0001-01-01T00:00:00.000001Z',
    '-999999999999999999999999.999999',
    '-999999999',
    '{"a":[1,2.5,"x",null,true],"b":{"c":"é😀"}}',
  ],
  [
    't',
    '2147483647',
    '9223372036854775807',
    'NaN',
    '-Infinity',
    'é😀 ünïcödé',
    '\\xdeadbeef',
    '56ed8d24-0506-4130-a0ee-eca43b3f3ef1',
    '9999-12-31',
    '12:34:56.5',
    '9999-12-31T23:59:59.999999',
    '9999-12-31T23:59:59.999999Z',
    '0.000001',
    '1',
    '[1,"two",{"three":3}]',
  ],
  [
    'f',
    '7',
    '9007199254740993',
    '1.5',
    '4.9e-324',
    'x',
    '\\x01',
    'a494e2a0-9dd2-4d16-85eb-d854d33977b3',
    '1969-12-31',
    '01:02:03',
    '1969-12-31T23:59:59.999',
    '2026-11-05T07:21:11.245294Z',
    '12345.6789',
    '100000000',
    '"just a string"',
  ],
  [null, null, null, null, null, null, null, null, null, null, null, null, null, null, null],
  // The limits: timestamptz's last instant (no Avro timestamp reaches it) and first, date's, the halfway
  // real, an upper-case uuid, numeric NaN.
  [
    't',
    '0',
    '0',
    '18014399583223810',
    '-0',
    '',
    '\\x',
    'A494E2A0-9DD2-4D16-85EB-D854D33977B3',
    '5874897-12-31',
    '00:00:00.000',
    '0001-01-01T00:00:00.000',
    '294276-12-31 23:59:59.999999+00',
    'NaN',
    '0',
    '{}',
  ],
  [
    'f',
    '0',
    '0',
    '-18014406025674750',
    '5e-324',
    '',
    '\\x',
    'a494e2a0-9dd2-4d16-85eb-d854d33977b3',
    '4714-11-24 BC',
    '23:59:59.999',
    '9999-12-31T23:59:59.999',
    '4714-11-24 00:00:00.000000+00 BC',
    '-0.000001',
    '0',
    '{}',
  ],
  [
    't',
    '-1',
    '-1',
    'Infinity',
    '0.1',
    'NULL',
    '\\x5c4e',
    '12345678-1234-1234-1234-123456789abc',
    '2024-02-29',
    '00:00:00.000001',
    '2024-02-29T12:00:00',
    '1999-12-31T23:59:59.999Z',
    '-0.01',
    '-10000',
    'null',
  ],
];

test('binary COPY writes the same table as COPY text for every column type, extremes included', async (t) => {
  const pool = databasePool();
  const schema = uniqueName('bench_binary');
  const q = quoteIdentifier;
  const columns = COLUMNS.map(([name]) => q(name)).join(', ');
  const types: BinaryColumnType[] = COLUMNS.map(([, type]) => binaryColumnType(type));
  try {
    await pool.query(`CREATE SCHEMA ${q(schema)}`);
    for (const table of ['as_text', 'as_binary']) {
      await pool.query(
        `CREATE TABLE ${q(schema)}.${q(table)} (${COLUMNS.map(([n, type]) => `${q(n)} ${type}`).join(', ')})`,
      );
    }
    const client = await pool.connect();
    try {
      await pipeline(
        Readable.from([Buffer.from(ROWS.map((r) => copyTextLine(r)).join(''), 'utf8')]),
        client.query(copyStreams.from(`COPY ${q(schema)}.as_text (${columns}) FROM STDIN`)),
      );
      await pipeline(
        Readable.from([copyBinaryStream(types, ROWS)]),
        client.query(
          copyStreams.from(`COPY ${q(schema)}.as_binary (${columns}) FROM STDIN WITH (FORMAT binary)`),
        ),
      );
    } finally {
      client.release();
    }
    // Every value as text, in a fixed order: a difference shows which row and column.
    const readBack = async (table: string) =>
      (
        await pool.query<{ row: string }>(
          `SELECT ${COLUMNS.map(([n]) => `coalesce(${q(n)}::text, 'NULL?')`).join(" || '|' || ")} AS row, ctid FROM ${q(schema)}.${q(table)} ORDER BY ctid`,
        )
      ).rows.map((r) => r.row);
    const asText = await readBack('as_text');
    t.is(asText.length, ROWS.length);
    t.deepEqual(await readBack('as_binary'), asText);
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM (
         (SELECT ${columns} FROM ${q(schema)}.as_text EXCEPT ALL SELECT ${columns} FROM ${q(schema)}.as_binary)
         UNION ALL
         (SELECT ${columns} FROM ${q(schema)}.as_binary EXCEPT ALL SELECT ${columns} FROM ${q(schema)}.as_text)) d`,
    );
    t.is(rows[0]?.n, '0');
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`);
    await pool.end();
  }
});
