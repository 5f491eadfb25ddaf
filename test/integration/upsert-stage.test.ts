/**
 * Upserts through the stage table (COPY into a temporary table, then INSERT … SELECT … ON CONFLICT) held to
 * the unnest statement they replace: the same messages, batched the same way, must leave the same table,
 * the same dead letters, the same offsets and the same counters (binary COPY: the same table and offsets; its
 * dead letters as explained in the differential test).
 */
import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import type pg from 'pg';
import { PipelineError } from '../../src/errors.ts';
import { createFakeEvents } from '../../src/producer/fake-events.ts';
import type { CopyFormat } from '../../src/sink/copy-buffer.ts';
import { createPool } from '../../src/sink/database.ts';
import {
  type PartitionBatchResult,
  type SinkMessage,
  writePartitionBatch,
} from '../../src/sink/partition-writer.ts';
import { createRowMapper } from '../../src/sink/row-mapper.ts';
import { quoteIdentifier } from '../../src/sink/sql-identifier.ts';
import type { WriteStrategy } from '../../src/sink/table-writer.ts';
import { allTypesEntry } from '../support/all-types.ts';
import { seeded } from '../support/seeded-random.ts';
import { migratedSchema, rowMessage, tombstoneMessage } from '../support/sink-fixtures.ts';

const groupId = 'upsert-stage-group';
const entry = allTypesEntry('upsert');

/**
 * The all-types table of upserts: the mapper's own columns, the key unique (the conflict target), and a
 * CHECK that refuses some rows at the INSERT (other refusals come earlier: a value PostgreSQL cannot read).
 */
async function upsertTable(pool: pg.Pool): Promise<void> {
  const mapper = createRowMapper(entry);
  const columns = mapper.columns.map(
    (c) => `${quoteIdentifier(c.name)} ${c.pgType}${c.nullable ? '' : ' NOT NULL'}`,
  );
  await pool.query(
    `CREATE TABLE all_types (${columns.join(', ')}, _ingested_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (id), CHECK (small <> 13))`,
  );
}

const KEYS = Array.from({ length: 6 }, (_, i) => `0b3f2a51-2f6c-4c4e-9a57-4d3c4ab1e00${i}`);
/** Versions (the `big` field) with ties and both ends of a long. */
const VERSIONS = [-(2n ** 63n), -1n, 0n, 0n, 1n, 2n, 3n, 2n ** 53n + 1n, 2n ** 63n - 1n];
const TEXTS = ['', '\\N', 'tab\there\nnew\rcr \\ back', 'ü\u2028🎉', 'x\u0001y', 'a\u0000b'];

/**
 * A random stream of one partition: keys that repeat (one in upper case: the uuid's dedupe ignores case),
 * versions equal, lower and higher, tombstones (some refused: not a uuid), rows of every type from the
 * fake-event generator with awkward text, values PostgreSQL refuses when it reads them (more digits than
 * the column holds, a time past 24:00, a NUL) and rows its CHECK refuses, some messages on the reference path only.
 */
function stream(
  seed: number,
  count: number,
  partition: number,
  copyFormat: CopyFormat = 'binary',
): SinkMessage[] {
  const r = seeded(seed);
  const values = createFakeEvents(entry, { seed, now: new Date('2026-01-01T00:00:00Z') }).take(
    count,
  ) as Record<string, unknown>[];
  return values.map((base, offset) => {
    let id = r.pick(KEYS);
    if (r.next() < 0.1) id = id.toUpperCase();
    if (r.next() < 0.12) {
      const key = r.next() < 0.25 ? `${id}-not-a-uuid` : id;
      return tombstoneMessage(entry, offset, key, partition);
    }
    const value: Record<string, unknown> = { ...base, id, big: r.pick(VERSIONS) };
    const roll = r.next();
    if (roll < 0.08) value.small = 13;
    else if (roll < 0.14) {
      // Handed over as decoded (avsc would refuse it): more digits than numeric(10,3) holds, or a time
      // of day past 24:00, refused where PostgreSQL reads the value.
      if (r.next() < 0.5) value.amount = '99999999.999';
      else value.time_ms = '25:00:00.000';
      return rowMessage(entry, offset, value, { partition, raw: true });
    } else if (roll < 0.3) {
      const text = r.pick(TEXTS);
      value.label = text;
      value.maybe_text = text;
      value.tags = { [text]: text };
    }
    return rowMessage(entry, offset, value, { partition, fastPath: r.next() < 0.8, copyFormat });
  });
}

interface Observed {
  results: PartitionBatchResult[];
  table: string[];
  deadLetters: Record<string, unknown>[];
  offsets: unknown[];
  /** Batches a bisecting budget cut (the rest passed again). */
  cuts: number;
}

const TABLE = `SELECT (to_jsonb(a) - '_ingested_at')::text AS row FROM all_types a ORDER BY id`;
const DEAD_LETTERS = `SELECT partition, "offset"::text, error_class, sql_state, message, schema_id
  FROM dead_letters ORDER BY partition, "offset"`;
const OFFSETS = 'SELECT partition, next_offset::text FROM pipeline_offsets ORDER BY partition';

