/**
 * `node --import tsx bench/upsert-stage.ts [batches] [rows]`: how an upsert batch reaches PostgreSQL, one
 * transaction per batch of orders (5,000 rows; after the first round every row replaces a lower version of
 * its key), the variants interleaved in one run on the same rows:
 * - unnest: one array per column bound to `INSERT … SELECT * FROM unnest(…) ON CONFLICT …` (TableWriter.upsert);
 * - stage: COPY into the session's temporary stage table (ON COMMIT DELETE ROWS, created once per
 *   connection), then `WITH staged AS (DELETE … RETURNING) INSERT … SELECT … ORDER BY key ON CONFLICT …`
 *   (TableWriter.prepareStage + upsertLines, what the sink runs);
 * - stage, no ORDER BY: the same without the sort (the scan's order);
 * - per transaction: `CREATE TEMPORARY TABLE … ON COMMIT DROP` in each transaction, COPY, INSERT … SELECT.
 * Prints the median wall time of a transaction and this process' CPU per row (the client's side of the
 * statements: binding arrays or streaming bytes; the rows and lines are built before). Ratios only: the
 * machine is shared.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { loadConfig } from '../src/config.ts';
import { entryFor, loadCatalog } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
import { appendTextLine, CopyBuffer, type CopySlice } from '../src/sink/copy-buffer.ts';
import { createRowMapper, type SqlText } from '../src/sink/row-mapper.ts';
import { quoteIdentifier } from '../src/sink/sql-identifier.ts';
import { copyRanges, createTableWriter } from '../src/sink/table-writer.ts';
import { DatabaseSpace } from './bench-space.ts';

const batches = Number(process.argv[2] ?? 12);
const rowsPerBatch = Number(process.argv[3] ?? 5000);
const config = loadConfig();
const entry = entryFor(loadCatalog(config.schemasDir), 'shop.orders');
const mapper = createRowMapper(entry);
const writer = createTableWriter({
  table: entry.table,
  columns: mapper.columns,
  key: entry.key,
  ...(entry.versionField === undefined ? {} : { versionField: entry.versionField }),
});

// One set of keys; each round raises every key's version, so that from the second round on each row
// replaces its key's row (the conflict branch), as a stream of order updates does.
const values = createFakeEvents(entry, { seed: 9, now: new Date('2026-01-01T00:00:00Z') }).take(
  rowsPerBatch,
) as Record<string, unknown>[];
const keys = [...new Set(values.map((v) => String(v[entry.key])))];
const unique = values.filter((v, i) => values.findIndex((w) => w[entry.key] === v[entry.key]) === i);
if (unique.length !== keys.length) throw new Error('keys are not unique');

function batch(round: number): { rows: SqlText[][]; lines: CopySlice[] } {
  const out = new CopyBuffer();
  const rows = unique
    .map((v, i) =>
      mapper.toRow(
        { ...v, [entry.versionField!]: (round + 1) * 10 },
        { partition: 0, offset: String(round * rowsPerBatch + i), timestamp: String(Date.UTC(2026, 0, 1)) },
      ),
    )
    .sort((a, b) => (mapper.keyOf(a) < mapper.keyOf(b) ? -1 : 1));
  return { rows, lines: rows.map((r) => appendTextLine(out, r)) };
}

const names = mapper.columns.map((c) => quoteIdentifier(c.name));
const columnList = names.join(', ');
const definition = mapper.columns.map((c, i) => `${names[i]} ${c.pgType}`).join(', ');
const table = quoteIdentifier(entry.table);
const key = quoteIdentifier(entry.key);
const conflict = (() => {
  const updates = names
    .filter((n) => n !== key)
    .map((n) => `${n} = EXCLUDED.${n}`)
    .concat('"_ingested_at" = EXCLUDED."_ingested_at"');
  const rank = [quoteIdentifier(entry.versionField!), '"_kafka_partition"', '"_kafka_offset"'];
  return (
    `ON CONFLICT (${key}) DO UPDATE SET ${updates.join(', ')} WHERE (${rank.map((c) => `t.${c}`).join(', ')}) < ` +
    `(${rank.map((c) => `EXCLUDED.${c}`).join(', ')}) RETURNING t."_kafka_partition" AS partition, t."_kafka_offset"::text AS offset`
  );
})();

async function copyInto(client: pg.ClientBase, target: string, lines: readonly CopySlice[]): Promise<void> {
  await pipeline(
    Readable.from(copyRanges(lines)),
    client.query(copyStreams.from(`COPY ${target} (${columnList}) FROM STDIN`)),
  );
}

type Variant = (client: pg.PoolClient, b: { rows: SqlText[][]; lines: CopySlice[] }) => Promise<number>;

const variants: Record<string, Variant> = {
  unnest: async (client, { rows }) => (await writer.upsert(client, rows)).length,
  stage: async (client, { lines }) => {
    await writer.prepareStage(client);
    return (await writer.upsertLines(client, lines, 'text')).length;
  },
  'stage, no ORDER BY': async (client, { lines }) => {
    const stage = 'pg_temp.bench_stage_unordered';
    const present = await client.query('SELECT to_regclass($1) IS NOT NULL AS p', [stage]);
    if (present.rows[0]?.p !== true)
      await client.query(`CREATE TEMPORARY TABLE ${stage} (${definition}) ON COMMIT DELETE ROWS`);
    await copyInto(client, stage, lines);
    const result = await client.query(
      `WITH staged AS (DELETE FROM ${stage} RETURNING ${columnList}) INSERT INTO ${table} AS t (${columnList}) SELECT ${columnList} FROM staged ${conflict}`,
    );
    return result.rows.length;
  },
  'stage, SELECT (no DELETE)': async (client, { lines }) => {
    const stage = 'pg_temp.bench_stage_kept';
    const present = await client.query('SELECT to_regclass($1) IS NOT NULL AS p', [stage]);
    if (present.rows[0]?.p !== true)
      await client.query(`CREATE TEMPORARY TABLE ${stage} (${definition}) ON COMMIT DELETE ROWS`);
    await copyInto(client, stage, lines);
    const result = await client.query(
      `INSERT INTO ${table} AS t (${columnList}) SELECT ${columnList} FROM ${stage} ORDER BY ${key} ${conflict}`,
    );
    return result.rows.length;
  },
  'per transaction (ON COMMIT DROP)': async (client, { lines }) => {
    const stage = 'pg_temp.bench_stage_dropped';
    await client.query(`CREATE TEMPORARY TABLE ${stage} (${definition}) ON COMMIT DROP`);
    await copyInto(client, stage, lines);
    const result = await client.query(
      `INSERT INTO ${table} AS t (${columnList}) SELECT ${columnList} FROM ${stage} ${conflict}`,
    );
    return result.rows.length;
  },
};

const spaces = new Map<string, DatabaseSpace>();
const clients = new Map<string, pg.PoolClient>();
const timings = new Map<string, { wallMs: number[]; cpuUs: number }>();
try {
  for (const [i, name] of Object.keys(variants).entries()) {
    const space = await DatabaseSpace.create(config, `bench_stage_${process.pid}_${i}`, 1);
    spaces.set(name, space);
    // One connection per variant, as a partition's batches reuse the pool's few connections.
    clients.set(name, await space.pool.connect());
    timings.set(name, { wallMs: [], cpuUs: 0 });
  }
  const order = Object.keys(variants);
  for (let round = 0; round < batches; round++) {
    const b = batch(round);
    // A different variant first in each round: none always runs on a cache the previous one warmed.
    for (let k = 0; k < order.length; k++) {
      const name = order[(round + k) % order.length]!;
      const client = clients.get(name)!;
      const cpu = process.cpuUsage();
      const started = performance.now();
      await client.query('BEGIN');
      const landed = await variants[name]!(client, b);
      await client.query('COMMIT');
      const wall = performance.now() - started;
      const used = process.cpuUsage(cpu);
      if (landed !== b.rows.length) throw new Error(`${name}: ${landed} of ${b.rows.length} rows landed`);
      // The first round inserts (no conflict) and creates the session's stage: left out.
      if (round === 0) continue;
      const t = timings.get(name)!;
      t.wallMs.push(wall);
      t.cpuUs += used.user + used.system;
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const reference = median(timings.get('unnest')!.wallMs);
  console.log(`${batches - 1} transactions of ${keys.length} upserts each per variant (after a first round)`);
  for (const [name, t] of timings) {
    const ms = median(t.wallMs);
    const cpu = t.cpuUs / t.wallMs.length / keys.length;
    console.log(
      `${name.padEnd(34)} median ${ms.toFixed(1)} ms/transaction (${(ms / reference).toFixed(2)} × unnest), client CPU ${cpu.toFixed(2)} µs/row`,
    );
  }
} finally {
  for (const client of clients.values()) client.release();
  for (const space of spaces.values()) await space.cleanup();
}
