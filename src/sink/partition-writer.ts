/**
 * One partition batch → one transaction: rows, deletions, dead letters and the partition's next offset are
 * committed together, so a batch is written exactly once whatever Kafka redelivers.
 */
import type pg from 'pg';
import type { CatalogEntry } from '../contracts/catalog.ts';
import { describeError, PipelineError, PoisonMessageError, TransientError } from '../errors.ts';
import { BatchPlanner, type PlanItem, runPlan } from './batch-plan.ts';
import { binaryKeyText } from './binary-key.ts';
import { type BisectBudget, writeBisecting } from './bisect.ts';
import { METADATA_COLUMNS } from './column-types.ts';
import { appendBinaryRow, type BinaryFieldEncoder, binaryFieldEncoder } from './copy-binary.ts';
import {
  appendBinaryLine,
  appendCopyLine,
  appendTextLine,
  type CopyBuffer,
  CopyBufferPool,
  type CopyFormat,
  type CopySlice,
  DEFAULT_COPY_FORMAT,
} from './copy-buffer.ts';
import { copyTextFieldAt, parseCopyTextLine } from './copy-text.ts';
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
  /** What decoding made of it (a fast-path row carries its COPY bytes in `copy`, see DecodeOutcome): */
  outcome:
    | {
        kind: 'row';
        value: Record<string, unknown>;
        schemaId: number;
        copy?: CopySlice | undefined;
        /** The format `copy` is in; a row whose format is not the write's takes the reference path. */
        copyFormat?: CopyFormat;
        version?: bigint | null;
      }
    | { kind: 'tombstone' }
    | { kind: 'poison'; error: PoisonMessageError; schemaId?: number };
}

export interface PartitionBatchResult {
  /** Rows inserted, or for upserts inserted or replacing a lower-ranked row. */
  written: number;
  /** Rows deleted by tombstones. */
  deleted: number;
  /** Messages stored in dead_letters (poison outcomes and rows PostgreSQL refused). */
  deadLettered: number;
  /** The dead letters by cause (their `error_class`, e.g. `PoisonMessageError:ROW_REJECTED`), for metrics. */
  deadLetterCauses: Record<string, number>;
  /** Messages below the stored next offset (already written by an earlier delivery), or repeated in the batch. */
  skipped: number;
  /**
   * Messages applied but without a row of their own: a message of the same key that took effect outranks
   * them (a later tombstone, a higher-ranked row), or (upserts) the table already held a higher-ranked row.
   */
  superseded: number;
  /**
   * The partition's next offset after the batch; undefined for an empty batch. Below the batch's last offset
   * + 1 when the bisecting budget ran out: the messages from it on were not written, pass them again.
   */
  nextOffset: string | undefined;
}

/**
 * Statements (each in a savepoint) one partition transaction may spend bisecting refused rows before it
 * commits what is settled and leaves the rest to the next transaction: the partition's lock is held for a
 * bounded time however many rows PostgreSQL refuses. Measured in docs/database.md (Dead letters).
 */
export const DEFAULT_BISECT_BUDGET = 128;

export interface WritePartitionBatchInput {
  groupId: string;
  entry: CatalogEntry;
  /** Messages of one topic and partition, in any order. */
  messages: SinkMessage[];
  /** Default `copy`. */
  writeStrategy?: WriteStrategy;
  /**
   * The COPY format of the `copy` strategy (`unnest` reads rows back from text lines: always text).
   * Default DEFAULT_COPY_FORMAT.
   */
  copyFormat?: CopyFormat;
  /** Default DEFAULT_BISECT_BUDGET. */
  bisectBudget?: number;
  /**
   * Offset (kafkajs string) of the last message of the chunk this one follows in the log: the write is
   * refused (INVARIANT_BROKEN, nothing written) unless the stored next offset is above it, so that a chunk
   * is never written over an earlier one that did not commit, whatever the caller's queueing does. Offsets
   * are not contiguous (transaction markers, compaction), so the caller's order is what says "follows".
   * Default: no check.
   */
  follows?: string;
}

