/**
 * The raw COPY limit: the backlog's rows, built before timing with the sink's own row mapper from decoded
 * events and already in COPY text, streamed with `COPY … FROM STDIN` in batches of the pipeline's size into a
 * freshly migrated table (same indexes, same primary key). What PostgreSQL can take on this machine, with no
 * Kafka, no decoding, no row mapping and no offsets bookkeeping in the timed part.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { CatalogEntry } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
import { copyTextLine } from '../src/sink/copy-text.ts';
import { createRowMapper } from '../src/sink/row-mapper.ts';
import { quoteIdentifier } from '../src/sink/sql-identifier.ts';
import type { EventSeed } from './produce-backlog.ts';
import type { ThroughputResult } from './raw-consume.ts';

export interface RawCopyResult extends ThroughputResult {
  batchRows: number;
  /** Connections writing at the same time, each its own COPY (and transaction). */
  connections: number;
  /** Seconds spent building the rows and their COPY text (not timed). */
  prepareMs: number;
}

/** The same events as the backlog (same seed), through Avro and back as the decoder would return them. */
export function buildCopyBatches(
  entry: CatalogEntry,
  count: number,
  seed: EventSeed,
  partitions: number,
  batchRows: number,
): Buffer[] {
  const source = createFakeEvents(entry, seed);
  const mapper = createRowMapper(entry);
  const timestamp = String(seed.now.getTime());
  const batches: Buffer[] = [];
  for (let start = 0; start < count; start += batchRows) {
    const events = source.take(Math.min(batchRows, count - start));
    let text = '';
    for (let i = 0; i < events.length; i++) {
      const index = start + i;
      const value = entry.reader.type.fromBuffer(entry.reader.type.toBuffer(events[i])) as Record<
        string,
        unknown
      >;
      const row = mapper.toRow(value, {
        partition: index % partitions,
        offset: String(Math.floor(index / partitions)),
        timestamp,
      });
      text += copyTextLine(row);
    }
    batches.push(Buffer.from(text, 'utf8'));
  }
  return batches;
}

export async function measureRawCopy(
  pool: pg.Pool,
  entry: CatalogEntry,
  batches: readonly Buffer[],
  rows: number,
  options: { connections: number; batchRows: number; prepareMs: number },
): Promise<RawCopyResult> {
  const columns = createRowMapper(entry).columns.map((c) => quoteIdentifier(c.name));
  const sql = `COPY ${quoteIdentifier(entry.table)} (${columns.join(', ')}) FROM STDIN`;
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
  const started = performance.now();
  await Promise.all(Array.from({ length: options.connections }, worker));
  const ms = performance.now() - started;
  return {
    events: rows,
    totalMs: ms,
    steadyMs: ms,
    perSecond: rows / (ms / 1000),
    batchRows: options.batchRows,
    connections: options.connections,
    prepareMs: options.prepareMs,
  };
}
