/**
 * Bulk statements on one table. Never one statement per row, and never one bind parameter per value: the
 * unnest form binds one array per column (the 65,535-parameter limit cannot be reached), COPY streams.
 */

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { ConfigurationError } from '../errors.ts';
import type { ColumnSpec } from './column-types.ts';
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from './copy-binary.ts';
import { type CopyBuffer, CopyBufferPool, type CopyFormat, type CopySlice } from './copy-buffer.ts';
import type { SqlText } from './row-mapper.ts';
import { quoteIdentifier } from './sql-identifier.ts';

/**
 * How rows reach the table. `copy` (the default: measured 1.2× faster at 5,000-row batches and about 2× at
 * 50,000, see docs/database.md) streams COPY FROM STDIN in text format: inserts straight into the table,
 * upserts into a session's temporary stage table that one `INSERT … SELECT … ON CONFLICT` then empties into
 * it. `unnest` is `INSERT … SELECT * FROM unnest($1::t1[], …)` (upserts: with the same ON CONFLICT).
 */
export type WriteStrategy = 'copy' | 'unnest';

export interface TableWriterOptions {
  table: string;
  /** Columns in row order. */
  columns: readonly ColumnSpec[];
  /** Column of the catalog key: the conflict target of upserts and the column tombstones delete by. */
  key: string;
  /**
   * Upserts only: a row is replaced only by a higher-ranked one, ranked by (version, _kafka_partition,
   * _kafka_offset) as the batch planner ranks them (batch-plan.ts).
   */
  versionField?: string;
}

export interface TableWriter {
  /** Appends rows with `INSERT … SELECT * FROM unnest(…)` (the `unnest` strategy); returns how many. */
  insert(client: pg.ClientBase, rows: readonly SqlText[][]): Promise<number>;
  /**
   * Appends rows given as COPY lines in `format` (text: bytes, newline included; binary: whole tuples);
   * returns how many were inserted.
   */
  copyLines(client: pg.ClientBase, lines: readonly CopySlice[], format: CopyFormat): Promise<number>;
  /**
   * Inserts rows or replaces a row of the same key with a higher-ranked one; returns the Kafka positions of
   * the rows inserted or replaced (the others were not applied: the table holds a higher-ranked row). Rows
   * must have distinct keys (ON CONFLICT cannot touch a row twice in one statement).
   */
  upsert(client: pg.ClientBase, rows: readonly SqlText[][]): Promise<KafkaPosition[]>;
  /**
   * `upsert` of rows given as COPY text lines: COPY into the stage table, then the same ON CONFLICT from it.
   * The stage must exist: `prepareStage` in the same transaction, outside any savepoint rolled back since.
   */
  upsertLines(
    client: pg.ClientBase,
    lines: readonly CopySlice[],
    format: CopyFormat,
  ): Promise<KafkaPosition[]>;
  /**
   * Makes sure the session has the stage table of `upsertLines` (created once per connection, emptied at each
   * commit). Run it in the transaction before the savepoints of the writes: a savepoint rolled back would
   * take the table's creation with it.
   */
  prepareStage(client: pg.ClientBase): Promise<void>;
  /** Deletes the rows of these keys; returns how many rows each key (by index) deleted. */
  deleteKeys(client: pg.ClientBase, keys: readonly string[]): Promise<number[]>;
}

/** Where a row's message was: its `_kafka_partition` and `_kafka_offset` (as text). */
export interface KafkaPosition {
  partition: number;
  offset: string;
}

/** One array per column, each element the text of a value. */
function columnArrays(rows: readonly SqlText[][], width: number): SqlText[][] {
  const arrays = Array.from({ length: width }, () => new Array<SqlText>(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < width; c++) arrays[c]![r] = row[c] as SqlText;
  }
  return arrays;
}

/** Bytes per write at most: a long run of lines goes to the socket in pieces of this size. */
const COPY_WRITE_BYTES = 1 << 20;

/**
 * The lines as few buffers as they allow: lines that follow each other in one buffer (a batch's lines are
 * written one after the other) go in one write, whatever part of the batch a bisected attempt holds.
 */
