/**
 * The consumer group runner: Kafka batches → decode → one PostgreSQL transaction per partition batch.
 *
 * Exactly-once into PostgreSQL does not rely on Kafka's committed offsets: each partition's next offset is
 * stored in the same transaction as its rows, and that transaction locks the partition's offsets row and
 * skips anything below it. On (re)assignment the consumer seeks to the stored offset, so it resumes where the
 * database says; a stale or duplicate delivery (a fetch in flight across a rebalance, a crash between the
 * database commit and the Kafka commit) is skipped by the database, whatever the client does. Kafka offsets
 * are still committed after the database commit, for lag tools (and only then: kafkajs' auto-commit is off).
 *
 * A partition's chunks go through a WriteLane: the next chunk is fetched and decoded while one is written
 * (CONSUMER_WRITE_AHEAD), the chunks commit one after the other in log order, and once a write fails or is
 * abandoned nothing behind it is written; the transaction itself refuses a chunk whose predecessor is not
 * stored (`follows`). kafkajs fetches from the offsets resolved when a chunk is queued; a lane breaks only
 * when the consumer stops or kafkajs' runner does, and the next assignment replaces every lane from the
 * stored offsets.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Admin, Consumer, ConsumerRunConfig, EachBatchPayload, Kafka } from 'kafkajs';
import type pg from 'pg';
import type { MessageDecoder } from '../codec/message-decoder.ts';
import type { ConsumerSettings } from '../config.ts';
import { type Catalog, type CatalogEntry, entryFor } from '../contracts/catalog.ts';
import { PipelineError, TransientError } from '../errors.ts';
import { destroyKafkaSockets } from '../kafka/kafka-client.ts';
import type { CopyFormat } from '../sink/copy-buffer.ts';
import { headersOf } from '../sink/message-headers.ts';
import {
  lineFormat,
  readNextOffsets,
  type SinkMessage,
  writePartitionBatch,
} from '../sink/partition-writer.ts';
import { sqlString } from '../sink/sql-literal.ts';
import type { ConsumerObserver, RetryKind } from './consumer-observer.ts';
import { fetchLimits } from './fetch-limits.ts';
import { heartbeatWhile } from './heartbeat-while.ts';
import { causeChain, kafkaErrorKind, rootCause } from './kafka-error-kind.ts';
import { offsetBelow } from './kafka-offset.ts';
import { retryTransient } from './retry-transient.ts';
import { type LaneWriteResult, WriteLane } from './write-lane.ts';
import { WriteSlots } from './write-slots.ts';

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
  /** Offsets deleted by retention before this group stored them: never in the table (logged as a gap). */
  lost: number;
}

