import type { PartitionBatchResult } from '../sink/partition-writer.ts';

/** What a retry waited for: the service that failed, or the group. */
export type RetryKind = 'database' | 'registry' | 'kafka' | 'rejoin' | 'consumer-restart' | 'broker-restart';

export interface ChunkCommit {
  topic: string;
  partition: number;
  table: string;
  /** Messages the transaction settled (rows, tombstones, dead letters, skipped, superseded). */
  messages: number;
  /** Seconds the write took, retries included. */
  writeSeconds: number;
  result: PartitionBatchResult;
  /** Kafka timestamps (ms since epoch) of the settled messages. */
  timestamps: number[];
  /** `Date.now()` right after COMMIT returned. */
  committedAt: number;
}

/**
 * Hooks the consumer calls where its state changes, for metrics and health. Every hook is optional and must
 * not throw or block: it runs inside the batch.
 */
export interface ConsumerObserver {
  committed?(commit: ChunkCommit): void;
  retried?(kind: RetryKind): void;
  /** The member joined the group with this assignment. */
  assigned?(assignment: { topic: string; partitions: number[] }[]): void;
  /** The member is out of the group (a crash it restarts from, or the stop). */
  unassigned?(): void;
}