export function* copyRanges(lines: readonly CopySlice[]): Generator<Buffer> {
  let buffer: Buffer | undefined;
  let start = 0;
  let end = 0;
  for (const line of lines) {
    if (line.buffer === buffer && line.start === end && end - start < COPY_WRITE_BYTES) {
      end = line.end;
      continue;
    }
    if (buffer !== undefined) yield buffer.subarray(start, end);
    ({ buffer, start, end } = line);
  }
  if (buffer !== undefined) yield buffer.subarray(start, end);
}

/** The whole COPY stream of the lines: binary COPY's header and trailer around its tuples. */
function* copyStream(lines: readonly CopySlice[], format: CopyFormat): Generator<Buffer> {
  if (format === 'binary') yield COPY_BINARY_HEADER;
  yield* copyRanges(lines);
  if (format === 'binary') yield COPY_BINARY_TRAILER;
}

/** `COPY … FROM STDIN` into a table (quoted) and its columns (quoted, joined), in each format. */
function copyStatements(table: string, columnList: string): Record<CopyFormat, string> {
  const copy = `COPY ${table} (${columnList}) FROM STDIN`;
  return { text: copy, binary: `${copy} (FORMAT binary)` };
}

/** Runs of lines beyond which `upsertLines` copies the lines together before sending them. */
const GATHER_RUNS = 4;

/**
 * Buffers that upserts' lines are copied together in: the rows of an upsert step are one per key (the
 * highest-ranked of each, in key order), scattered over the batch's buffer; sent as they are, each would be
 * a write of its own (thousands of socket writes per batch, a tenth of the consumer's CPU).
 */
const gatherBuffers = new CopyBufferPool();

/** How many writes `copyRanges` would make of the lines. */
function runsOf(lines: readonly CopySlice[]): number {
  let runs = 0;
  let buffer: Buffer | undefined;
  let end = 0;
  for (const line of lines) {
    if (line.buffer !== buffer || line.start !== end) runs++;
    ({ buffer, end } = line);
  }
  return runs;
}

/** The lines copied one after the other into `out` (emptied first): one run, whatever order they were in. */
function gather(out: CopyBuffer, lines: readonly CopySlice[]): CopySlice[] {
  let bytes = 0;
  for (const line of lines) bytes += line.end - line.start;
  out.reset(bytes);
  return lines.map((line) => {
    out.begin();
    out.ensure(line.end - line.start);
    out.pos += line.buffer.copy(out.buf, out.pos, line.start, line.end);
    return out.end();
  });
}

