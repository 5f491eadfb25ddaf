/**
 * One partition batch → one transaction: rows, deletions, dead letters and the partition's next offset are
 * committed together, so a batch is written exactly once whatever Kafka redelivers.
 */
import type pg from 'pg';
import type { CatalogEntry } from '../contracts/catalog.ts';
import { describeError, PipelineError, PoisonMessageError, TransientError } from '../errors.ts';
import { type BatchPlan, type PlanItem, planBatch } from './batch-plan.ts';
import { writeBisecting } from './bisect.ts';
import { classifyDatabaseError } from './database.ts';
import { type DeadLetter, insertDeadLetters } from './dead-letters.ts';
import { lockPartitionOffset, storePartitionOffset } from './offset-store.ts';
import { createRowMapper, type RowMapper, type SqlText } from './row-mapper.ts';
import { createTableWriter, type TableWriter, type WriteStrategy } from './table-writer.ts';

// The consumer's whole API of the sink in one import: its seek on assignment reads what this module stores.
export { readNextOffsets } from './offset-store.ts';

export interface SinkMessage {
  topic: string;
  partition: number;
  /** kafkajs offset string. */
  offset: string;
  /** kafkajs ms-since-epoch string. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string | undefined>;
  /** What decoding made of it: */
  outcome:
    | { kind: 'row'; value: Record<string, unknown>; schemaId: number }
    | { kind: 'tombstone' }
    | { kind: 'poison'; error: PoisonMessageError; schemaId?: number };
}

export interface PartitionBatchResult {
  /** Rows inserted, or for upserts inserted or replaced by a higher version. */
  written: number;
  /** Rows deleted by tombstones. */
  deleted: number;
  /** Messages stored in dead_letters (poison outcomes and rows PostgreSQL refused). */
  deadLettered: number;
  /** Messages below the stored next offset (already written by an earlier delivery), or repeated in the batch. */
  skipped: number;
  /**
   * Messages applied but without a row of their own: a later message of the same key in the batch won, or
   * (upserts) the table already held an equal or higher version.
   */
  superseded: number;
  /** The partition's next offset after the batch; undefined for an empty batch. */
  nextOffset: string | undefined;
}

export interface WritePartitionBatchInput {
  groupId: string;
  entry: CatalogEntry;
  /** Messages of one topic and partition, in any order. */
  messages: SinkMessage[];
  /** Insert mode only. Default `copy`. */
  writeStrategy?: WriteStrategy;
}

interface Sink {
  mapper: RowMapper;
  writer: TableWriter;
}

// Catalog entries live as long as the process: build their statements and converters once.
const sinks = new WeakMap<CatalogEntry, Sink>();

function sinkFor(entry: CatalogEntry): Sink {
  let sink = sinks.get(entry);
  if (sink === undefined) {
    const mapper = createRowMapper(entry);
    const writer = createTableWriter({
      table: entry.table,
      columns: mapper.columns,
      key: entry.key,
      ...(entry.versionField === undefined ? {} : { versionField: entry.versionField }),
    });
    sink = { mapper, writer };
    sinks.set(entry, sink);
  }
  return sink;
}

interface Prepared extends PlanItem {
  message: SinkMessage;
  row: SqlText[] | undefined;
  schemaId: number | null;
}

interface Dead {
  message: SinkMessage;
  error: PoisonMessageError;
  schemaId: number | null;
}

/** Maps every message before the transaction starts, so that the partition's lock is held only for I/O. */
function prepare(messages: readonly SinkMessage[], mapper: RowMapper): (Prepared | Dead)[] {
  const items: (Prepared | Dead)[] = [];
  for (const message of messages) {
    const { outcome } = message;
    const offset = BigInt(message.offset);
    if (outcome.kind === 'poison') {
      items.push({ message, error: outcome.error, schemaId: outcome.schemaId ?? null });
      continue;
    }
    if (outcome.kind === 'tombstone') {
      if (message.key === null) {
        items.push({
          message,
          error: new PoisonMessageError('ROW_REJECTED', 'a tombstone without a key cannot delete anything'),
          schemaId: null,
        });
      } else {
        const key = mapper.keyFromMessageKey(message.key);
        items.push({
          kind: 'tombstone',
          key,
          version: null,
          offset,
          message,
          row: undefined,
          schemaId: null,
        });
      }
      continue;
    }
    try {
      const row = mapper.toRow(outcome.value, message);
      items.push({
        kind: 'row',
        key: mapper.keyOf(row),
        version: mapper.versionOf(outcome.value),
        offset,
        message,
        row,
        schemaId: outcome.schemaId,
      });
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      items.push({ message, error, schemaId: outcome.schemaId });
    }
  }
  return items;
}

function deadLetter(groupId: string, dead: Dead): DeadLetter {
  const { message, error } = dead;
  const described = describeError(error);
  return {
    groupId,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: message.headers,
    schemaId: dead.schemaId,
    errorClass: described.errorClass,
    sqlState: error.sqlState ?? null,
    message: described.message,
  };
}

