/**
 * What one Kafka fetch may bring in. kafkajs fetches every assigned partition of a broker at once and fetches
 * again only when every batch of the last fetch is written, so the messages in memory (their bytes, the
 * kafkajs message objects, the rows made from them) are bounded by one fetch's size, not by the backlog:
 * kafkajs' defaults (1 MiB per partition, 10 MiB a fetch) held 35,000 page views at once over four partitions
 * and the consumer's RSS peaked near 400 MB replaying a backlog.
 */
import type { ConsumerSettings } from '../config.ts';

export interface FetchLimits {
  /** kafkajs `maxBytes`: the whole fetch response, every partition together. */
  maxBytes: number;
  /** kafkajs `maxBytesPerPartition`: each partition's share, so that one partition never takes it all. */
  maxBytesPerPartition: number;
}

export function fetchLimits(
  settings: Pick<ConsumerSettings, 'fetchMaxBytes' | 'partitionConcurrency'>,
): FetchLimits {
  return {
    maxBytes: settings.fetchMaxBytes,
    // The partitions written at the same time share the fetch; a record batch above the share still comes
    // whole (Kafka returns at least one batch), so a small share never stalls a partition.
    maxBytesPerPartition: Math.max(1024, Math.floor(settings.fetchMaxBytes / settings.partitionConcurrency)),
  };
}