export interface PipelineConsumerOptions {
  kafka: Kafka;
  pool: pg.Pool;
  decoder: MessageDecoder;
  catalog: Catalog;
  settings: ConsumerSettings;
  /** Topics to consume; default every topic of the catalog. */
  topics?: string[];
  /** Bulk path of every table (see WriteStrategy). Default: the sink's default. */
  writeStrategy?: 'copy' | 'unnest';
  /**
   * Operational messages (retries, rebalances), with how much they matter: `error` for data the pipeline
   * could not take (a retention gap), `warn` by default, `info` for the routine (a rejoin). Default: nothing.
   */
  log?: (line: string, level?: 'error' | 'warn' | 'info') => void;
  /**
   * Called after each partition chunk's transaction committed, with the Kafka timestamps of its messages:
   * what the benchmark measures end-to-end latency with. Default: nothing.
   */
  onCommitted?: (commit: CommittedChunk) => void;
  /** Metrics and health: called where counters change, around writes, on joins and leaves. */
  observer?: ConsumerObserver;
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
  /** The format the decoder's fast path writes and the sink sends: the one setting for both. */
  readonly #copyFormat: CopyFormat;
  readonly #entries: CatalogEntry[];
  readonly #consumer: Consumer;
  #stopping = false;
  /** Restarts after the broker went away since the last successful join: the backoff grows with them. */
  #brokerRestarts = 0;
  #stopped: Promise<void> | undefined;
  #fatal: PipelineError | undefined;
  /** Per `topic:partition`, the log start already reported as a retention gap, so it is counted once. */
  readonly #gapsReported = new Map<string, bigint>();
  /**
   * Counts joins and crashes: an assignment's seek runs only while no later join or crash happened (kafkajs
   * throws on a seek after its group is gone, and a newer assignment's lanes must not be replaced).
   */
  #joinEpoch = 0;
  /** Per `topic:partition`, the chunks on their way to the database. */
  readonly #lanes = new Map<string, WriteLane>();
  /** Lanes an assignment replaced while a write of theirs was in flight: a stop still waits for it. */
  readonly #retiredLanes = new Set<WriteLane>();
  readonly #slots: WriteSlots;
  /** Kafka commits waiting to be sent (the latest offset per partition), and the one in flight. */
  readonly #kafkaCommits = new Map<string, { topic: string; partition: number; offset: string }>();
  #kafkaCommitting: Promise<void> | undefined;
  #done: Promise<void> | undefined;
  #settle: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(options: PipelineConsumerOptions) {
    this.#options = options;
    this.#copyFormat = lineFormat({
      copyFormat: options.settings.copyFormat,
      ...(options.writeStrategy ? { writeStrategy: options.writeStrategy } : {}),
    });
    this.#entries = (options.topics ?? options.catalog.entries.map((e) => e.topic)).map((t) =>
      entryFor(options.catalog, t),
    );
    for (const entry of this.#entries) {
      this.counters.set(entry.topic, {
        written: 0,
        deleted: 0,
        superseded: 0,
        deadLettered: 0,
        skipped: 0,
        lost: 0,
      });
    }
    this.#slots = new WriteSlots(options.settings.partitionConcurrency);
    this.#consumer = options.kafka.consumer({
      groupId: options.settings.groupId,
      // Heartbeats go on while a chunk is written (heartbeatWhile), so the session timeout only has to cover a
      // network hiccup, and a dead member is dropped after it rather than after a long transaction's worth.
      sessionTimeout: options.settings.sessionTimeoutMs,
      heartbeatInterval: options.settings.heartbeatIntervalMs,
      rebalanceTimeout: options.settings.rebalanceTimeoutMs,
      maxWaitTimeInMs: Math.max(10, options.settings.batchMaxWaitMs),
      ...fetchLimits(options.settings),
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
      this.#brokerRestarts = 0;
      this.#options.observer?.assigned?.(assigned);
      consumer.pause(assigned);
      const epoch = ++this.#joinEpoch;
      const current = () => epoch === this.#joinEpoch && !this.#stopping;
      // Chunks still being written (of this generation's partitions or of lost ones) commit first, so that
      // the stored offsets read next are final and the lanes start afresh from them.
      void this.#lanesIdle()
        .then(() => this.#seekToStoredOffsets(assigned, current))
        .then(() => {
          if (current()) consumer.resume(assigned);
        })
        // A later join reads the offsets again; a crash or a stop ends this assignment anyway.
        .catch((error) => {
          if (current()) this.#fail(error);
        });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.#joinEpoch++;
      this.#options.observer?.unassigned?.();
      if (this.#stopping) {
        // Leaving anyway: a crash while disconnecting (the broker gone) is not a reason to exit non-zero. But
        // kafkajs schedules its restart even after a stop began, and the new runner would keep the process
        // alive reconnecting: a second disconnect, once ours is over, cancels that timer.
        if (payload.restart) {
          void this.stop()
            .catch(() => undefined)
            .then(() => this.#consumer.disconnect())
            .catch(() => undefined);
        }
        return;
      }
      // kafkajs restarts itself after retriable errors; when it will not, this process must not look healthy,
      // unless the crash is the broker being away: kafkajs calls "group coordinator not found" final.
      if (payload.restart) {
        this.#options.observer?.retried?.('consumer-restart');
        log(`consumer restarting after: ${payload.error.message}`);
      } else if (kafkaErrorKind(payload.error).brokerUnavailable)
        void this.#restartAfterBrokerLoss(payload.error);
      else this.#fail(rootCause(payload.error));
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      // A batch of control records only (a transaction's markers) never reaches eachBatch: kafkajs resolves it
      // itself, and fetches next from past it.
      if (payload.batchSize !== 0) return;
      const lane = this.#lanes.get(`${payload.topic}:${payload.partition}`);
      const after = BigInt(payload.lastOffset) + 1n;
      if (lane?.next !== undefined && after > BigInt(lane.next)) lane.next = after.toString();
    });
    await brokerCall('connecting the consumer', () => consumer.connect());
    for (const entry of this.#entries) {
      await consumer.subscribe({ topic: entry.topic, fromBeginning: this.#options.settings.fromBeginning });
    }
    await consumer.run(this.#runConfig());
  }

  #runConfig(): ConsumerRunConfig {
    return {
      // Kafka learns an offset only once PostgreSQL stores it (#noteKafkaCommit): chunks are resolved when
      // queued, before they are written, so kafkajs' own commits would run ahead of the database.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.settings.partitionConcurrency,
      eachBatch: (payload) => this.#eachBatch(payload),
    };
  }

  /**
   * kafkajs gives up on a broker that is away (restarting, a network cut) with errors it marks final; the
   * member then restarts itself after a backoff, as kafkajs does for its retriable crashes, until the broker
   * answers or the consumer is stopped. The reassignment seeks to the stored offsets, so nothing is redone.
   */
  async #restartAfterBrokerLoss(error: unknown): Promise<void> {
    const attempt = ++this.#brokerRestarts;
    this.#options.observer?.retried?.('broker-restart');
    const waitMs = Math.min(10_000, 500 * 2 ** Math.min(attempt - 1, 5));
    this.#options.log?.(
      `kafka unavailable (${(error as Error)?.message ?? error}); restarting the consumer in ${waitMs} ms`,
    );
    await delay(waitMs);
    if (this.#stopping) return;
    try {
      // stop() only resets kafkajs' crashed runner (it is not running); run() builds a new one and rejoins.
      await this.#consumer.stop();
      if (this.#stopping) return;
      await this.#consumer.run(this.#runConfig());
    } catch (restartError) {
      this.#fail(restartError);
    }
  }

  /** Settles when the consumer stops: resolves after `stop()`, rejects on a fatal error. */
  get done(): Promise<void> {
    return this.#done ?? Promise.resolve();
  }

  /**
   * Graceful stop: no new fetches, the in-flight batch commits or rolls back, then the member leaves the
   * group. Bounded by `shutdownTimeoutMs`: a broker restarted under a connection may never answer, and
   * kafkajs' disconnect then waits forever; after the deadline every socket of the client is closed and
   * `done` rejects with SHUTDOWN_TIMEOUT. Nothing is lost either way: nothing unwritten was resolved.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    this.#options.observer?.unassigned?.();
    const timeoutMs = this.#options.settings.shutdownTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      // No fetch for the lanes to wait behind: the chunk being written commits or rolls back, the ones queued
      // behind it are dropped unwritten, Kafka hears what was stored, then the member leaves.
      this.#consumer.pause(this.#entries.map((e) => ({ topic: e.topic })));
    } catch {
      // kafkajs refuses a pause before run() (a stop during start): nothing is being fetched then.
    }
    for (const lane of this.#lanes.values()) lane.wake();
    const left = this.#lanesIdle()
      .then(() => this.#kafkaCommitting)
      .then(() => this.#consumer.disconnect())
      .then(
        () => true,
        (error: unknown) => {
          this.#options.log?.(`leaving the group: ${(error as Error)?.message ?? error}`);
          return true;
        },
      );
    const inTime = await Promise.race([left, expired]);
    clearTimeout(timer);
    if (!inTime) {
      const closed = destroyKafkaSockets(this.#options.kafka);
      this.#fatal ??= new PipelineError(
        'SHUTDOWN_TIMEOUT',
        `the consumer did not leave the group within ${timeoutMs / 1000} s (CONSUMER_SHUTDOWN_TIMEOUT_MS); ` +
          `${closed} broker connection(s) closed. Nothing is lost: its partitions move once the group drops ` +
          'this member (CONSUMER_SESSION_TIMEOUT_MS), and the next owner resumes at the stored offsets',
        { details: { timeoutMs, socketsClosed: closed } },
      );
    }
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

  #retried(kind: RetryKind, line: string): void {
    this.#options.observer?.retried?.(kind);
    this.#options.log?.(line);
  }

  #fail(error: unknown): void {
    // A fault that retrying could fix, surfacing only because a stop cut the retry short (the stored offsets
    // still unreadable at assignment, say), is not a failure: nothing was consumed, the next owner resumes
    // from the database. Exiting non-zero here made a SIGTERM during an outage look like a crash.
    if (this.#stopping && error instanceof TransientError) return;
    this.#fatal ??=
      error instanceof PipelineError
        ? error
        : new PipelineError('CONSUMER_CRASHED', `consumer stopped: ${(error as Error)?.message ?? error}`, {
            cause: error,
          });
    void this.stop();
  }

  async #assertTopicsExist(): Promise<void> {
    // An unreachable broker at start is one BROKER_UNAVAILABLE line once the client's retries run out.
    const admin = this.#options.kafka.admin({ retry: STARTUP_RETRY });
    await brokerCall('connecting to Kafka', () => admin.connect());
    try {
      const existing = new Set(await brokerCall('listing topics', () => admin.listTopics()));
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

  /**
   * Seeks each assigned partition to its stored offset, checked against the log first. A stored offset past
   * the log end (the topic was recreated or truncated) would make kafkajs' fetch go out of range and reset
   * to the earliest offset, so that every new message below the stored offset would be "skipped": refused
   * instead. One below the log start (retention deleted messages never written) is a gap: logged, counted
   * as `lost`, and consumption goes on from the log start.
   */
  async #seekToStoredOffsets(
    assigned: { topic: string; partitions: number[] }[],
    current: () => boolean,
  ): Promise<void> {
    const retry = {
      shouldContinue: current,
      // The partitions are paused; kafkajs keeps the membership alive on its own meanwhile.
      heartbeat: async () => undefined,
    };
    const beyond: { topic: string; partition: number; stored: string; logEnd: string }[] = [];
    const seeks: { topic: string; partition: number; offset: string; stored: string }[] = [];
    for (const { topic, partitions } of assigned) {
      const stored = await retryTransient(
        () => readNextOffsets(this.#options.pool, this.#options.settings.groupId, topic),
        {
          ...retry,
          onRetry: (e, n, ms) => this.#retried('database', `database: ${e.message}; retry ${n} in ${ms} ms`),
        },
      );
      if (![...stored.keys()].some((p) => partitions.includes(p))) continue;
      const range = await retryTransient(() => this.#logRange(topic), {
        ...retry,
        onRetry: (e, n, ms) => this.#retried('kafka', `kafka: ${e.message}; retry ${n} in ${ms} ms`),
      });
      for (const partition of partitions) {
        const offset = stored.get(partition);
        const bounds = range.get(partition);
        if (offset === undefined || bounds === undefined) continue;
        const next = BigInt(offset);
        if (next > bounds.high) {
          beyond.push({ topic, partition, stored: offset, logEnd: bounds.high.toString() });
        } else if (next < bounds.low) {
          this.#reportGap(topic, partition, next, bounds.low);
          seeks.push({ topic, partition, offset: bounds.low.toString(), stored: offset });
        } else {
          seeks.push({ topic, partition, offset, stored: offset });
        }
      }
    }
    if (beyond.length > 0) throw offsetsBeyondLogEnd(this.#options.settings.groupId, beyond);
    if (!current()) return;
    // The lanes start afresh, each chunk after the stored offset (a partition the database knows nothing of
    // yet starts without `follows`). The old ones are retired first: kafkajs rejoins from inside a fetch too
    // (a leader moved), while another broker's fetcher may still be decoding a batch that holds an old lane;
    // that batch must neither queue a chunk nor resolve an offset past the seek. A write in flight finishes.
    for (const lane of this.#lanes.values()) {
      lane.retire();
      if (lane.pending > 0) {
        this.#retiredLanes.add(lane);
        void lane.idle().then(() => this.#retiredLanes.delete(lane));
      }
    }
    this.#lanes.clear();
    for (const { topic, partition, offset, stored } of seeks) {
      this.#consumer.seek({ topic, partition, offset });
      this.#laneFor(topic, partition, { follows: (BigInt(stored) - 1n).toString(), next: offset });
    }
  }

  /** Low (log start) and high (log end) watermark per partition of `topic`. */
  async #logRange(topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
    const admin: Admin = this.#options.kafka.admin({ retry: STARTUP_RETRY });
    await brokerCall('connecting to Kafka', () => admin.connect());
    try {
      const offsets = await brokerCall(`reading the offsets of ${topic}`, () =>
        admin.fetchTopicOffsets(topic),
      );
      return new Map(offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
    } finally {
      await admin.disconnect();
    }
  }

  #reportGap(topic: string, partition: number, next: bigint, low: bigint): void {
    const key = `${topic}:${partition}`;
    const reported = this.#gapsReported.get(key);
    // Counted once per range: a rebalance before the first chunk commits finds the same gap again.
    const from = reported !== undefined && reported > next ? reported : next;
    if (from >= low) return;
    this.#gapsReported.set(key, low);
    this.counters.get(topic)!.lost += Number(low - from);
    this.#options.log?.(
      `gap: ${topic} partition ${partition} offsets ${from}..${low - 1n} were deleted by retention before ` +
        `they were written (${low - from} messages lost); consuming from ${low}`,
      'error',
    );
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
      const kind = kafkaErrorKind(error);
      if (kind.needsRejoin && kind.rejoinError !== undefined) {
        // A group that changes size: kafkajs' runner rejoins on this very error (its `type`), and the
        // reassignment seeks every partition to its stored offset again.
        this.#options.observer?.retried?.('rejoin');
        this.#options.log?.(`rejoining the group: ${kind.rejoinError.message}`, 'info');
        throw kind.rejoinError;
      }
      if (kind.canRetry) throw error;
      this.#fail(error);
    }
  }

  async #writeBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const entry = entryFor(this.#options.catalog, batch.topic);
    const { topic, partition } = batch;
    const max = this.#options.settings.batchMaxRows;
    const beat = this.#options.settings.heartbeatIntervalMs;
    // Leaving early (shutdown, lost partition) resolves nothing more: the next owner gets the rest again, and
    // the offsets table skips whatever was already written.
    const live = () => isRunning() && !isStale() && !this.#stopping;
    // A write keeps going after a rebalance (the database decides who writes what), only not after a stop.
    const writing = () => isRunning() && !this.#stopping;
    if (!live()) return;
    const lane = this.#laneFor(topic, partition);
    if (lane.broken) {
      // A lane breaks only when its write threw (the consumer then stops) or gave up because kafkajs' runner
      // stopped (a new one rejoins, and the assignment replaces every lane): a batch meeting one is a bug.
      // Its offset is past the chunk that was not written, so nothing of it may be written: stop, loudly.
      throw new PipelineError(
        'INVARIANT_BROKEN',
        `${topic} partition ${partition}: a batch from ${batch.firstOffset()} arrived after a write of the ` +
          'partition did not complete; stopping rather than writing over the gap (a restart resumes from ' +
          'the stored offsets)',
      );
    }
    const fetched = fetchedOffsetOf(batch);
    if (lane.next !== undefined && fetched !== undefined && fetched !== lane.next) {
      if (!(await this.#positionMoved(topic, partition, lane, fetched, live, heartbeat))) return;
    }

    for (let start = 0; start < batch.messages.length; start += max) {
      if (!live()) return;
      const chunk = batch.messages.slice(start, start + max);
      const outcomes = await retryTransient(
        () =>
          heartbeatWhile(
            () =>
              this.#options.decoder.decodeBatch(
                entry,
                chunk.map((m) => m.value),
                this.#copyFormat,
              ),
            heartbeat,
            beat,
          ),
        {
          shouldContinue: live,
          heartbeat,
          onRetry: (e, n, ms) => this.#retried('registry', `registry: ${e.message}; retry ${n} in ${ms} ms`),
        },
      );
      // One plain object per message and nothing else: headers are mostly absent (headersOf then returns a
      // shared empty list), and offsets compare as decimal strings, never through a BigInt per message.
      const messages: SinkMessage[] = new Array<SinkMessage>(chunk.length);
      for (let i = 0; i < chunk.length; i++) {
        const m = chunk[i]!;
        messages[i] = {
          topic,
          partition,
          offset: m.offset,
          timestamp: m.timestamp,
          key: m.key ?? null,
          value: m.value ?? null,
          headers: headersOf(m.headers),
          outcome: outcomes[i]!,
        };
      }
      await heartbeatWhile(() => lane.room(() => !live()), heartbeat, beat);
      if (!live()) return;
      const last = chunk.at(-1)!.offset;
      const follows = lane.follows;
      // A retired lane (an assignment replaced it while this batch was decoded) refuses: nothing is resolved.
      if (!lane.accept(() => this.#writeChunk(entry, messages, follows, writing), last)) return;
      // kafkajs fetches from here next, while the chunk is written; it reaches Kafka's committed offsets
      // only once the database stored it.
      resolveOffset(last);
      await heartbeat();
    }
    // At most CONSUMER_WRITE_AHEAD chunks wait when the next fetch begins: memory stays bounded. And only
    // while the partition has a backlog: caught up (live traffic), fetching again during the write brings
    // smaller batches, so more transactions for the same events, more latency and memory for no throughput
    // (measured: docs/performance.md).
    const behind = batch.offsetLag() !== '0';
    await heartbeatWhile(
      () => lane.room(() => !live(), behind ? Number.POSITIVE_INFINITY : 0),
      heartbeat,
      beat,
    );
  }

  /**
   * Writes one queued chunk: usually one transaction; more when PostgreSQL refuses so many rows that the sink
   * commits a settled prefix to bound how long it holds the partition's lock, and hands back the rest.
   * `abandoned` when a stop came first: the lane then drops whatever is queued behind.
   */
  async #writeChunk(
    entry: CatalogEntry,
    chunk: SinkMessage[],
    firstFollows: string | undefined,
    writing: () => boolean,
  ): Promise<LaneWriteResult> {
    const { topic, partition } = chunk[0]!;
    const counters = this.counters.get(entry.topic)!;
    let messages = chunk;
    let follows = firstFollows;
    while (messages.length > 0) {
      if (!writing()) return 'abandoned';
      const pending = messages;
      const writeStarted = performance.now();
      // Looked at again once a slot is free: a stop while this chunk waited for one must not cost a whole
      // attempt (up to the connect timeout) per waiting chunk.
      const result = await this.#slots.run(() =>
        !writing()
          ? Promise.resolve(undefined)
          : retryTransient(
              () =>
                writePartitionBatch(this.#options.pool, {
                  groupId: this.#options.settings.groupId,
                  entry,
                  messages: pending,
                  ...(follows === undefined ? {} : { follows }),
                  ...(this.#options.writeStrategy ? { writeStrategy: this.#options.writeStrategy } : {}),
                  copyFormat: this.#copyFormat,
                }),
              {
                shouldContinue: writing,
                // kafkajs' runner heartbeats between fetches; this chunk's batch has returned already.
                heartbeat: async () => undefined,
                onRetry: (e, n, ms) =>
                  this.#retried('database', `database: ${e.message}; retry ${n} in ${ms} ms`),
              },
            ),
      );
      if (result === undefined) return 'abandoned';
      const next = result.nextOffset!;
      let committed = pending;
      messages = [];
      if (!pending.every((m) => offsetBelow(m.offset, next))) {
        committed = pending.filter((m) => offsetBelow(m.offset, next));
        messages = pending.filter((m) => !offsetBelow(m.offset, next));
      }
      follows = (BigInt(next) - 1n).toString();
      const committedAt = Date.now();
      const { observer, onCommitted } = this.#options;
      // Built only for a hook that reads them, once for both.
      const timestamps =
        observer?.committed !== undefined || onCommitted !== undefined
          ? committed.map((m) => Number(m.timestamp))
          : [];
      observer?.committed?.({
        topic,
        partition,
        table: entry.table,
        messages: committed.length,
        writeSeconds: (performance.now() - writeStarted) / 1000,
        result,
        timestamps,
        committedAt,
      });
      onCommitted?.({ topic, partition, timestamps, committedAt });
      counters.written += result.written;
      counters.deleted += result.deleted;
      counters.superseded += result.superseded;
      counters.deadLettered += result.deadLettered;
      counters.skipped += result.skipped;
      this.#noteKafkaCommit(topic, partition, next);
    }
    return 'written';
  }

  #laneFor(topic: string, partition: number, start?: { follows: string; next: string }): WriteLane {
    const key = `${topic}:${partition}`;
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = new WriteLane(
        {
          writeAhead: this.#options.settings.writeAhead,
          onError: (error) => this.#laneFailed(error),
        },
        start,
      );
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  /**
   * A write that threw: retrying gave up (the database still down when a stop or a runner restart came: the
   * next start resumes from the stored offsets), or something no retry fixes, which stops the consumer.
   */
  #laneFailed(error: unknown): void {
    if (error instanceof TransientError || this.#stopping) return;
    this.#fail(error);
  }

  /**
   * kafkajs fetched from another offset than the lane's next: its out-of-range recovery moved the position
   * by itself, to the earliest offset or (CONSUMER_FROM_BEGINNING=false) the latest, and committed that to
   * Kafka. Judged as at assignment: past the log end (the topic recreated under a running consumer) refuses;
   * below the log start (retention deleted messages not yet written) is a counted, logged gap, and reading
   * goes on from the log start, never from the log end past messages still there. True when this batch is
   * where reading goes on; otherwise the partition is sought there and nothing of the batch is taken.
   */
  async #positionMoved(
    topic: string,
    partition: number,
    lane: WriteLane,
    fetched: string,
    live: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    const expected = BigInt(lane.next!);
    const range = await retryTransient(() => this.#logRange(topic), {
      shouldContinue: live,
      heartbeat,
      onRetry: (e, n, ms) => this.#retried('kafka', `kafka: ${e.message}; retry ${n} in ${ms} ms`),
    });
    const bounds = range.get(partition);
    if (bounds === undefined || !live()) return false;
    if (expected > bounds.high) {
      throw offsetsBeyondLogEnd(this.#options.settings.groupId, [
        { topic, partition, stored: expected.toString(), logEnd: bounds.high.toString() },
      ]);
    }
    const from = expected < bounds.low ? bounds.low : expected;
    if (expected < bounds.low) this.#reportGap(topic, partition, expected, bounds.low);
    lane.next = from.toString();
    if (BigInt(fetched) === from) return true;
    this.#options.log?.(
      `${topic} partition ${partition}: kafkajs moved the position to ${fetched} by itself; reading from ${from}`,
      'warn',
    );
    this.#consumer.seek({ topic, partition, offset: from.toString() });
    return false;
  }

  /** Resolves once no lane has a chunk pending. */
  async #lanesIdle(): Promise<void> {
    for (const lane of [...this.#lanes.values(), ...this.#retiredLanes]) await lane.idle();
  }

  /**
   * Tells Kafka the partition's next offset now that PostgreSQL stores it: for lag tools only (the seek on
   * assignment reads the database), so one commit at a time with the latest offsets, and a refusal (a
   * rebalance under way) is left to the next commit.
   */
  #noteKafkaCommit(topic: string, partition: number, offset: string): void {
    this.#kafkaCommits.set(`${topic}:${partition}`, { topic, partition, offset });
    this.#kafkaCommitting ??= this.#sendKafkaCommits().finally(() => {
      this.#kafkaCommitting = undefined;
    });
  }

  async #sendKafkaCommits(): Promise<void> {
    while (this.#kafkaCommits.size > 0) {
      const offsets = [...this.#kafkaCommits.values()];
      this.#kafkaCommits.clear();
      try {
        await this.#consumer.commitOffsets(offsets);
      } catch (error) {
        this.#options.log?.(`committing offsets to Kafka: ${(error as Error)?.message ?? error}`, 'info');
      }
    }
  }
}

