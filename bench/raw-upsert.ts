/**
 * The raw limits of the upsert record (orders), measured like the page-view limits in bench/raw-copy.ts:
 * rows built before timing by the sink's own row mapper from the bench's own events (same seed, so the same
 * keys and versions as the backlog the pipeline replays), the pipeline's batch size and connection count.
 *
 * - Insert limit: COPY text of every event as a row of its own (a repeated key gets a fresh random uuid, so
 *   the primary key takes them all) into a freshly migrated table.
 * - Upsert limit: the events spread over partitions by kafkajs' default partitioner (as the producer does),
 *   cut into batches of `batchRows` messages per partition in log order, each batch's winners picked by the
 *   sink's own BatchPlanner (one row per key, the highest-ranked), then written one transaction per batch by
 *   the pipeline's own TableWriter statements (the stage COPY and `INSERT … SELECT … ORDER BY key ON CONFLICT
 *   … WHERE (rank) < (EXCLUDED rank) RETURNING …`) followed by the offsets-table UPDATE the sink stores with
 *   the batch. One connection per partition, each partition's batches in order: the table holds the earlier
 *   versions of the earlier batches, as in the pipeline's run.
 *
 * Variants of the statement (`upsertVariants`) run on the same batches: what each part of the statement costs.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Partitioners } from 'kafkajs';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { CatalogEntry } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
import { BatchPlanner, type PlanItem } from '../src/sink/batch-plan.ts';
import type { CopySlice } from '../src/sink/copy-buffer.ts';
import { copyTextLine } from '../src/sink/copy-text.ts';
import { lockPartitionOffset, storePartitionOffset } from '../src/sink/offset-store.ts';
import { createRowMapper, type SqlText } from '../src/sink/row-mapper.ts';
import { quoteIdentifier } from '../src/sink/sql-identifier.ts';
import { createTableWriter } from '../src/sink/table-writer.ts';
import { readMachineCpu } from './machine-cpu.ts';
import type { EventSeed } from './produce-backlog.ts';
import type { ThroughputResult } from './raw-consume.ts';

/** One partition transaction's worth of an upsert backlog, its winners pre-built. */
export interface UpsertBatch {
  partition: number;
  /** Messages of the partition the batch stands for (before the in-batch dedupe). */
  messages: number;
  /** The partition's next offset once the batch is written (what the sink stores). */
  nextOffset: bigint;
  /** The winning rows (one per key), in the planner's order, as the sink passes them. */
  rows: SqlText[][];
  /** Their COPY text lines, one after the other in one buffer. */
  lines: CopySlice[];
}

export interface UpsertWorkload {
  events: number;
  /** Per partition, its batches in log order. */
  partitions: UpsertBatch[][];
  /** Rows the batches attempt (winners of each batch), all partitions. */
  winners: number;
  /** Keys over the whole backlog: the rows the table ends with. */
  keys: number;
  /** Every event as a row of its own, keys made distinct, as COPY text batches of `batchRows` rows. */
  insertBatches: Buffer[];
  batchRows: number;
}

interface Item extends PlanItem {
  row: SqlText[];
}