/** Prepares the statements of one table once; the per-batch work is binding arrays or streaming text. */
export function createTableWriter(options: TableWriterOptions): TableWriter {
  const { columns } = options;
  const table = quoteIdentifier(options.table);
  const names = columns.map((c) => quoteIdentifier(c.name));
  const columnList = names.join(', ');
  const unnest = `SELECT * FROM unnest(${columns.map((c, i) => `$${i + 1}::${c.pgType}[]`).join(', ')})`;
  const insertSql = `INSERT INTO ${table} (${columnList}) ${unnest}`;
  const copySql = copyStatements(table, columnList);
  const key = quoteIdentifier(options.key);
  const keyColumn = columns.find((c) => c.name === options.key);
  const keyType = keyColumn?.pgType ?? 'text';
  // The ordinality says which key deleted what: the caller counts per tombstone.
  const deleteSql = `DELETE FROM ${table} USING unnest($1::${keyType}[]) WITH ORDINALITY AS k(v, i)
    WHERE ${table}.${key} = k.v RETURNING k.i::int AS i`;

  const updates = names
    .filter((name) => name !== key)
    .map((name) => `${name} = EXCLUDED.${name}`)
    // The default (now()) of the excluded row: when this state of the row arrived.
    .concat(`${quoteIdentifier('_ingested_at')} = EXCLUDED.${quoteIdentifier('_ingested_at')}`);
  const partitionColumn = quoteIdentifier('_kafka_partition');
  const offsetColumn = quoteIdentifier('_kafka_offset');
  // Ties of version go to the later message, as in a batch, so that where batches are cut never changes the
  // table. The catalog makes the version field non-null: the row comparison never meets a NULL.
  const rank =
    options.versionField === undefined
      ? undefined
      : [quoteIdentifier(options.versionField), partitionColumn, offsetColumn];
  const guard =
    rank === undefined
      ? ''
      : ` WHERE (${rank.map((c) => `t.${c}`).join(', ')}) < (${rank.map((c) => `EXCLUDED.${c}`).join(', ')})`;
  const conflict =
    `ON CONFLICT (${key}) DO UPDATE SET ${updates.join(', ')}${guard}` +
    ` RETURNING t.${partitionColumn} AS partition, t.${offsetColumn}::text AS offset`;
  const upsertSql = `INSERT INTO ${table} AS t (${columnList}) ${unnest} ${conflict}`;

  // The stage: the table's columns with the types unnest casts to, no constraint (the table's own refuse a
  // row at the INSERT, as with unnest). Temporary, so one per session; named after its definition, so that
  // tables of the same name in other schemas, or another version of the columns, never share a wrong one.
  const definition = columns.map((c, i) => `${names[i]} ${c.pgType}`).join(', ');
  const stageName = `sink_stage_${createHash('sha256').update(`${options.table}\0${definition}`).digest('hex').slice(0, 24)}`;
  const stage = `pg_temp.${quoteIdentifier(stageName)}`;
  const stageExistsSql = 'SELECT to_regclass($1) IS NOT NULL AS present';
  // ON COMMIT DELETE ROWS: emptied (truncated in place, no catalog change) at the commit of a transaction
  // that used it; a transaction rolled back takes its rows with it.
  const createStageSql = `CREATE TEMPORARY TABLE ${stage} (${definition}) ON COMMIT DELETE ROWS`;
  const stageCopySql = copyStatements(stage, columnList);
  // The DELETE empties the stage in the same statement, for the next attempt of the same transaction (a
  // bisecting half, the next round of the plan); the ORDER BY keeps the key order the caller chose (two
  // transactions touching the same keys lock them in the same order), whatever order the scan returns.
  const stageUpsertSql =
    `WITH staged AS (DELETE FROM ${stage} RETURNING ${columnList}) ` +
    `INSERT INTO ${table} AS t (${columnList}) SELECT ${columnList} FROM staged ORDER BY ${key} ${conflict}`;

  return {
    async insert(client, rows) {
      if (rows.length === 0) return 0;
      const result = await client.query(insertSql, columnArrays(rows, columns.length));
      return result.rowCount ?? 0;
    },
    async copyLines(client, lines, format) {
      if (lines.length === 0) return 0;
      const stream = client.query(copyStreams.from(copySql[format]));
      await pipeline(Readable.from(copyStream(lines, format)), stream);
      return stream.rowCount;
    },
    async upsert(client, rows) {
      if (rows.length === 0) return [];
      const result = await client.query<KafkaPosition>(upsertSql, columnArrays(rows, columns.length));
      return result.rows;
    },
    async upsertLines(client, lines, format) {
      if (lines.length === 0) return [];
      const out = runsOf(lines) > GATHER_RUNS ? gatherBuffers.take() : undefined;
      try {
        const stream = client.query(copyStreams.from(stageCopySql[format]));
        await pipeline(
          Readable.from(copyStream(out === undefined ? lines : gather(out, lines), format)),
          stream,
        );
      } finally {
        // The COPY has ended (sent, or failed): nothing reads the gathered lines any more.
        gatherBuffers.give(out);
      }
      const result = await client.query<KafkaPosition>(stageUpsertSql);
      return result.rows;
    },
    async prepareStage(client) {
      const found = await client.query<{ present: boolean }>(stageExistsSql, [stage]);
      if (found.rows[0]?.present === true) return;
      try {
        await client.query(createStageSql);
      } catch (error) {
        // TEMPORARY is PUBLIC's by default; a role without it would otherwise stop on a "table does not
        // match" that names no table of ours.
        if ((error as { code?: unknown }).code !== '42501') throw error;
        throw new ConfigurationError(
          [
            `DATABASE_URL: the role may not create temporary tables (${(error as Error).message}); upserts with the copy strategy stage their rows in one: GRANT TEMPORARY ON DATABASE to the role, or use --write-strategy unnest`,
          ],
          { cause: error },
        );
      }
    },
    async deleteKeys(client, keys) {
      const counts = new Array<number>(keys.length).fill(0);
      if (keys.length === 0) return counts;
      const result = await client.query<{ i: number }>(deleteSql, [keys]);
      for (const { i } of result.rows) counts[i - 1]!++;
      return counts;
    },
  };
}
