/**
 * Prometheus metrics and health of one consumer. A registry of its own (not prom-client's global one), so
 * that several consumers in one process (tests, the benchmark) do not share counters.
 */
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ChunkCommit, ConsumerObserver, RetryKind } from '../consumer/consumer-observer.ts';
import { lagOf, type PartitionLag, readStoredOffsets, readWatermarks } from '../consumer/partition-lag.ts';
import { TransientError } from '../errors.ts';

export interface ConsumerMetricsOptions {
  kafka: Kafka;
  pool: pg.Pool;
  groupId: string;
  topics: readonly string[];
  /** How often lag is recomputed. */
  lagIntervalMs: number;
  /** Lag > 0 with no commit for this long makes `/healthz` fail. */
  stallMs: number;
  /** Operational messages (a lag refresh that failed). */
  log?: (line: string) => void;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

export interface HealthReport {
  healthy: boolean;
  /** Why, in words: what the body of a 503 says. */
  reason: string;
  /** Lag over this member's partitions at the last refresh. */
  lag: number;
  /** Ms since the last commit, or since the lag appeared when that is later; null without lag. */
  stalledMs: number | null;
  lastCommitAt: string | null;
}

export interface ReadinessReport {
  ready: boolean;
  assignment: { topic: string; partitions: number[] }[];
}

/** Seconds; a chunk is milliseconds to tens of seconds (a bisecting write). */
const WRITE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const ROW_BUCKETS = [1, 10, 50, 100, 500, 1000, 2500, 5000, 10_000, 50_000];
/** A lag refresh that takes longer is abandoned: a hung database must not hang the health check. */
const REFRESH_TIMEOUT_MS = 5000;

export class ConsumerMetrics implements ConsumerObserver {
  readonly registry = new Registry();
  readonly #options: ConsumerMetricsOptions;
  readonly #now: () => number;
  readonly #events: Counter<'topic'>;
  readonly #rows: Counter<'table'>;
  readonly #deleted: Counter<'table'>;
  readonly #deadLetters: Counter<'topic' | 'cause'>;
  readonly #retries: Counter<'kind'>;
  readonly #batchRows: Histogram<'topic'>;
  readonly #writeSeconds: Histogram<'topic'>;
  readonly #endToEnd: Histogram<'topic'>;
  readonly #lag: Gauge<'topic' | 'partition'>;
  readonly #lastCommit: Gauge;
  readonly #assigned: Gauge;
  readonly #startedAt: number;
  #lastCommitAt: number | undefined;
  /** When the lag of this member's partitions last went from 0 to more. */
  #lagSince: number | undefined;
  #lagByPartition: PartitionLag[] = [];
  /** Next offsets this process committed, per `topic:partition`: lag while the database cannot be read. */
  readonly #committedNext = new Map<string, bigint>();
  readonly #storedNext = new Map<string, Map<number, bigint>>();
  #assignment: { topic: string; partitions: number[] }[] = [];
  #ready = false;
  #timer: NodeJS.Timeout | undefined;
  #admin: ReturnType<Kafka['admin']> | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(options: ConsumerMetricsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'pipeline_process_' });
    this.#events = new Counter({
      name: 'pipeline_events_consumed_total',
      help: 'Kafka messages settled in PostgreSQL (as rows, deletions, dead letters, or skipped redeliveries)',
      labelNames: ['topic'],
      registers,
    });
    this.#rows = new Counter({
      name: 'pipeline_rows_written_total',
      help: 'Rows inserted, or upserted over a lower version',
      labelNames: ['table'],
      registers,
    });
    this.#deleted = new Counter({
      name: 'pipeline_rows_deleted_total',
      help: 'Rows deleted by tombstones',
      labelNames: ['table'],
      registers,
    });
    this.#deadLetters = new Counter({
      name: 'pipeline_dead_letters_total',
      help: 'Messages stored in dead_letters, by cause (error_class)',
      labelNames: ['topic', 'cause'],
      registers,
    });
    this.#retries = new Counter({
      name: 'pipeline_retries_total',
      help: 'Retries, by what was waited for (database, registry, kafka, rejoin, consumer-restart, broker-restart)',
      labelNames: ['kind'],
      registers,
    });
    this.#batchRows = new Histogram({
      name: 'pipeline_batch_rows',
      help: 'Messages per committed partition transaction',
      labelNames: ['topic'],
      buckets: ROW_BUCKETS,
      registers,
    });
    this.#writeSeconds = new Histogram({
      name: 'pipeline_write_seconds',
      help: 'Time to write one partition transaction, retries included',
      labelNames: ['topic'],
      buckets: WRITE_BUCKETS,
      registers,
    });
    this.#endToEnd = new Histogram({
      name: 'pipeline_end_to_end_seconds',
      help: 'From the Kafka timestamp of a message to the commit of its transaction',
      labelNames: ['topic'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#lag = new Gauge({
      name: 'pipeline_lag',
      help: 'Messages in Kafka not yet in PostgreSQL, per partition (log end minus stored next offset)',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.#lastCommit = new Gauge({
      name: 'pipeline_last_commit_timestamp_seconds',
      help: 'Unix time of the last committed partition transaction (0 before the first)',
      registers,
    });
    this.#assigned = new Gauge({
      name: 'pipeline_assigned_partitions',
      help: 'Partitions assigned to this member (0 while out of the group)',
      registers,
    });
  }

  committed(commit: ChunkCommit): void {
    const { topic, table, result } = commit;
    this.#events.inc({ topic }, commit.messages);
    if (result.written > 0) this.#rows.inc({ table }, result.written);
    if (result.deleted > 0) this.#deleted.inc({ table }, result.deleted);
    for (const [cause, n] of Object.entries(result.deadLetterCauses))
      this.#deadLetters.inc({ topic, cause }, n);
    this.#batchRows.observe({ topic }, commit.messages);
    this.#writeSeconds.observe({ topic }, commit.writeSeconds);
    for (const timestamp of commit.timestamps) {
      this.#endToEnd.observe({ topic }, Math.max(0, commit.committedAt - timestamp) / 1000);
    }
    this.#lastCommitAt = commit.committedAt;
    this.#lastCommit.set(commit.committedAt / 1000);
    if (result.nextOffset !== undefined) {
      const key = `${topic}:${commit.partition}`;
      const next = BigInt(result.nextOffset);
      if ((this.#committedNext.get(key) ?? -1n) < next) this.#committedNext.set(key, next);
    }
  }

  retried(kind: RetryKind): void {
    this.#retries.inc({ kind });
  }

  assigned(assignment: { topic: string; partitions: number[] }[]): void {
    this.#assignment = assignment;
    this.#ready = true;
    this.#assigned.set(assignment.reduce((n, a) => n + a.partitions.length, 0));
  }

  unassigned(): void {
    this.#ready = false;
    this.#assigned.set(0);
  }

  /** Starts the periodic lag refresh (the first one at once). */
  start(): void {
    if (this.#timer !== undefined) return;
    void this.refreshLag();
    this.#timer = setInterval(() => void this.refreshLag(), this.#options.lagIntervalMs);
    // Never what keeps the process alive.
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#refreshing?.catch(() => undefined);
    await this.#admin?.disconnect().catch(() => undefined);
    this.#admin = undefined;
  }

  /**
   * Recomputes the lag gauges: Kafka's log end per partition against the database's stored next offsets, or
   * against what this process committed when the database cannot be read (the outage health must see).
   * One refresh at a time; a failed one keeps the previous figures.
   */
  refreshLag(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TransientError('TIMEOUT', 'lag refresh timed out')),
        REFRESH_TIMEOUT_MS,
      );
    });
    try {
      const rows: PartitionLag[] = [];
      for (const topic of this.#options.topics) {
        const [ends, stored] = await Promise.race([
          Promise.all([readWatermarks(await this.#connectedAdmin(), topic), this.#stored(topic)]),
          timeout,
        ]);
        rows.push(...lagOf(topic, ends, stored));
      }
      this.#lagByPartition = rows;
      for (const row of rows) this.#lag.set({ topic: row.topic, partition: String(row.partition) }, row.lag);
      const lag = this.#assignedLag();
      if (lag === 0) this.#lagSince = undefined;
      else this.#lagSince ??= this.#now();
    } catch (error) {
      this.#options.log?.(`metrics: lag not refreshed: ${(error as Error)?.message ?? error}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The database's stored offsets, raised to what this process committed since (the database may be away). */
  async #stored(topic: string): Promise<Map<number, bigint>> {
    let stored = this.#storedNext.get(topic) ?? new Map<number, bigint>();
    try {
      stored = await readStoredOffsets(this.#options.pool, this.#options.groupId, topic);
      this.#storedNext.set(topic, stored);
    } catch {
      // The last figures read, and the commits since, are what is known while the database is away.
    }
    const merged = new Map(stored);
    for (const [key, next] of this.#committedNext) {
      const [t, p] = splitKey(key);
      if (t === topic && (merged.get(p) ?? -1n) < next) merged.set(p, next);
    }
    return merged;
  }

  async #connectedAdmin(): Promise<ReturnType<Kafka['admin']>> {
    if (this.#admin === undefined) {
      const admin = this.#options.kafka.admin();
      await admin.connect();
      this.#admin = admin;
    }
    return this.#admin;
  }

  /** Lag over this member's partitions: others' lag is their members' health. */
  #assignedLag(): number {
    const mine = new Set(this.#assignment.flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)));
    return this.#lagByPartition
      .filter((row) => mine.has(`${row.topic}:${row.partition}`))
      .reduce((n, row) => n + row.lag, 0);
  }

  /** Per partition, as of the last refresh. */
  get lagByPartition(): readonly PartitionLag[] {
    return this.#lagByPartition;
  }

  health(): HealthReport {
    const lag = this.#assignedLag();
    const lastCommitAt = this.#lastCommitAt === undefined ? null : new Date(this.#lastCommitAt).toISOString();
    if (lag === 0 || this.#lagSince === undefined) {
      return { healthy: true, reason: 'no lag', lag, stalledMs: null, lastCommitAt };
    }
    const since = Math.max(this.#lagSince, this.#lastCommitAt ?? this.#startedAt, this.#startedAt);
    const stalledMs = Math.max(0, this.#now() - since);
    if (stalledMs <= this.#options.stallMs) {
      return { healthy: true, reason: 'making progress', lag, stalledMs, lastCommitAt };
    }
    return {
      healthy: false,
      reason: `lag ${lag} and no commit for ${Math.round(stalledMs / 1000)} s (HEALTH_STALL_MS=${this.#options.stallMs})`,
      lag,
      stalledMs,
      lastCommitAt,
    };
  }

  readiness(): ReadinessReport {
    const ready = this.#ready && this.#assignment.some((a) => a.partitions.length > 0);
    return { ready, assignment: this.#assignment };
  }
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf(':');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