interface Sink {
  mapper: RowMapper;
  writer: TableWriter;
  /** The columns' binary COPY encoders (copy-binary.ts), made on the first binary write. */
  binary?: { encoders: BinaryFieldEncoder[]; timestamptz: BinaryFieldEncoder };
}

function binaryOf(sink: Sink): NonNullable<Sink['binary']> {
  sink.binary ??= {
    encoders: sink.mapper.columns.map((c) => binaryFieldEncoder(c.pgType)),
    timestamptz: binaryFieldEncoder('timestamp with time zone'),
  };
  return sink.binary;
}

/**
 * The lines' format: the strategy's (`unnest` reads texts back from text lines), else the one asked for. The
 * consumer asks the decoder for the same, so that its fast-path rows are in the format written.
 */
export function lineFormat(input: { writeStrategy?: WriteStrategy; copyFormat?: CopyFormat }): CopyFormat {
  return (input.writeStrategy ?? 'copy') === 'unnest' ? 'text' : (input.copyFormat ?? DEFAULT_COPY_FORMAT);
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
  /** The row's texts: rows of the reference path (fast-path rows: CopyLineItem.fields()). */
  row: SqlText[] | undefined;
  /** Rows: the row's COPY text line, bytes (tombstones: none). */
  line: CopySlice | undefined;
  schemaId: number | null;
}

/**
 * A row of the fast path: only its COPY line. Its key is read back from the line's key field when the planner
 * asks (upserts group by it; insert plans never do): the text keyOf would give of the reference row.
 */
class CopyLineItem implements Prepared {
  readonly kind = 'row' as const;
  readonly row = undefined;
  readonly line: CopySlice;
  readonly version: bigint | null;
  readonly partition: number;
  readonly offset: bigint;
  readonly message: SinkMessage;
  readonly schemaId: number;
  readonly #mapper: RowMapper;
  readonly #format: CopyFormat;
  #key: string | undefined;
  #fields: SqlText[] | undefined;

  constructor(
    line: CopySlice,
    version: bigint | null,
    offset: bigint,
    message: SinkMessage,
    schemaId: number,
    mapper: RowMapper,
    format: CopyFormat,
  ) {
    this.line = line;
    this.version = version;
    this.partition = message.partition;
    this.offset = offset;
    this.message = message;
    this.schemaId = schemaId;
    this.#mapper = mapper;
    this.#format = format;
  }