function byKey(a: Prepared, b: Prepared): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Applies the plan; everything it refuses comes back as dead letters. */
async function applyPlan(
  client: pg.ClientBase,
  plan: BatchPlan<Prepared>,
  entry: CatalogEntry,
  sink: Sink,
  strategy: WriteStrategy,
): Promise<{ written: number; deleted: number; refused: Dead[]; notApplied: number }> {
  const refused: Dead[] = [];
  // Same key order in every transaction: two batches touching the same keys lock them in the same order.
  const deletes = [...plan.deletes].sort(byKey);
  const deleted = await writeBisecting(
    client,
    deletes,
    (part) =>
      sink.writer.deleteKeys(
        client,
        part.map((p) => p.key),
      ),
    entry.table,
  );
  const writes = entry.writeMode === 'upsert' ? [...plan.writes].sort(byKey) : plan.writes;
  const written = await writeBisecting(
    client,
    writes,
    (part) => {
      const rows = part.map((p) => p.row!);
      return entry.writeMode === 'upsert'
        ? sink.writer.upsert(client, rows)
        : sink.writer.insert(client, rows, strategy);
    },
    entry.table,
  );
  for (const r of [...deleted.refused, ...written.refused]) {
    refused.push({ message: r.item.message, error: r.error, schemaId: r.item.schemaId });
  }
  return {
    written: written.affected,
    deleted: deleted.affected,
    refused,
    notApplied: writes.length - written.refused.length - written.affected,
  };
}

/**
 * One transaction: lock the partition's offsets row (inserting it first if missing), skip messages below the
 * stored next_offset (a stale or duplicate delivery can never write twice), write rows in bulk, dead-letter
 * poison messages and rows PostgreSQL refuses, store next_offset = last offset + 1, commit.
 *
 * Throws TransientError('DATABASE_UNAVAILABLE') after a rollback when retrying can succeed (the consumer
 * retries the same batch), PipelineError('CONTRACT_MISMATCH') when the table does not fit the schema.
 */
export async function writePartitionBatch(
  pool: pg.Pool,
  input: WritePartitionBatchInput,
): Promise<PartitionBatchResult> {
  const { groupId, entry, messages } = input;
  const result: PartitionBatchResult = {
    written: 0,
    deleted: 0,
    deadLettered: 0,
    skipped: 0,
    superseded: 0,
    nextOffset: undefined,
  };
  if (messages.length === 0) return result;
  const { topic, partition } = messages[0]!;
  for (const m of messages) {
    if (m.topic !== entry.topic || m.partition !== partition) {
      // A caller bug, not data: one batch is one partition of the entry's topic.
      throw new TypeError(
        `writePartitionBatch: ${m.topic}[${m.partition}] in a batch of ${entry.topic}[${partition}]`,
      );
    }
  }
  const sink = sinkFor(entry);
  const items = prepare(messages, sink.mapper);

  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw classifyDatabaseError(error, entry.table);
  }
  let broken = false;
  try {
    await client.query('BEGIN');
    const stored = await lockPartitionOffset(client, groupId, topic, partition);
    const seen = new Set<bigint>();
    const fresh: (Prepared | Dead)[] = [];
    let last = stored - 1n;
    for (const item of items) {
      const offset = BigInt(item.message.offset);
      if (offset < stored || seen.has(offset)) {
        result.skipped++;
        continue;
      }
      seen.add(offset);
      fresh.push(item);
      if (offset > last) last = offset;
    }
    if (fresh.length > 0) {
      const planned = fresh.filter((i): i is Prepared => 'kind' in i);
      const dead = fresh.filter((i): i is Dead => !('kind' in i));
      const plan = planBatch(planned, entry.writeMode);
      const applied = await applyPlan(client, plan, entry, sink, input.writeStrategy ?? 'copy');
      dead.push(...applied.refused);
      result.written = applied.written;
      result.deleted = applied.deleted;
      result.superseded = plan.superseded.length + applied.notApplied;
      // In offset order, so that dead letters' ids follow the partition's order.
      dead.sort((a, b) => Number(BigInt(a.message.offset) - BigInt(b.message.offset)));
      result.deadLettered = await insertDeadLetters(
        client,
        dead.map((d) => deadLetter(groupId, d)),
      );
      await storePartitionOffset(client, groupId, topic, partition, last + 1n);
    }
    await client.query('COMMIT');
    result.nextOffset = (last + 1n).toString();
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    const classified = classifyDatabaseError(error, entry.table);
    if (classified instanceof TransientError) broken = true;
    if (classified.code === 'ROW_REJECTED') {
      // Row refusals are handled by bisecting; one here means the pipeline's own tables refused a value.
      throw new PipelineError('CONTRACT_MISMATCH', `pipeline bookkeeping refused: ${classified.message}`, {
        cause: error,
        details: { table: entry.table, topic, partition },
      });
    }
    throw classified;
  } finally {
    // A connection that failed mid-transaction is not handed to the next batch.
    client.release(broken);
  }
}
