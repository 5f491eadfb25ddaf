/**
 * The seed's approach, as the baseline the bulk path is compared with: kafkajs eachMessage, the same decoder
 * and row mapper as the pipeline, then one parameterised INSERT per message in autocommit (one transaction,
 * one fsync per row), no batching, no offsets table.
 */
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { MessageDecoder } from '../src/codec/message-decoder.ts';
import type { CatalogEntry } from '../src/contracts/catalog.ts';
import { createRowMapper } from '../src/sink/row-mapper.ts';
import { quoteIdentifier } from '../src/sink/sql-identifier.ts';
import type { ThroughputResult } from './raw-consume.ts';
import { withTimeout } from './wait-until.ts';

export async function measurePerMessageBaseline(
  kafka: Kafka,
  pool: pg.Pool,
  decoder: MessageDecoder,
  entry: CatalogEntry,
  groupId: string,
  events: number,
  timeoutMs: number,
): Promise<ThroughputResult> {
  const mapper = createRowMapper(entry);
  const names = mapper.columns.map((c) => quoteIdentifier(c.name));
  const params = mapper.columns.map((c, i) => `$${i + 1}::${c.pgType}`);
  const sql = `INSERT INTO ${quoteIdentifier(entry.table)} (${names.join(', ')}) VALUES (${params.join(', ')})`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const started = performance.now();
  let first: number | undefined;
  let last = 0;
  let count = 0;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: entry.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (count >= events) return;
        const [outcome] = await decoder.decodeBatch(entry, [message.value]);
        if (outcome?.kind !== 'row') throw new Error(`baseline: message not a row (${outcome?.kind})`);
        const row = mapper.toRow(outcome.value, {
          partition,
          offset: message.offset,
          timestamp: message.timestamp,
        });
        await pool.query(sql, row);
        first ??= performance.now();
        count++;
        if (count === events) {
          last = performance.now();
          finished();
        }
      },
    });
    await withTimeout(done, timeoutMs, () => `baseline: ${count} of ${events} rows`);
  } finally {
    await consumer.disconnect();
  }
  const steadyMs = last - (first ?? last);
  return { events: count, totalMs: last - started, steadyMs, perSecond: (count - 1) / (steadyMs / 1000) };
}
