/**
 * The consumer group runner: Kafka batches → decode → one PostgreSQL transaction per partition batch.
 *
 * Exactly-once into PostgreSQL does not rely on Kafka's committed offsets: each partition's next offset is
 * stored in the same transaction as its rows, and that transaction locks the partition's offsets row and
 * skips anything below it. On (re)assignment the consumer seeks to the stored offset, so it resumes where the
 * database says; a stale or duplicate delivery (a fetch in flight across a rebalance, a crash between the
 * database commit and the Kafka commit) is skipped by the database, whatever the client does. Kafka offsets
 * are still committed after the database commit, for lag tools.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type pg from 'pg';
import type { MessageDecoder } from '../codec/message-decoder.ts';
import type { ConsumerSettings } from '../config.ts';
import { type Catalog, type CatalogEntry, entryFor } from '../contracts/catalog.ts';
import { PipelineError, TransientError } from '../errors.ts';
import { readNextOffsets, type SinkMessage, writePartitionBatch } from '../sink/partition-writer.ts';
import { retryTransient } from './retry-transient.ts';

export interface TopicCounters {
  /** Rows inserted, or upserted with a higher version. */
  written: number;
  /** Rows deleted by tombstones. */
  deleted: number;
  /** Upserts that lost to a newer version of their key (in the batch or already in the table). */
  superseded: number;
  deadLettered: number;
  /** Redeliveries of offsets already in the database. */
  skipped: number;
}

export interface PipelineConsumerOptions {
  kafka: Kafka;
  pool: pg.Pool;
  decoder: MessageDecoder;
  catalog: Catalog;
  settings: ConsumerSettings;
  /** Topics to consume; default every topic of the catalog. */
  topics?: string[];
  /** Bulk path for insert-mode tables. Default: the sink's default. */
  writeStrategy?: 'copy' | 'unnest';
  /** Operational messages (retries, rebalances). Default: nothing. */
  log?: (line: string) => void;
  /**
   * Called after each partition chunk's transaction committed, with the Kafka timestamps of its messages:
   * what the benchmark measures end-to-end latency with. Default: nothing.
   */
  onCommitted?: (commit: CommittedChunk) => void;
}

export interface CommittedChunk {
  topic: string;
  partition: number;
  /** Kafka timestamps (ms since epoch, the producer's CreateTime) of the chunk's messages. */
  timestamps: number[];
  /** `Date.now()` right after COMMIT returned. */
  committedAt: number;
}