/** A random-looking uuid (version 4 bits) from a text: a fresh key for a repeated one, not in key order. */
function derivedUuid(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Lines joined into one buffer, with the slice of each. */
function linesOf(rows: readonly SqlText[][]): { buffer: Buffer; lines: CopySlice[] } {
  const texts = rows.map((r) => copyTextLine(r));
  const buffer = Buffer.from(texts.join(''), 'utf8');
  const lines: CopySlice[] = [];
  let start = 0;
  for (const text of texts) {
    const end = start + Buffer.byteLength(text, 'utf8');
    lines.push({ buffer, start, end });
    start = end;
  }
  return { buffer, lines };
}

/**
 * The bench's upsert backlog (same seed as `produceBacklog`), through Avro and back as the decoder returns
 * it, as the pipeline's partitions and batches would see it.
 */
export function buildUpsertWorkload(
  entry: CatalogEntry,
  count: number,
  seed: EventSeed,
  partitions: number,
  batchRows: number,
): UpsertWorkload {
  if (entry.writeMode !== 'upsert') throw new Error(`${entry.topic} is not an upsert topic`);
  const source = createFakeEvents(entry, seed);
  const mapper = createRowMapper(entry);
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  const timestamp = String(seed.now.getTime());
  const pending: Item[][] = Array.from({ length: partitions }, () => []);
  const nextOffset = new Array<bigint>(partitions).fill(0n);
  const out: UpsertBatch[][] = Array.from({ length: partitions }, () => []);
  const seen = new Set<string>();
  const insertBatches: Buffer[] = [];
  let insertRows: SqlText[][] = [];
  let winners = 0;

  const flush = (partition: number) => {
    const items = pending[partition]!;
    if (items.length === 0) return;
    pending[partition] = [];
    // The sink's own planner picks each key's winner: the rows of its first write step.
    const step = new BatchPlanner(items, 'upsert').next();
    const keys = new Set(items.map((i) => i.key)).size;
    if (step === undefined || step.kind !== 'write' || step.items.length !== keys)
      throw new Error(`the planner's first step is not one row per key (${step?.items.length} of ${keys})`);
    const rows = step.items.map((i) => i.row);
    winners += rows.length;
    out[partition]!.push({
      partition,
      messages: items.length,
      nextOffset: nextOffset[partition]!,
      rows,
      lines: linesOf(rows).lines,
    });
  };

  for (let start = 0; start < count; start += batchRows) {
    const events = source.take(Math.min(batchRows, count - start));
    for (let i = 0; i < events.length; i++) {
      const value = entry.reader.type.fromBuffer(entry.reader.type.toBuffer(events[i])) as Record<
        string,
        unknown
      >;
      const key = String(value[entry.key]);
      const partition = partitioner({
        topic: entry.topic,
        partitionMetadata,
        message: { key, value: null },
      });
      const offset = nextOffset[partition]!;
      nextOffset[partition] = offset + 1n;
      const row = mapper.toRow(value, { partition, offset: String(offset), timestamp });
      pending[partition]!.push({
        kind: 'row',
        key: mapper.keyOf(row),
        version: mapper.versionOf(value),
        partition,
        offset,
        row,
      });
      if (pending[partition]!.length === batchRows) flush(partition);

      const distinct = seen.has(key) ? [...row] : row;
      if (seen.has(key)) distinct[mapper.keyIndex] = derivedUuid(`${key}/${start + i}`);
      seen.add(key);
      insertRows.push(distinct);
      if (insertRows.length === batchRows) {
        insertBatches.push(linesOf(insertRows).buffer);
        insertRows = [];
      }
    }
  }
  for (let p = 0; p < partitions; p++) flush(p);
  if (insertRows.length > 0) insertBatches.push(linesOf(insertRows).buffer);
  return { events: count, partitions: out, winners, keys: seen.size, insertBatches, batchRows };
}

/** One way of writing a batch's winners, in the caller's transaction. */
export interface UpsertVariant {
  name: string;
  /** What it changes, for the report. */
  description: string;
  /**
   * Once per connection before timing (the session's stage table); again in each transaction with
   * `bookkeeping` (the sink's stage lookup).
   */
  prepare(client: pg.ClientBase): Promise<void>;
  /** Writes the batch; returns the rows RETURNING reported (undefined: the variant returns none). */
  write(client: pg.ClientBase, batch: UpsertBatch): Promise<number | undefined>;
  /**
   * Also the sink's bookkeeping round trips around the write: the offsets row locked (SELECT … FOR UPDATE),
   * the stage looked up, the write in a savepoint.
   */
  bookkeeping?: boolean;
}

/** The stage COPY of the pipeline (bench copy of the statement, for variants that change the INSERT). */
async function copyInto(client: pg.ClientBase, sql: string, lines: readonly CopySlice[]): Promise<void> {
  const first = lines[0];
  const last = lines.at(-1);
  if (first === undefined || last === undefined) return;
  // The lines are one run of one buffer (linesOf): one write, as the sink's gathered lines.
  await pipeline(
    Readable.from([first.buffer.subarray(first.start, last.end)]),
    client.query(copyStreams.from(sql)),
  );
}

/**
 * The pipeline's upsert (its own TableWriter: same statements, same stage) and variants of its INSERT. The
 * variants' SQL is built here from the same parts as src/sink/table-writer.ts builds the pipeline's; only
 * measured, never used by the sink.
 */
export function upsertVariants(entry: CatalogEntry): UpsertVariant[] {
  const mapper = createRowMapper(entry);
  const columns = mapper.columns;
  const writer = createTableWriter({
    table: entry.table,
    columns,
    key: entry.key,
    ...(entry.versionField === undefined ? {} : { versionField: entry.versionField }),
  });
  if (entry.versionField === undefined) throw new Error(`${entry.topic} has no version field`);
  const table = quoteIdentifier(entry.table);
  const names = columns.map((c) => quoteIdentifier(c.name));
  const columnList = names.join(', ');
  const key = quoteIdentifier(entry.key);
  const ingested = quoteIdentifier('_ingested_at');
  const updates = names
    .filter((n) => n !== key)
    .map((n) => `${n} = EXCLUDED.${n}`)
    .concat(`${ingested} = EXCLUDED.${ingested}`);
  const rank = [quoteIdentifier(entry.versionField), '"_kafka_partition"', '"_kafka_offset"'];
  const guard = ` WHERE (${rank.map((c) => `t.${c}`).join(', ')}) < (${rank.map((c) => `EXCLUDED.${c}`).join(', ')})`;
  const returning = ' RETURNING t."_kafka_partition" AS partition, t."_kafka_offset"::text AS offset';
  const definition = columns.map((c, i) => `${names[i]} ${c.pgType}`).join(', ');
  const stage = 'pg_temp.bench_upsert_stage';
  const stageCopy = `COPY ${stage} (${columnList}) FROM STDIN`;
  const createStage = async (client: pg.ClientBase) => {
    await client.query(`CREATE TEMPORARY TABLE IF NOT EXISTS ${stage} (${definition}) ON COMMIT DELETE ROWS`);
  };
  const staged = `WITH staged AS (DELETE FROM ${stage} RETURNING ${columnList}) `;
  const insert = `INSERT INTO ${table} AS t (${columnList}) SELECT ${columnList} FROM staged`;
  const conflict = (withGuard: boolean) =>
    ` ON CONFLICT (${key}) DO UPDATE SET ${updates.join(', ')}${withGuard ? guard : ''}`;
  const stageVariant = (name: string, description: string, sql: string, returns: boolean): UpsertVariant => ({
    name,
    description,
    prepare: createStage,
    async write(client, batch) {
      await copyInto(client, stageCopy, batch.lines);
      const result = await client.query(sql);
      return returns ? result.rows.length : undefined;
    },
  });
  const sorted = ` ORDER BY ${key}`;
  const nonKey = names.filter((n) => n !== key);
  const merge =
    `MERGE INTO ${table} AS t USING (SELECT ${columnList} FROM ${stage} ORDER BY ${key}) AS s ON t.${key} = s.${key} ` +
    `WHEN MATCHED AND (${rank.map((c) => `t.${c}`).join(', ')}) < (${rank.map((c) => `s.${c}`).join(', ')}) THEN UPDATE SET ${nonKey
      .map((n) => `${n} = s.${n}`)
      .concat(`${ingested} = DEFAULT`)
      .join(', ')} ` +
    `WHEN NOT MATCHED THEN INSERT (${columnList}) VALUES (${names.map((n) => `s.${n}`).join(', ')})${returning}`;
  const byKey = (a: SqlText[], b: SqlText[]) => {
    const x = mapper.keyOf(a);
    const y = mapper.keyOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };

  const pipelineStatements: UpsertVariant = {
    name: 'pipeline statements',
    description:
      'TableWriter.upsertLines: stage COPY, WITH staged AS (DELETE … RETURNING) INSERT … ORDER BY key ON CONFLICT … WHERE rank < EXCLUDED rank RETURNING',
    prepare: (client) => writer.prepareStage(client),
    async write(client, batch) {
      return (await writer.upsertLines(client, batch.lines, 'text')).length;
    },
  };
  return [
    pipelineStatements,
    {
      ...pipelineStatements,
      name: '+ bookkeeping round trips',
      description:
        "the same, with the sink's other statements: offsets row SELECT … FOR UPDATE, stage lookup, SAVEPOINT/RELEASE",
      bookkeeping: true,
    },
    stageVariant(
      'no ORDER BY',
      'the same INSERT without ORDER BY key',
      `${staged}${insert}${conflict(true)}${returning}`,
      true,
    ),
    stageVariant(
      'no RETURNING',
      'the same INSERT without RETURNING',
      `${staged}${insert}${sorted}${conflict(true)}`,
      false,
    ),
    stageVariant(
      'no WHERE guard',
      'ON CONFLICT DO UPDATE without the rank guard (not the same semantics: measured only)',
      `${staged}${insert}${sorted}${conflict(false)}${returning}`,
      true,
    ),
    stageVariant(
      'SELECT from the stage (no DELETE)',
      'INSERT … SELECT … FROM stage ORDER BY key (the stage emptied at commit only)',
      `INSERT INTO ${table} AS t (${columnList}) SELECT ${columnList} FROM ${stage}${sorted}${conflict(true)}${returning}`,
      true,
    ),
    ...(['DELETE', 'TRUNCATE'] as const).map(
      (empty): UpsertVariant => ({
        name: `SELECT, then ${empty} the stage`,
        description: `INSERT … SELECT … FROM stage ORDER BY key … RETURNING, then ${empty} of the stage as its own statement (the stage empty after the step, as with the CTE)`,
        prepare: createStage,
        async write(client, batch) {
          await copyInto(client, stageCopy, batch.lines);
          const result = await client.query(
            `INSERT INTO ${table} AS t (${columnList}) SELECT ${columnList} FROM ${stage}${sorted}${conflict(true)}${returning}`,
          );
          await client.query(empty === 'DELETE' ? `DELETE FROM ${stage}` : `TRUNCATE ${stage}`);
          return result.rows.length;
        },
      }),
    ),
    {
      name: 'MERGE',
      description:
        'stage COPY, MERGE … USING (SELECT … FROM stage ORDER BY key) WHEN MATCHED AND rank < s.rank THEN UPDATE WHEN NOT MATCHED THEN INSERT RETURNING',
      prepare: createStage,
      async write(client, batch) {
        await copyInto(client, stageCopy, batch.lines);
        return (await client.query(merge)).rows.length;
      },
    },
    {
      name: 'unnest',
      description:
        'TableWriter.upsert: one array per column, INSERT … SELECT * FROM unnest(…) ON CONFLICT … (rows sorted by key, as the sink does)',
      prepare: async () => undefined,
      async write(client, batch) {
        return (await writer.upsert(client, [...batch.rows].sort(byKey))).length;
      },
    },
  ];
}

/** What a raw upsert run measured. */
export interface RawUpsertResult extends ThroughputResult {
  variant: string;
  /** Rows the batches attempted (each batch's winners). */
  rows: number;
  /** Rows RETURNING reported inserted or replaced; undefined for a variant without RETURNING. */
  landed?: number;
  transactions: number;
  batchRows: number;
  connections: number;
  machineCpuMicrosPerEvent?: number;
  machineBusyCores?: number;
}

const BENCH_GROUP = 'bench-raw-upsert';

/** The sink's transaction around one batch: BEGIN, (bookkeeping,) the write, the offsets UPDATE, COMMIT. */
async function writeBatch(
  client: pg.ClientBase,
  entry: CatalogEntry,
  variant: UpsertVariant,
  batch: UpsertBatch,
): Promise<number | undefined> {
  await client.query('BEGIN');
  try {
    let landed: number | undefined;
    if (variant.bookkeeping === true) {
      await lockPartitionOffset(client, BENCH_GROUP, entry.topic, batch.partition);
      await variant.prepare(client);
      await client.query('SAVEPOINT sink_bisect');
      landed = await variant.write(client, batch);
      await client.query('RELEASE SAVEPOINT sink_bisect');
    } else {
      landed = await variant.write(client, batch);
    }
    await storePartitionOffset(client, BENCH_GROUP, entry.topic, batch.partition, batch.nextOffset);
    await client.query('COMMIT');
    return landed;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Connections with the offsets rows present and the variant's session state made, before any timing. */
async function connect(
  pool: pg.Pool,
  entry: CatalogEntry,
  variant: UpsertVariant,
  partitions: number,
  connections: number,
): Promise<pg.PoolClient[]> {
  const clients: pg.PoolClient[] = [];
  for (let i = 0; i < connections; i++) clients.push(await pool.connect());
  for (let p = 0; p < partitions; p++) {
    await clients[0]!.query('BEGIN');
    await lockPartitionOffset(clients[0]!, BENCH_GROUP, entry.topic, p);
    await clients[0]!.query('COMMIT');
  }
  for (const client of clients) await variant.prepare(client);
  return clients;
}

/**
 * The raw upsert limit of one variant: one connection per partition (up to `connections`, the partitions
 * taken in turn), each partition's batches in log order, one transaction each; timed from the first BEGIN
 * to the last COMMIT.
 */
export async function measureRawUpsert(
  pool: pg.Pool,
  entry: CatalogEntry,
  workload: UpsertWorkload,
  variant: UpsertVariant,
  connections: number,
): Promise<RawUpsertResult> {
  const clients = await connect(pool, entry, variant, workload.partitions.length, connections);
  let landed: number | undefined = 0;
  let transactions = 0;
  let nextPartition = 0;
  const worker = async (client: pg.PoolClient) => {
    for (let p = nextPartition++; p < workload.partitions.length; p = nextPartition++) {
      for (const batch of workload.partitions[p]!) {
        const n = await writeBatch(client, entry, variant, batch);
        landed = n === undefined || landed === undefined ? undefined : landed + n;
        transactions++;
      }
    }
  };
  try {
    const machineBefore = readMachineCpu()?.busyMs ?? Number.NaN;
    const started = performance.now();
    await Promise.all(clients.map(worker));
    const ms = performance.now() - started;
    const machineMs = (readMachineCpu()?.busyMs ?? Number.NaN) - machineBefore;
    return {
      variant: variant.name,
      events: workload.events,
      totalMs: ms,
      steadyMs: ms,
      perSecond: workload.events / (ms / 1000),
      rows: workload.winners,
      ...(landed === undefined ? {} : { landed }),
      transactions,
      batchRows: workload.batchRows,
      connections: clients.length,
      machineCpuMicrosPerEvent: (machineMs * 1000) / workload.events,
      machineBusyCores: machineMs / ms,
    };
  } finally {
    for (const client of clients) client.release();
  }
}

/** One variant's share of an interleaved run. */
export interface VariantTiming {
  variant: string;
  description: string;
  /** Sum of the variant's rounds over every pass, ms. */
  ms: number;
  /** Events the batches stand for, every pass, ÷ that time. */
  perSecond: number;
  landed?: number;
  /** Its time over the first variant's (the pipeline's statements): below 1 is faster. */
  timeRatio: number;
  /** The lowest and highest of that ratio over the passes: how much the machine moved it. */
  passRatios: [number, number];
}

/**
 * Every variant on the same batches, interleaved: round r writes batch r of every partition (one connection
 * per partition, at the same time) for each variant in turn, a different variant first each round, so that
 * the shared machine's noise falls on all of them alike. Each variant writes into its own pool's table;
 * each pass starts from empty tables again.
 */
export async function measureUpsertVariants(
  pools: readonly pg.Pool[],
  entry: CatalogEntry,
  workload: UpsertWorkload,
  variants: readonly UpsertVariant[],
  passes = 1,
): Promise<VariantTiming[]> {
  const partitions = workload.partitions.length;
  const clients: pg.PoolClient[][] = [];
  try {
    for (const [i, variant] of variants.entries())
      clients.push(await connect(pools[i]!, entry, variant, partitions, partitions));
    const perPass: number[][] = [];
    let landed: (number | undefined)[] = [];
    const rounds = Math.max(...workload.partitions.map((b) => b.length));
    for (let pass = 0; pass < passes; pass++) {
      // Not timed: the same work every pass.
      if (pass > 0)
        for (const set of clients) await set[0]!.query(`TRUNCATE ${quoteIdentifier(entry.table)}`);
      const ms = new Array<number>(variants.length).fill(0);
      landed = new Array<number | undefined>(variants.length).fill(0);
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < variants.length; k++) {
          const v = (round + pass + k) % variants.length;
          const started = performance.now();
          const counts = await Promise.all(
            workload.partitions.map((batches, p) => {
              const batch = batches[round];
              return batch === undefined
                ? Promise.resolve(0)
                : writeBatch(clients[v]![p]!, entry, variants[v]!, batch);
            }),
          );
          ms[v]! += performance.now() - started;
          for (const n of counts)
            landed[v] = n === undefined || landed[v] === undefined ? undefined : landed[v]! + n;
        }
      }
      perPass.push(ms);
    }
    const total = (v: number) => perPass.reduce((sum, ms) => sum + ms[v]!, 0);
    const ratios = (v: number) => perPass.map((ms) => ms[v]! / ms[0]!);
    return variants.map((variant, v) => ({
      variant: variant.name,
      description: variant.description,
      ms: total(v),
      perSecond: (workload.events * passes) / (total(v) / 1000),
      ...(landed[v] === undefined ? {} : { landed: landed[v] }),
      timeRatio: total(v) / total(0),
      passRatios: [Math.min(...ratios(v)), Math.max(...ratios(v))],
    }));
  } finally {
    for (const set of clients) for (const client of set) client.release();
  }
}
