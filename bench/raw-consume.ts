/**
 * The raw consume limit: kafkajs eachBatch over the backlog, counting messages, nothing decoded, nothing
 * written. The consumer settings are the PipelineConsumer's, so the difference to the pipeline is the
 * pipeline's own work.
 */
import type { Kafka } from 'kafkajs';
import type { ConsumerSettings } from '../src/config.ts';
import { withTimeout } from './wait-until.ts';

export interface ThroughputResult {
  events: number;
  /** From the consumer's start (connect, join) to the last message. */
  totalMs: number;
  /** From the first fetch (or the first committed row) to the last message: start-up excluded. */
  steadyMs: number;
  /** Events per second of steadyMs (after the first committed batch, for the pipeline modes). */
  perSecond: number;
}

export async function measureRawConsume(
  kafka: Kafka,
  topic: string,
  groupId: string,
  expected: number,
  settings: ConsumerSettings,
  timeoutMs: number,
): Promise<ThroughputResult> {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: Math.max(10, settings.batchMaxWaitMs),
    maxBytesPerPartition: 4 * 1024 * 1024,
    allowAutoTopicCreation: false,
  });
  const started = performance.now();
  // From the first fetch request, not the first batch: one fetch can bring a large share of a small backlog.
  let first: number | undefined;
  let last = 0;
  let count = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  consumer.on(consumer.events.FETCH_START, () => {
    first ??= performance.now();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: settings.partitionConcurrency,
      eachBatch: async ({ batch }) => {
        count += batch.messages.length;
        if (count >= expected) {
          last = performance.now();
          resolveDone();
        }
      },
    });
    await withTimeout(done, timeoutMs, () => `raw consume: ${count} of ${expected} messages`);
  } finally {
    await consumer.disconnect();
  }
  const steadyMs = last - (first ?? last);
  return {
    events: count,
    totalMs: last - started,
    steadyMs,
    perSecond: count / (steadyMs / 1000),
  };
}
