import type { Admin } from 'kafkajs';
import type pg from 'pg';
import { readNextOffsets } from '../sink/partition-writer.ts';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Oldest offset Kafka still holds. */
  logStart: bigint;
  /** Offset the next produced message gets. */
  logEnd: bigint;
  /** Next offset the database expects (the `pipeline_offsets` row); undefined before the first write. */
  storedNext: bigint | undefined;
  /** Messages in Kafka not yet in the database, as rows or dead letters. */
  lag: number;
}

export interface Watermarks {
  partition: number;
  low: bigint;
  high: bigint;
}

/**
 * The lag of each partition: what lies between the stored next offset (or the log start, before the first
 * write or when retention went past it) and the log end. The database's offset is the truth: Kafka's
 * committed offsets trail it and are not read.
 */
export function lagOf(
  topic: string,
  ends: readonly Watermarks[],
  stored: ReadonlyMap<number, bigint>,
): PartitionLag[] {
  return ends
    .map((end) => {
      const storedNext = stored.get(end.partition);
      const from = storedNext !== undefined && storedNext > end.low ? storedNext : end.low;
      const lag = end.high > from ? Number(end.high - from) : 0;
      return { topic, partition: end.partition, logStart: end.low, logEnd: end.high, storedNext, lag };
    })
    .sort((a, b) => a.partition - b.partition);
}

export async function readWatermarks(admin: Admin, topic: string): Promise<Watermarks[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
}

export async function readStoredOffsets(
  pool: pg.Pool,
  groupId: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const stored = await readNextOffsets(pool, groupId, topic);
  return new Map([...stored].map(([partition, offset]) => [partition, BigInt(offset)]));
}

/** Every partition of the topics, from Kafka's watermarks and the database's stored offsets. */
export async function readPartitionLag(
  admin: Admin,
  pool: pg.Pool,
  groupId: string,
  topics: readonly string[],
): Promise<PartitionLag[]> {
  const out: PartitionLag[] = [];
  for (const topic of topics) {
    const [ends, stored] = await Promise.all([
      readWatermarks(admin, topic),
      readStoredOffsets(pool, groupId, topic),
    ]);
    out.push(...lagOf(topic, ends, stored));
  }
  return out;
}