/**
 * The offset kafkajs asked the broker for when it fetched the batch (`Batch.fetchedOffset`, set by kafkajs
 * 2.x but missing from its type definitions); undefined if a version lacks it, which disables the check.
 */
function fetchedOffsetOf(batch: EachBatchPayload['batch']): string | undefined {
  const fetched = (batch as { fetchedOffset?: unknown }).fetchedOffset;
  return typeof fetched === 'string' ? fetched : undefined;
}

/** kafkajs' retries of the admin requests at start and at assignment (connecting follows the client's). */
const STARTUP_RETRY = { initialRetryTime: 300, retries: 3, maxRetryTime: 2000 };

/**
 * A broker call whose failure, when retrying could fix it (the broker away, a leader moving), is the broker's
 * unavailability as one line: the same error `produce` gives. Anything else (a refused login) stays as is.
 */
async function brokerCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof PipelineError || !kafkaErrorKind(error).canRetry) throw error;
    const cause = causeChain(error).at(-1) ?? error;
    // The innermost error as the cause: the message already says it, so the CLI prints one line.
    throw new TransientError('BROKER_UNAVAILABLE', `${what}: ${(cause as Error)?.message ?? cause}`, {
      cause,
    });
  }
}

/** kafkajs wraps "retries exceeded" around the connection error that explains it. */
function offsetsBeyondLogEnd(
  groupId: string,
  beyond: { topic: string; partition: number; stored: string; logEnd: string }[],
): PipelineError {
  const lines = beyond.map(
    (b) => `${b.topic} partition ${b.partition}: stored next offset ${b.stored}, log end ${b.logEnd}`,
  );
  const group = sqlString(groupId);
  const topicList = [...new Set(beyond.map((b) => b.topic))].map(sqlString).join(', ');
  return new PipelineError(
    'OFFSETS_BEYOND_LOG_END',
    `refusing to consume: the database has written further than the topic holds (was the topic deleted and ` +
      `recreated, or truncated?):\n  - ${lines.join('\n  - ')}\n` +
      `The rows already in the tables came from the old log. To start the new log from its beginning, ` +
      `delete the stored offsets and the old log's dead letters (and, for insert-mode tables, the old rows, or ` +
      `they collide by offset):\n` +
      `  DELETE FROM pipeline_offsets WHERE consumer_group = ${group} AND topic IN (${topicList});\n` +
      `  DELETE FROM dead_letters WHERE consumer_group = ${group} AND topic IN (${topicList});`,
    { details: { group: groupId, partitions: beyond.length } },
  );
}