export class PipelineConsumer {
  readonly counters = new Map<string, TopicCounters>();
  readonly #options: PipelineConsumerOptions;
  readonly #entries: CatalogEntry[];
  readonly #consumer: Consumer;
  #stopping = false;
  #fatal: PipelineError | undefined;
  #done: Promise<void> | undefined;
  #settle: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(options: PipelineConsumerOptions) {
    this.#options = options;
    this.#entries = (options.topics ?? options.catalog.entries.map((e) => e.topic)).map((t) =>
      entryFor(options.catalog, t),
    );
    for (const entry of this.#entries) {
      this.counters.set(entry.topic, { written: 0, deleted: 0, superseded: 0, deadLettered: 0, skipped: 0 });
    }
    this.#consumer = options.kafka.consumer({
      groupId: options.settings.groupId,
      // A partition batch is one transaction; heartbeats between chunks keep long batches in the group.
      sessionTimeout: options.settings.sessionTimeoutMs,
      // Kafka's advice: a third of the session timeout at most.
      heartbeatInterval: Math.min(3_000, Math.floor(options.settings.sessionTimeoutMs / 3)),
      maxWaitTimeInMs: Math.max(10, options.settings.batchMaxWaitMs),
      maxBytesPerPartition: 1024 * 1024,
      allowAutoTopicCreation: false,
    });
  }

  /** Resolves when the consumer has joined and runs; `done` settles when it stops. */
  async start(): Promise<void> {
    const consumer = this.#consumer;
    const log = this.#options.log ?? (() => undefined);
    await this.#assertTopicsExist();
    this.#done = new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // Paused synchronously, before the fetch loop runs again: no batch of these partitions is fetched from
      // Kafka's committed position while the stored one is being read.
      const assigned = Object.entries(payload.memberAssignment).map(([topic, partitions]) => ({
        topic,
        partitions,
      }));
      consumer.pause(assigned);
      void this.#seekToStoredOffsets(assigned)
        .then(() => consumer.resume(assigned))
        .catch((error) => this.#fail(error));
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts itself after retriable errors; when it will not, this process must not look healthy.
      if (!payload.restart) this.#fail(rootCause(payload.error));
      else log(`consumer restarting after: ${payload.error.message}`);
    });
    await consumer.connect();
    for (const entry of this.#entries) {
      await consumer.subscribe({ topic: entry.topic, fromBeginning: this.#options.settings.fromBeginning });
    }
    await consumer.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.settings.partitionConcurrency,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  /** Settles when the consumer stops: resolves after `stop()`, rejects on a fatal error. */
  get done(): Promise<void> {
    return this.#done ?? Promise.resolve();
  }

  /** Graceful stop: no new fetches, the in-flight batch commits or rolls back, then disconnect. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#consumer.disconnect();
    if (this.#fatal) this.#settle?.reject(this.#fatal);
    else this.#settle?.resolve();
  }

  /**
   * Resolves once every message in the topics is in the database (lag 0); rejects with the consumer's own
   * error if it stops on one meanwhile (not with a timeout that would hide it), or TIMEOUT after `timeoutMs`.
   * For the demo, the tests and the benchmark: a running pipeline has no "end".
   */
  async caughtUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let crashed: unknown;
    this.done.catch((error: unknown) => {
      crashed = error;
    });
    for (;;) {
      const lag = await this.lag();
      if (lag === 0) return;
      if (crashed !== undefined) throw crashed;
      if (Date.now() > deadline) {
        throw new PipelineError('TIMEOUT', `not caught up after ${Math.round(timeoutMs / 1000)} s`, {
          details: { lag },
        });
      }
      await delay(100);
    }
  }

  /** Messages in Kafka not yet in the database (rows or dead letters), over every assigned topic. */
  async lag(): Promise<number> {
    const admin = this.#options.kafka.admin();
    await admin.connect();
    try {
      let lag = 0;
      for (const entry of this.#entries) {
        const [ends, stored] = await Promise.all([
          admin.fetchTopicOffsets(entry.topic),
          readNextOffsets(this.#options.pool, this.#options.settings.groupId, entry.topic),
        ]);
        for (const end of ends) {
          const next = BigInt(stored.get(end.partition) ?? end.low);
          lag += Number(BigInt(end.high) - (next > BigInt(end.low) ? next : BigInt(end.low)));
        }
      }
      return lag;
    } finally {
      await admin.disconnect();
    }
  }

  #fail(error: unknown): void {
    this.#fatal ??=
      error instanceof PipelineError
        ? error
        : new PipelineError('CONSUMER_CRASHED', `consumer stopped: ${(error as Error)?.message ?? error}`, {
            cause: error,
          });
    void this.stop();
  }

  async #assertTopicsExist(): Promise<void> {
    const admin = this.#options.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = this.#entries.filter((e) => !existing.has(e.topic)).map((e) => e.topic);
      if (missing.length > 0) {
        throw new PipelineError(
          'UNKNOWN_TOPIC',
          `topic(s) ${missing.join(', ')} do not exist in Kafka: create them with \`pipeline topics create\``,
          { details: { topics: missing } },
        );
      }
    } finally {
      await admin.disconnect();
    }
  }

  async #seekToStoredOffsets(assigned: { topic: string; partitions: number[] }[]): Promise<void> {
    for (const { topic, partitions } of assigned) {
      const stored = await retryTransient(
        () => readNextOffsets(this.#options.pool, this.#options.settings.groupId, topic),
        {
          shouldContinue: () => !this.#stopping,
          // The partitions are paused; kafkajs keeps the membership alive on its own meanwhile.
          heartbeat: async () => undefined,
          onRetry: (e, n, ms) => this.#options.log?.(`database: ${e.message}; retry ${n} in ${ms} ms`),
        },
      );
      for (const partition of partitions) {
        const offset = stored.get(partition);
        if (offset !== undefined) this.#consumer.seek({ topic, partition, offset });
      }
    }
  }

  /**
   * A fault that retrying can fix (TransientError, kafkajs' own retriable errors) propagates and is retried;
   * anything else (a contract mismatch, a refused login, a bug) stops the consumer: kafkajs would otherwise
   * retry the batch and restart itself forever, leaving a process that looks healthy with a stalled
   * partition. Nothing of the batch is resolved, so the next start resumes at the stored offsets.
   */
  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    try {
      await this.#writeBatch(payload);
    } catch (error) {
      if (error instanceof TransientError || isKafkaRetriable(error)) throw error;
      this.#fail(error);
    }
  }

  async #writeBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const entry = entryFor(this.#options.catalog, batch.topic);
    const counters = this.counters.get(entry.topic)!;
    const max = this.#options.settings.batchMaxRows;
    const log = this.#options.log ?? (() => undefined);
    // Nothing is resolved unless it is in the database: leaving early (shutdown, lost partition) only means
    // the next owner gets these messages again, and the offsets table skips what was already written.
    const live = () => isRunning() && !isStale() && !this.#stopping;

    for (let start = 0; start < batch.messages.length; start += max) {
      if (!live()) return;
      const chunk = batch.messages.slice(start, start + max);
      const outcomes = await retryTransient(
        () =>
          this.#options.decoder.decodeBatch(
            entry,
            chunk.map((m) => m.value),
          ),
        {
          shouldContinue: live,
          heartbeat,
          onRetry: (e, n, ms) => log(`registry: ${e.message}; retry ${n} in ${ms} ms`),
        },
      );
      const messages: SinkMessage[] = chunk.map((m, i) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        timestamp: m.timestamp,
        key: m.key ?? null,
        value: m.value ?? null,
        headers: headersOf(m.headers),
        outcome: outcomes[i]!,
      }));
      const result = await retryTransient(
        () =>
          writePartitionBatch(this.#options.pool, {
            groupId: this.#options.settings.groupId,
            entry,
            messages,
            ...(this.#options.writeStrategy ? { writeStrategy: this.#options.writeStrategy } : {}),
          }),
        {
          shouldContinue: live,
          heartbeat,
          onRetry: (e, n, ms) => log(`database: ${e.message}; retry ${n} in ${ms} ms`),
        },
      );
      if (this.#options.onCommitted) {
        this.#options.onCommitted({
          topic: batch.topic,
          partition: batch.partition,
          timestamps: chunk.map((m) => Number(m.timestamp)),
          committedAt: Date.now(),
        });
      }
      counters.written += result.written;
      counters.deleted += result.deleted;
      counters.superseded += result.superseded;
      counters.deadLettered += result.deadLettered;
      counters.skipped += result.skipped;
      resolveOffset(chunk.at(-1)!.offset);
      await heartbeat();
    }
    await commitOffsetsIfNecessary();
  }
}

function headersOf(headers: Record<string, unknown> | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    out[name] =
      value === undefined ? undefined : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}

/** kafkajs marks its own errors retriable or not; ours never carry the flag. */
function isKafkaRetriable(error: unknown): boolean {
  return (error as { retriable?: unknown })?.retriable === true && !(error instanceof PipelineError);
}

/** kafkajs wraps the error that crashed the consumer (retries exceeded…): the exit code needs the original. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    if (current instanceof PipelineError) return current;
    const next =
      (current as { cause?: unknown; originalError?: unknown })?.originalError ??
      (current as { cause?: unknown })?.cause;
    if (next === undefined || next === null) return error;
    current = next;
  }
  return error;
}