  get key(): string {
    if (this.#key === undefined) {
      const { buffer, start, end } = this.line;
      const mapper = this.#mapper;
      if (this.#format === 'text')
        this.#key = mapper.keyOfText(copyTextFieldAt(buffer, start, end, mapper.keyIndex));
      else {
        const text = binaryKeyText(buffer, start, mapper.keyIndex, mapper.columns[mapper.keyIndex]!.kind);
        // A key of a kind the tuple is not read back for: the reference row's (decoded on demand).
        this.#key =
          text === undefined
            ? mapper.keyOf(
                mapper.toRow(
                  (this.message.outcome as { value: Record<string, unknown> }).value,
                  this.message,
                ),
              )
            : mapper.keyOfText(text);
      }
    }
    return this.#key;
  }

  /** The row's texts, read back from the line once (unnest: each bisecting attempt asks again). */
  fields(): SqlText[] {
    if (this.#format !== 'text') {
      throw new PipelineError('INVARIANT_BROKEN', 'unnest asked for the texts of a binary COPY line');
    }
    this.#fields ??= parseCopyTextLine(this.line.buffer, this.line.start, this.line.end);
    return this.#fields;
  }
}

/** Bytes a line's `_kafka_*` columns usually take at most: a first guess of a batch's buffer. */
const META_BYTES = 64;

/**
 * Batches' line buffers, given back once their transaction has ended, committed or not: by then every
 * byte of its COPY reached the socket (the server answered a later statement), nothing reads a line again,
 * and a retry prepares the batch anew.
 */
const lineBuffers = new CopyBufferPool();

interface Dead {
  message: SinkMessage;
  error: PoisonMessageError;
  schemaId: number | null;
}

function isPrepared(item: Prepared | Dead): item is Prepared {
  return 'kind' in item;
}

/**
 * Maps every message before the transaction starts, so that the partition's lock is held only for I/O.
 * Every row's COPY line goes into `lines`, one after the other (the fast path's field bytes copied, the
 * reference path's line encoded), so that a batch goes to PostgreSQL in one write.
 */
function prepare(
  messages: readonly SinkMessage[],
  entry: CatalogEntry,
  sink: Sink,
  lines: CopyBuffer,
  format: CopyFormat,
): (Prepared | Dead)[] {
  const { mapper } = sink;
  const binary = format === 'binary' ? binaryOf(sink) : undefined;
  const fieldCount = mapper.columns.length - METADATA_COLUMNS.length;
  const items: (Prepared | Dead)[] = [];
  let bytes = 0;
  for (const { outcome, value } of messages) {
    bytes +=
      META_BYTES +
      (outcome.kind === 'row' && outcome.copy !== undefined
        ? outcome.copy.end - outcome.copy.start
        : 2 * (value?.length ?? 0));
  }
  lines.reset(bytes);
  for (const message of messages) {
    const { outcome, partition } = message;
    const offset = BigInt(message.offset);
    if (outcome.kind === 'poison') {
      items.push({ message, error: outcome.error, schemaId: outcome.schemaId ?? null });
      continue;
    }
    if (outcome.kind === 'tombstone') {
      if (entry.writeMode === 'insert') {
        // Rows of an insert topic are events, not states of a key: deleting "the key" would remove every
        // event sharing it. Kept (raw bytes and all) rather than silently dropped.
        items.push({
          message,
          error: new PoisonMessageError(
            'ROW_REJECTED',
            `a tombstone (null value) on insert-only topic ${entry.topic}: insert topics are never deleted from`,
          ),
          schemaId: null,
        });
      } else if (message.key === null) {
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
          partition,
          offset,
          message,
          row: undefined,
          line: undefined,
          schemaId: null,
        });
      }
      continue;
    }
    try {
      const copy = outcome.copy;
      if (copy !== undefined && (outcome.copyFormat ?? 'text') === format) {
        const line =
          binary === undefined
            ? appendCopyLine(lines, copy, message, mapper.kafkaTimestampText)
            : appendBinaryLine(
                lines,
                copy,
                fieldCount,
                message,
                mapper.kafkaTimestampText,
                binary.timestamptz,
              );
        items.push(
          new CopyLineItem(line, outcome.version ?? null, offset, message, outcome.schemaId, mapper, format),
        );
        continue;
      }
      const row = mapper.toRow(outcome.value, message);
      items.push({
        kind: 'row',
        key: mapper.keyOf(row),
        version: mapper.versionOf(outcome.value),
        partition,
        offset,
        message,
        row,
        line:
          binary === undefined ? appendTextLine(lines, row) : appendBinaryRow(lines, binary.encoders, row),
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

function byPosition(a: SinkMessage, b: SinkMessage): number {
  if (a.partition !== b.partition) return a.partition - b.partition;
  const d = BigInt(a.offset) - BigInt(b.offset);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/**
 * Runs the plan's statements, bisecting what PostgreSQL refuses; returns the planner with every item's
 * outcome (up to its cut, when the budget ran out), the refusals' causes and the rows each tombstone deleted.
 */
async function runStatements(
  client: pg.ClientBase,
  entry: CatalogEntry,
  sink: Sink,
  planned: readonly Prepared[],
  strategy: WriteStrategy,
  format: CopyFormat,
  budget: BisectBudget | undefined,
): Promise<{
  planner: BatchPlanner<Prepared>;
  errors: Map<Prepared, PoisonMessageError>;
  deletedRows: Map<Prepared, number>;
}> {
  const planner = new BatchPlanner(planned, entry.writeMode);
  const errors = new Map<Prepared, PoisonMessageError>();
  const deletedRows = new Map<Prepared, number>();
  const { writer } = sink;

  const deletePart = async (part: readonly Prepared[]) => {
    // Same key order in every transaction: two batches touching the same keys lock them in the same order.
    const sorted = [...part].sort(byKey);
    const counts = await writer.deleteKeys(
      client,
      sorted.map((p) => p.key),
    );
    sorted.forEach((item, i) => {
      deletedRows.set(item, counts[i]!);
      planner.record(item, 'landed');
    });
  };
  const writePart = async (part: readonly Prepared[]) => {
    if (entry.writeMode === 'insert') {
      if (strategy === 'copy')
        await writer.copyLines(
          client,
          part.map((p) => p.line!),
          format,
        );
      else
        await writer.insert(
          client,
          part.map((p) => p.row ?? (p as CopyLineItem).fields()),
        );
      for (const item of part) planner.record(item, 'landed');
      return;
    }
    // unnest: the same key order in every transaction (the array's order is the order rows are locked in);
    // the stage's INSERT sorts by key itself, so its lines go in any order.
    const rows = strategy === 'copy' ? part : [...part].sort(byKey);
    const landed =
      strategy === 'copy'
        ? await writer.upsertLines(
            client,
            rows.map((p) => p.line!),
            format,
          )
        : await writer.upsert(
            client,
            rows.map((p) => p.row ?? (p as CopyLineItem).fields()),
          );
    const at = new Set(landed.map((p) => `${p.partition}:${p.offset}`));
    for (const item of rows) {
      planner.record(item, at.has(`${item.partition}:${item.offset}`) ? 'landed' : 'not-applied');
    }
  };

  // Outside the savepoints of the writes (see prepareStage), once per transaction that writes upsert rows.
  if (entry.writeMode === 'upsert' && strategy === 'copy' && planned.some((p) => p.kind === 'row'))
    await writer.prepareStage(client);
  await runPlan(planner, async (step, budgeted) => {
    const result = await writeBisecting(
      client,
      step.items,
      step.kind === 'delete' ? deletePart : writePart,
      entry.table,
      budgeted ? budget : undefined,
    );
    for (const { item, error } of result.refused) {
      errors.set(item, error);
      planner.record(item, 'refused');
    }
    return { exhausted: result.exhausted };
  });
  return { planner, errors, deletedRows };
}

interface Applied {
  written: number;
  deleted: number;
  superseded: number;
  /** Poison outcomes and refused rows, in offset order, ready for `insertDeadLetters`. */
  deadLetters: DeadLetter[];
  /** The messages that did not become dead letters. */
  settled: SinkMessage[];
  /**
   * Set when the budget ran out: every message below this offset has its outcome (and only those are
   * counted, dead-lettered or settled above); the messages from it on are to be written again.
   */
  cut: bigint | undefined;
}

/** Plans and applies prepared messages inside the caller's transaction; refusals come back as dead letters. */
async function applyMessages(
  client: pg.ClientBase,
  groupId: string,
  entry: CatalogEntry,
  sink: Sink,
  items: readonly (Prepared | Dead)[],
  strategy: WriteStrategy,
  format: CopyFormat,
  budget?: BisectBudget,
): Promise<Applied> {
  const planned = items.filter(isPrepared);
  const { planner, errors, deletedRows } = await runStatements(
    client,
    entry,
    sink,
    planned,
    strategy,
    format,
    budget,
  );
  const cut = planner.cut();
  const applied: Applied = { written: 0, deleted: 0, superseded: 0, deadLetters: [], settled: [], cut };
  const dead: Dead[] = [];
  for (const item of items) {
    if (cut !== undefined && BigInt(item.message.offset) >= cut) continue;
    if (!isPrepared(item)) {
      dead.push(item);
      continue;
    }
    const outcome = planner.outcome(item);
    if (outcome === 'refused') {
      dead.push({ message: item.message, error: errors.get(item)!, schemaId: item.schemaId });
      continue;
    }
    if (outcome === 'written') applied.written++;
    else if (outcome === 'deleted') applied.deleted += deletedRows.get(item)!;
    else if (outcome === 'superseded') applied.superseded++;
    else
      throw new PipelineError(
        'INVARIANT_BROKEN',
        `offset ${item.message.offset} has no outcome below the cut`,
      );
    applied.settled.push(item.message);
  }
  // In offset order, so that dead letters' ids follow the partition's order.
  dead.sort((a, b) => byPosition(a.message, b.message));
  applied.deadLetters = dead.map((d) => deadLetter(groupId, d));
  return applied;
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
    copyFormat?: CopyFormat;
  },
): Promise<ReplayResult> {
  const { groupId, entry, messages, ids } = input;
  const sink = sinkFor(entry);
  const lines = lineBuffers.take();
  const format = lineFormat(input);
  const items = prepare(messages, entry, sink, lines, format);
  return inTransaction(pool, entry.table, async (client) => {
    const applied = await applyMessages(
      client,
      groupId,
      entry,
      sink,
      items,
      input.writeStrategy ?? 'copy',
      format,
    );
    const idOf = new Map(messages.map((m, i) => [m, ids[i]!]));
    await deleteDeadLetters(
      pool,
      applied.settled.map((m) => idOf.get(m)!),
      client,
    );
    await insertDeadLetters(client, applied.deadLetters);
    return { replayed: applied.settled.length, stillDead: applied.deadLetters.length };
  }).finally(() => lineBuffers.give(lines));
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
 * poison messages and rows PostgreSQL refuses, store next_offset = last offset + 1, commit. When bisecting
 * runs out of budget, next_offset is the first message not settled yet (never one that is neither a row, a
 * dead letter, skipped nor superseded) and `nextOffset` tells the caller to pass the rest again.
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
    deadLetterCauses: {},
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
  const lines = lineBuffers.take();
  const format = lineFormat(input);
  const items = prepare(messages, entry, sink, lines, format);

  return inTransaction(pool, entry.table, async (client) => {
    const stored = await lockPartitionOffset(client, groupId, topic, partition);
    if (input.follows !== undefined && stored <= BigInt(input.follows)) {
      throw new PipelineError(
        'INVARIANT_BROKEN',
        `writePartitionBatch: a chunk of ${topic}[${partition}] follows offset ${input.follows}` +
          `, but the database stores next offset ${stored}: an earlier chunk did not commit, ` +
          'and writing this one would leave a gap',
        { details: { topic, partition, follows: input.follows, stored: stored.toString() } },
      );
    }
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
    let next = last + 1n;
    if (fresh.length > 0) {
      const budget = { remaining: input.bisectBudget ?? DEFAULT_BISECT_BUDGET };
      const applied = await applyMessages(
        client,
        groupId,
        entry,
        sink,
        fresh,
        input.writeStrategy ?? 'copy',
        format,
        budget,
      );
      result.written = applied.written;
      result.deleted = applied.deleted;
      result.superseded = applied.superseded;
      result.deadLettered = await insertDeadLetters(client, applied.deadLetters);
      for (const letter of applied.deadLetters) {
        result.deadLetterCauses[letter.errorClass] = (result.deadLetterCauses[letter.errorClass] ?? 0) + 1;
      }
      if (applied.cut !== undefined) {
        // The planner settles the first message's key before it stops: a caller looping on the rest ends.
        if (fresh.every((item) => BigInt(item.message.offset) >= applied.cut!)) {
          throw new PipelineError(
            'INVARIANT_BROKEN',
            `writePartitionBatch: nothing settled below ${applied.cut}`,
          );
        }
        next = applied.cut;
      }
      await storePartitionOffset(client, groupId, topic, partition, next);
    }
    result.nextOffset = next.toString();
    return result;
  }).finally(() => lineBuffers.give(lines));
}
