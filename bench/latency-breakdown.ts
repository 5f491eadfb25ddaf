/**
 * What end-to-end latency (commit − CreateTime) is made of, from the latency worker's per-message split: time
 * until the fetch that brought the message began (the consumer still busy with the previous fetch's batches),
 * that fetch until kafkajs handed the batch over, then until the chunk's write began, then the write.
 * The tail (events at or above the p99 latency) says what dominates what remains over a target.
 */
import { percentile } from './percentiles.ts';

export interface LatencyParts {
  /**
   * CreateTime → the fetch that brought the message began (0 if it began earlier): kafkajs fetches again only
   * once every batch of its last fetch is processed, so this is the consumer still writing.
   */
  waitMs: number;
  /** That fetch (or CreateTime, if later) → batch handed over: the broker, its max wait, the transfer, gzip. */
  fetchMs: number;
  /** Batch handed over → write began: decoding, earlier chunks of the same batch, a free connection. */
  beforeWriteMs: number;
  /** BEGIN … COMMIT of the message's chunk. */
  writeMs: number;
}

export interface LatencyBreakdown {
  /** Median of each part over the measured events (the parts' medians need not add up to p50). */
  median: LatencyParts;
  /** Mean of each part over the events whose latency is at or above p99 (these add up to their mean). */
  tail: LatencyParts & { events: number };
  /** The largest part of the tail. */
  dominant: keyof LatencyParts;
  /** Events whose batch the worker could not match to a kafkajs batch event (left out of the parts). */
  unmatched: number;
}

export interface LatencySample {
  latencyMs: number;
  waitMs: number;
  fetchMs: number;
  beforeWriteMs: number;
  writeMs: number;
}

const PARTS = ['waitMs', 'fetchMs', 'beforeWriteMs', 'writeMs'] as const;

export function latencyBreakdown(samples: readonly LatencySample[]): LatencyBreakdown {
  const matched = samples.filter((s) => PARTS.every((p) => Number.isFinite(s[p])));
  const sortedPart = (part: (typeof PARTS)[number], of: readonly LatencySample[]) =>
    Float64Array.from(of, (s) => s[part]).sort();
  const latencies = Float64Array.from(matched, (s) => s.latencyMs).sort();
  const p99 = percentile(latencies, 99);
  const tail = matched.filter((s) => s.latencyMs >= p99);
  const mean = (part: (typeof PARTS)[number]) =>
    tail.length === 0 ? Number.NaN : tail.reduce((sum, s) => sum + s[part], 0) / tail.length;
  const tailParts: LatencyParts = {
    waitMs: mean('waitMs'),
    fetchMs: mean('fetchMs'),
    beforeWriteMs: mean('beforeWriteMs'),
    writeMs: mean('writeMs'),
  };
  const dominant = PARTS.reduce((a, b) => (tailParts[b] > tailParts[a] ? b : a));
  return {
    median: {
      waitMs: percentile(sortedPart('waitMs', matched), 50),
      fetchMs: percentile(sortedPart('fetchMs', matched), 50),
      beforeWriteMs: percentile(sortedPart('beforeWriteMs', matched), 50),
      writeMs: percentile(sortedPart('writeMs', matched), 50),
    },
    tail: { ...tailParts, events: tail.length },
    dominant,
    unmatched: samples.length - matched.length,
  };
}
