import test from 'ava';
import { ConfigurationError } from '../../src/errors.ts';
import type { ColumnSpec } from '../../src/sink/column-types.ts';
import { createTableWriter } from '../../src/sink/table-writer.ts';
import { fakePool, serverError } from '../support/fake-pool.ts';

const columns: ColumnSpec[] = [
  { name: 'order_id', pgType: 'uuid', nullable: false, kind: 'uuid' },
  { name: 'version', pgType: 'bigint', nullable: false, kind: 'bigint' },
  { name: 'note', pgType: 'text', nullable: true, kind: 'text' },
];
const rows = [
  ['7e57d004-2b97-0e7a-b45f-5387367791cd', '2', 'a\tb'],
  ['0b6cbf6c-1d25-4ad1-9d65-b0b3e6e4d6b1', '1', null],
];

test('nothing to write means no statement at all, whatever the operation', async (t) => {
  const writer = createTableWriter({ table: 'orders', columns, key: 'order_id', versionField: 'version' });
  const { pool, queries } = fakePool({ rowCount: 5 });
  t.is(await writer.insert(pool, []), 0);
  t.is(await writer.copyLines(pool, [], 'binary'), 0);
  t.deepEqual(await writer.upsert(pool, []), []);
  t.deepEqual(await writer.upsertLines(pool, [], 'binary'), []);
  t.deepEqual(await writer.deleteKeys(pool, []), []);
  t.deepEqual(queries, []);
});

test('unnest binds one array per column, never one parameter per value', async (t) => {
  const writer = createTableWriter({ table: 'orders', columns, key: 'order_id' });
  const { pool, queries } = fakePool({ rowCount: 2 });
  t.is(await writer.insert(pool, rows), 2);
  t.is(
    queries[0]!.text,
    'INSERT INTO "orders" ("order_id", "version", "note") SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[])',
  );
  t.deepEqual(queries[0]!.values, [
    [rows[0]![0], rows[1]![0]],
    ['2', '1'],
    ['a\tb', null],
  ]);
});

test('an upsert replaces a row only with a higher (version, partition, offset) and says which rows landed', async (t) => {
  const { pool, queries } = fakePool({ rowCount: 1 });
  await createTableWriter({ table: 'orders', columns, key: 'order_id', versionField: 'version' }).upsert(
    pool,
    rows,
  );
  t.regex(queries[0]!.text, /ON CONFLICT \("order_id"\) DO UPDATE SET "version" = EXCLUDED\."version"/);
  t.regex(
    queries[0]!.text,
    /WHERE \(t\."version", t\."_kafka_partition", t\."_kafka_offset"\) < \(EXCLUDED\."version", EXCLUDED\."_kafka_partition", EXCLUDED\."_kafka_offset"\) RETURNING/,
  );
  t.notRegex(queries[0]!.text, /"order_id" = EXCLUDED/, 'the key itself is never updated');
});

test('without a version field the last write of a key wins (no WHERE guard)', async (t) => {
  const { pool, queries } = fakePool({ rowCount: 1 });
  await createTableWriter({ table: 'orders', columns, key: 'order_id' }).upsert(pool, rows);
  t.notRegex(queries[0]!.text, /WHERE/);
});

test('tombstones delete by the key typed as its column, all keys in one array, counted per key', async (t) => {
  const { pool, queries } = fakePool({ rowCount: 2, rows: [{ i: 1 }, { i: 1 }, { i: 3 }] });
  const writer = createTableWriter({ table: 'orders', columns, key: 'order_id' });
  t.deepEqual(await writer.deleteKeys(pool, ['k1', 'k2', 'k3']), [2, 0, 1]);
  t.regex(queries[0]!.text, /^DELETE FROM "orders" USING unnest\(\$1::uuid\[\]\) WITH ORDINALITY/);
  t.deepEqual(queries[0]!.values, [['k1', 'k2', 'k3']]);
});

test('a statement that reports no row count counts as nothing written, never as NaN', async (t) => {
  const { pool } = fakePool({});
  const writer = createTableWriter({ table: 'orders', columns, key: 'order_id' });
  t.is(await writer.insert(pool, rows), 0);
  t.deepEqual(await writer.upsert(pool, rows), []);
  t.deepEqual(await writer.deleteKeys(pool, ['k']), [0]);
});

test('the upsert stage table is created only when the session lacks it, without constraints, and named after its columns', async (t) => {
  const writer = createTableWriter({ table: 'orders', columns, key: 'order_id', versionField: 'version' });
  const answers = [{ rows: [{ present: false }] }, { rows: [] }, { rows: [{ present: true }] }];
  const queries: string[] = [];
  const client = {
    query: async (text: string) => {
      queries.push(text);
      return answers.shift();
    },
  } as unknown as import('pg').ClientBase;
  await writer.prepareStage(client);
  await writer.prepareStage(client);
  t.is(queries.length, 3, 'the second transaction finds the stage: no CREATE');
  t.regex(
    queries[1]!,
    /^CREATE TEMPORARY TABLE pg_temp\."sink_stage_[0-9a-f]{24}" \("order_id" uuid, "version" bigint, "note" text\) ON COMMIT DELETE ROWS$/,
  );
  t.notRegex(
    queries[1]!,
    /NOT NULL|CHECK|PRIMARY/,
    'no constraint: the table refuses rows at the INSERT, as with unnest',
  );
  const other = createTableWriter({ table: 'orders', columns: columns.slice(0, 2), key: 'order_id' });
  const stageOf = async (w: typeof writer) => {
    const seen: string[] = [];
    await w.prepareStage({
      query: async (text: string, values?: unknown[]) => {
        seen.push(String(values?.[0] ?? text));
        return { rows: [{ present: true }] };
      },
    } as unknown as import('pg').ClientBase);
    return seen[0];
  };
  t.not(await stageOf(writer), await stageOf(other), 'another set of columns never shares a stage');
});

test('a role that may not create temporary tables gets a configuration error naming the fix, not a contract mismatch', async (t) => {
  const writer = createTableWriter({ table: 'orders', columns, key: 'order_id', versionField: 'version' });
  let calls = 0;
  const client = {
    query: async () => {
      calls++;
      if (calls === 1) return { rows: [{ present: false }] };
      throw serverError('42501', 'permission denied to create temporary tables in database "shop"');
    },
  } as unknown as import('pg').ClientBase;
  const error = await t.throwsAsync(writer.prepareStage(client), { instanceOf: ConfigurationError });
  t.regex(error.message, /GRANT TEMPORARY ON DATABASE.*--write-strategy unnest/);
  // Any other failure of the CREATE is left to the transaction's own classification.
  const lost = serverError('57P01', 'terminating connection due to administrator command');
  calls = 0;
  const other = {
    query: async () => {
      calls++;
      if (calls === 1) return { rows: [] };
      throw lost;
    },
  } as unknown as import('pg').ClientBase;
  t.is(await t.throwsAsync(writer.prepareStage(other)), lost);
});