/**
 * Writes the partitions' messages in the batches given (message counts), each batch with its bisecting
 * budget, passing again what a budget cut left; then every message once more (all skipped).
 */
async function writeAll(
  pool: pg.Pool,
  partitions: readonly SinkMessage[][],
  plan: ReadonlyArray<{ partition: number; size: number; budget: number }>,
  strategy: WriteStrategy,
  copyFormat: CopyFormat = 'binary',
): Promise<Observed> {
  const results: PartitionBatchResult[] = [];
  let cuts = 0;
  const starts = partitions.map(() => 0);
  for (const { partition, size, budget } of plan) {
    const messages = partitions[partition]!;
    const start = starts[partition]!;
    if (start >= messages.length) continue;
    let rest = messages.slice(start, start + size);
    starts[partition] = start + size;
    while (rest.length > 0) {
      const result = await writePartitionBatch(pool, {
        groupId,
        entry,
        messages: rest,
        writeStrategy: strategy,
        copyFormat,
        bisectBudget: budget,
      });
      results.push(result);
      rest = rest.filter((m) => BigInt(m.offset) >= BigInt(result.nextOffset!));
      if (rest.length > 0) cuts++;
    }
  }
  for (const messages of partitions)
    results.push(
      await writePartitionBatch(pool, { groupId, entry, messages, writeStrategy: strategy, copyFormat }),
    );
  const rows = async (sql: string) => (await pool.query(sql)).rows;
  return {
    results,
    table: (await rows(TABLE)).map((r) => r.row as string),
    deadLetters: await rows(DEAD_LETTERS),
    offsets: await rows(OFFSETS),
    cuts,
  };
}

/**
 * A dead letter without its message and SQLSTATE: binary COPY words some refusals differently, and refuses a
 * value outside its type's range (a time past 24:00) before PostgreSQL does, so without a SQLSTATE.
 */
function withoutMessage(letters: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return letters.map(({ message: _, sql_state: __, ...rest }) => rest);
}

test('differential: random upsert batches through the stage table (COPY binary and text) and through unnest leave the same table, dead letters, offsets and counters', async (t) => {
  const [staged, stagedText, unnested] = await Promise.all([
    migratedSchema(t, 'stage'),
    migratedSchema(t, 'stage_text'),
    migratedSchema(t, 'unnest'),
  ]);
  await Promise.all([upsertTable(staged.pool), upsertTable(stagedText.pool), upsertTable(unnested.pool)]);
  const totals = { written: 0, superseded: 0, deleted: 0, deadLettered: 0, skipped: 0, cuts: 0 };
  const sqlStates = new Set<unknown>();
  let extras = 0;
  for (let run = 0; run < 6; run++) {
    for (const { pool } of [staged, stagedText, unnested])
      await pool.query('TRUNCATE all_types, dead_letters, pipeline_offsets');
    const partitionsIn = (format: CopyFormat) => [
      stream(1000 + run, 90, 0, format),
      stream(2000 + run, 60, 1, format),
    ];
    const partitions = partitionsIn('binary');
    const r = seeded(3000 + run);
    const plan = Array.from({ length: 60 }, () => ({
      partition: r.int(2),
      size: 1 + r.int(run % 2 === 0 ? 40 : 8),
      // Mostly the default; sometimes so small that the plan is cut and the rest passed again.
      budget: r.next() < 0.3 ? r.int(4) : 128,
    }));
    const a = await writeAll(staged.pool, partitions, plan, 'copy', 'binary');
    const text = await writeAll(stagedText.pool, partitionsIn('text'), plan, 'copy', 'text');
    const b = await writeAll(unnested.pool, partitions, plan, 'unnest');
    for (const [x, name] of [
      [a, 'binary'],
      [text, 'text'],
    ] as const) {
      t.deepEqual(x.table, b.table, `table, ${name}, run ${run}`);
      t.deepEqual(x.offsets, b.offsets, `offsets, ${name}, run ${run}`);
    }
    t.deepEqual(text.results, b.results, `counters, text, run ${run}`);
    t.is(text.cuts, b.cuts, `budget cuts, text, run ${run}`);
    t.deepEqual(text.deadLetters, b.deadLetters, `dead letters, text, run ${run}`);
    // Binary COPY refuses a value outside its type (a time past 24:00, handed over as decoded) when it
    // encodes the row, before planning: no bisecting budget spent (batches are cut elsewhere, so the counters
    // differ), and a dead letter even when a later version of the key supersedes the row in its batch, where
    // the text path never sends the superseded row. Every other dead letter is the same.
    const expected = withoutMessage(b.deadLetters);
    t.deepEqual(
      withoutMessage(a.deadLetters).filter((l) => expected.some((e) => isDeepStrictEqual(e, l))),
      expected,
      `dead letters, binary, run ${run}`,
    );
    const extra = a.deadLetters.filter(
      (l) => !b.deadLetters.some((e) => e.offset === l.offset && e.partition === l.partition),
    );
    for (const letter of extra) {
      t.like(letter, { error_class: 'PoisonMessageError:ROW_REJECTED', sql_state: null }, `run ${run}`);
      t.regex(String(letter.message), /binary COPY refuses it as PostgreSQL would/);
    }
    extras += extra.length;
    for (const result of text.results) {
      totals.written += result.written;
      totals.superseded += result.superseded;
      totals.deleted += result.deleted;
      totals.deadLettered += result.deadLettered;
      totals.skipped += result.skipped;
    }
    totals.cuts += text.cuts;
    for (const letter of text.deadLetters) sqlStates.add(letter.sql_state);
  }
  t.log(totals, [...sqlStates], `${extras} dead letters of superseded rows binary COPY refused`);
  // The streams exercise every outcome, or the comparison proves little.
  t.true(totals.written > 100, `written ${totals.written}`);
  t.true(totals.superseded > 50, `superseded ${totals.superseded}`);
  t.true(totals.deleted > 5, `deleted ${totals.deleted}`);
  t.true(totals.deadLettered > 50, `dead-lettered ${totals.deadLettered}`);
  t.true(totals.cuts > 0, `budget cuts ${totals.cuts}`);
  // Refused where PostgreSQL reads the value (COPY into the stage, or unnest's cast) and at the INSERT.
  for (const state of ['22003', '22008', '22021', '22P02', '23514'])
    t.true(sqlStates.has(state), `SQLSTATE ${state}`);
});

