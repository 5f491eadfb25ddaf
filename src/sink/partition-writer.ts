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
import { type DeadLetter, deleteDeadLetters, insertDeadLetters } from './dead-letters.ts';
import type { MessageHeader } from './message-headers.ts';
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
  /** Every header, bytes untouched (see message-headers.ts). */
  headers: readonly MessageHeader[];
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
    kafkaTimestamp: message.timestamp,
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

interface Applied {
  written: number;
  deleted: number;
  superseded: number;
  /** Poison outcomes and refused rows, in offset order, ready for `insertDeadLetters`. */
  deadLetters: DeadLetter[];
  /** The messages that did not become dead letters. */
  settled: SinkMessage[];
}

/** Plans and applies prepared messages inside the caller's transaction; refusals come back as dead letters. */
async function applyMessages(
  client: pg.ClientBase,
  groupId: string,
  entry: CatalogEntry,
  sink: Sink,
  items: readonly (Prepared | Dead)[],
  strategy: WriteStrategy,
): Promise<Applied> {
  const planned = items.filter((i): i is Prepared => 'kind' in i);
  const dead = items.filter((i): i is Dead => !('kind' in i));
  const plan = planBatch(planned, entry.writeMode);
  const applied = await applyPlan(client, plan, entry, sink, strategy);
  dead.push(...applied.refused);
  // In offset order, so that dead letters' ids follow the partition's order.
  dead.sort((a, b) => Number(BigInt(a.message.offset) - BigInt(b.message.offset)));
  const refused = new Set(dead.map((d) => d.message));
  return {
    written: applied.written,
    deleted: applied.deleted,
    superseded: plan.superseded.length + applied.notApplied,
    deadLetters: dead.map((d) => deadLetter(groupId, d)),
    settled: items.map((i) => i.message).filter((m) => !refused.has(m)),
  };
}

export interface ReplayResult {
  /** Messages that now went through (rows written, superseded or deleted): their dead letters are gone. */
  replayed: number;
  /** Messages refused again: their dead letters are kept, with the new cause. */
  stillDead: number;
}

/**
 * Re-applies dead-lettered messages of one catalog entry (after a fix: a migration, a registered schema, a
 * new reader) in one transaction: what now goes through is written and its dead letter deleted, what fails
 * again keeps its dead letter with the new cause. The offsets table is not involved: these offsets were
 * consumed long ago, and a dead letter exists once per (group, topic, partition, offset).
 */
export async function replayDeadLetterBatch(
  pool: pg.Pool,
  input: {
    groupId: string;
    entry: CatalogEntry;
    messages: SinkMessage[];
    ids: string[];
    writeStrategy?: WriteStrategy;
  },
): Promise<ReplayResult> {
  const { groupId, entry, messages, ids } = input;
  const sink = sinkFor(entry);
  const items = prepare(messages, sink.mapper);
  return inTransaction(pool, entry.table, async (client) => {
    const applied = await applyMessages(client, groupId, entry, sink, items, input.writeStrategy ?? 'copy');
    const idOf = new Map(messages.map((m, i) => [m, ids[i]!]));
    await deleteDeadLetters(
      pool,
      applied.settled.map((m) => idOf.get(m)!),
      client,
    );
    await insertDeadLetters(client, applied.deadLetters);
    return { replayed: applied.settled.length, stillDead: applied.deadLetters.length };
  });
}

/**
 * Runs `work` in one transaction on its own connection. Any failure rolls back and is classified; a
 * connection that failed mid-transaction is not handed to the next batch. Row refusals are handled inside
 * `work` by bisecting, so one escaping here means the pipeline's own tables (offsets, dead letters) refused
 * a value: the code and the database disagree.
 */
async function inTransaction<T>(
  pool: pg.Pool,
  table: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw classifyDatabaseError(error, table);
  }
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    const classified = classifyDatabaseError(error, table);
    if (classified instanceof TransientError) broken = true;
    if (classified.code === 'ROW_REJECTED') {
      throw new PipelineError('CONTRACT_MISMATCH', `pipeline bookkeeping refused: ${classified.message}`, {
        cause: error,
        details: { table },
      });
    }
    throw classified;
  } finally {
    client.release(broken);
  }
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
      throw new PipelineError(
        'INVARIANT_BROKEN',
        `writePartitionBatch: ${m.topic}[${m.partition}] in a batch of ${entry.topic}[${partition}]`,
      );
    }
  }
  const sink = sinkFor(entry);
  const items = prepare(messages, sink.mapper);

  return inTransaction(pool, entry.table, async (client) => {
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
      const applied = await applyMessages(client, groupId, entry, sink, fresh, input.writeStrategy ?? 'copy');
      result.written = applied.written;
      result.deleted = applied.deleted;
      result.superseded = applied.superseded;
      result.deadLettered = await insertDeadLetters(client, applied.deadLetters);
      await storePartitionOffset(client, groupId, topic, partition, last + 1n);
    }
    result.nextOffset = (last + 1n).toString();
    return result;
  });
}
