/**
 * The raw COPY limit: the backlog's rows, built before timing with the sink's own row mapper from decoded
 * events and already in COPY text, streamed with `COPY … FROM STDIN` in batches of the pipeline's size into a
 * freshly migrated table (same indexes, same primary key). What PostgreSQL can take on this machine, with no
 * Kafka, no decoding, no row mapping and no offsets bookkeeping in the timed part. The same rows again as binary
 * COPY tuples (bench/copy-binary.ts): the raw binary COPY limit, checked against the text one by comparing
 * both tables' contents.
 */

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { CatalogEntry } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
import { copyTextLine } from '../src/sink/copy-text.ts';
import { createRowMapper, type SqlText } from '../src/sink/row-mapper.ts';
import { quoteIdentifier } from '../src/sink/sql-identifier.ts';
import { binaryColumnType, copyBinaryStream } from './copy-binary.ts';
import { readMachineCpu } from './machine-cpu.ts';
import type { EventSeed } from './produce-backlog.ts';
import type { ThroughputResult } from './raw-consume.ts';

export type CopyFormat = 'text' | 'binary';

export interface RawCopyResult extends ThroughputResult {
  format: CopyFormat;
  batchRows: number;
  /** Connections writing at the same time, each its own COPY (and transaction). */
  connections: number;
  /** Milliseconds spent building the rows in both formats (not timed; the same figure for both). */
  prepareMs: number;
  /** The whole machine's busy CPU over the COPYs ÷ rows, µs (bench/machine-cpu.ts); NaN without /proc. */
  machineCpuMicrosPerEvent?: number;
  /** That busy CPU ÷ wall time: how many cores the COPYs kept busy. */
  machineBusyCores?: number;
}

/**
 * The same events as the backlog (same seed), through Avro and back as the decoder would return them, as
 * COPY streams of `batchRows` rows: COPY text and binary COPY of the very same row values, built in one pass
 * (making the rows costs far more than encoding them twice).
 */
export function buildCopyBatches(
  entry: CatalogEntry,
  count: number,
  seed: EventSeed,
  partitions: number,
  batchRows: number,
): Record<CopyFormat, Buffer[]> {
  const source = createFakeEvents(entry, seed);
  const mapper = createRowMapper(entry);
  const types = mapper.columns.map((c) => binaryColumnType(c.pgType));
  const timestamp = String(seed.now.getTime());
  const batches: Record<CopyFormat, Buffer[]> = { text: [], binary: [] };
  for (let start = 0; start < count; start += batchRows) {
    const events = source.take(Math.min(batchRows, count - start));
    const rows: SqlText[][] = [];
    for (let i = 0; i < events.length; i++) {
      const index = start + i;
      const value = entry.reader.type.fromBuffer(entry.reader.type.toBuffer(events[i])) as Record<
        string,
        unknown
      >;
      rows.push(
        mapper.toRow(value, {
          partition: index % partitions,
          offset: String(Math.floor(index / partitions)),
          timestamp,
        }),
      );
    }
    batches.text.push(Buffer.from(rows.map((r) => copyTextLine(r)).join(''), 'utf8'));
    batches.binary.push(copyBinaryStream(types, rows));
  }
  return batches;
}

export async function measureRawCopy(
  pool: pg.Pool,
  entry: CatalogEntry,
  batches: readonly Buffer[],
  rows: number,
  options: { format: CopyFormat; connections: number; batchRows: number; prepareMs: number },
): Promise<RawCopyResult> {
  const columns = createRowMapper(entry).columns.map((c) => quoteIdentifier(c.name));
  const sql = `COPY ${quoteIdentifier(entry.table)} (${columns.join(', ')}) FROM STDIN${
    options.format === 'binary' ? ' WITH (FORMAT binary)' : ''
  }`;
  let next = 0;
  const worker = async () => {
    const client = await pool.connect();
    try {
      for (let i = next++; i < batches.length; i = next++) {
        await pipeline(Readable.from([batches[i]!]), client.query(copyStreams.from(sql)));
      }
    } finally {
      client.release();
    }
  };
  const machineBefore = readMachineCpu()?.busyMs ?? Number.NaN;
  const started = performance.now();
  await Promise.all(Array.from({ length: options.connections }, worker));
  const ms = performance.now() - started;
  const machineMs = (readMachineCpu()?.busyMs ?? Number.NaN) - machineBefore;
  return {
    events: rows,
    totalMs: ms,
    steadyMs: ms,
    perSecond: rows / (ms / 1000),
    format: options.format,
    batchRows: options.batchRows,
    connections: options.connections,
    prepareMs: options.prepareMs,
    machineCpuMicrosPerEvent: (machineMs * 1000) / rows,
    machineBusyCores: machineMs / ms,
  };
}

/**
 * Rows of one table that the other lacks, both ways (EXCEPT ALL over every column the pipeline writes, so a
 * duplicate counts too): 0 when the text and the binary load wrote the same table contents.
 */
export async function differingRows(
  pool: pg.Pool,
  entry: CatalogEntry,
  schemaA: string,
  schemaB: string,
): Promise<number> {
  const columns = createRowMapper(entry)
    .columns.map((c) => quoteIdentifier(c.name))
    .join(', ');
  const table = (schema: string) => `${quoteIdentifier(schema)}.${quoteIdentifier(entry.table)}`;
  const { rows } = await pool.query<{ n: string }>(
    `SELECT ((SELECT count(*) FROM (SELECT ${columns} FROM ${table(schemaA)} EXCEPT ALL SELECT ${columns} FROM ${table(schemaB)}) a)
           + (SELECT count(*) FROM (SELECT ${columns} FROM ${table(schemaB)} EXCEPT ALL SELECT ${columns} FROM ${table(schemaA)}) b))::text AS n`,
  );
  return Number(rows[0]?.n ?? -1);
}