test('a connection whose first upsert transaction rolled back (taking its new stage table along) creates the stage again in the next one', async (t) => {
  const { settings } = await migratedSchema(t, 'stagerb');
  // One connection: every transaction below runs in the same session.
  const pool = createPool(settings, { max: 1, log: t.log });
  t.teardown(() => pool.end());
  await upsertTable(pool);
  await pool.query('ALTER TABLE all_types DROP COLUMN label');
  const session = async () =>
    (
      await pool.query<{ pid: number; stages: number }>(
        `SELECT pg_backend_pid() AS pid, (SELECT count(*)::int FROM pg_class
           WHERE relname LIKE 'sink\\_stage\\_%' AND relpersistence = 't' AND pg_table_is_visible(oid)) AS stages`,
      )
    ).rows[0]!;
  const before = await session();
  t.is(before.stages, 0);
  const messages = [
    rowMessage(entry, 0, {
      ...(createFakeEvents(entry, { seed: 4 }).take(1)[0] as Record<string, unknown>),
      id: KEYS[0],
    }),
  ];
  // The stage is created, the COPY into it succeeds, the INSERT into the table misses a column: rollback.
  const error = await t.throwsAsync(writePartitionBatch(pool, { groupId, entry, messages }), {
    instanceOf: PipelineError,
  });
  t.is(error.code, 'CONTRACT_MISMATCH');
  t.deepEqual(await session(), before, 'same session, and the rollback took the stage table along');
  await pool.query('ALTER TABLE all_types ADD COLUMN label text NOT NULL');
  const result = await writePartitionBatch(pool, { groupId, entry, messages });
  t.like(result, { written: 1, deadLettered: 0, nextOffset: '1' });
  t.deepEqual(await session(), { pid: before.pid, stages: 1 });
  const { rows } = await pool.query('SELECT id::text FROM all_types');
  t.deepEqual(rows, [{ id: KEYS[0] }]);
});

test('the stage table is made once per session and emptied at each commit without touching the catalog (no temporary table per transaction)', async (t) => {
  const { settings } = await migratedSchema(t, 'stagecat');
  const pool = createPool(settings, { max: 1, log: t.log });
  t.teardown(() => pool.end());
  await upsertTable(pool);
  const stage = async () =>
    (
      await pool.query<{ pid: number; oid: string; xmin: string; file: string; bytes: string; name: string }>(
        `SELECT pg_backend_pid() AS pid, c.oid::text AS oid, c.xmin::text AS xmin, c.relfilenode::text AS file,
                pg_relation_size(c.oid)::text AS bytes, c.relname AS name
           FROM pg_class c WHERE c.relname LIKE 'sink\\_stage\\_%' AND c.relpersistence = 't'
            AND pg_table_is_visible(c.oid)`,
      )
    ).rows;
  const values = createFakeEvents(entry, { seed: 8 }).take(200) as Record<string, unknown>[];
  const seen: unknown[] = [];
  for (let batch = 0; batch < 3; batch++) {
    const messages = values
      .slice(batch * 60, batch * 60 + 60)
      .map((v, i) => rowMessage(entry, batch * 60 + i, { ...v, id: KEYS[i % KEYS.length] }));
    const result = await writePartitionBatch(pool, { groupId, entry, messages });
    t.is(result.nextOffset, String(batch * 60 + 60));
    const rows = await stage();
    t.is(rows.length, 1, 'one stage table in the session');
    t.is(rows[0]!.bytes, '0', 'emptied (truncated in place) at commit');
    seen.push({ pid: rows[0]!.pid, oid: rows[0]!.oid, xmin: rows[0]!.xmin, file: rows[0]!.file });
  }
  t.deepEqual(seen[1], seen[0], 'same session, same table, same file, its catalog row never rewritten');
  t.deepEqual(seen[2], seen[0]);
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM all_types');
  t.is(rows[0]!.n, KEYS.length);
});
