import { randomBytes } from 'node:crypto';
import test from 'ava';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { PipelineConsumer } from '../../src/consumer/pipeline-consumer.ts';
import type { PageView } from '../../src/contracts/generated/events.ts';
import type { Uuid } from '../../src/contracts/logical-types.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';

const view = (n: number): PageView => ({
  view_id: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as Uuid,
  session_id: `s-${n}`,
  customer_id: n,
  // Random bytes: gzip cannot shrink them, so the limit counts what the messages hold.
  url: `https://shop.example/p/${n}/${randomBytes(300).toString('hex')}`,
  referrer: null,
  duration_ms: n,
  is_bounce: false,
  viewed_at: 1_767_323_045_123_456n + BigInt(n),
  attributes: {},
});

test('a backlog is read in fetches of CONSUMER_FETCH_MAX_BYTES, every message once (was: kafkajs defaults, 1 MiB a partition, the whole backlog in memory at once)', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const views = fx.topic('shop.page-views');
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  // The whole backlog is in Kafka before the consumer starts, in record batches of 20 messages (~7 KiB each,
  // below the limit): without a limit one fetch brings all of it.
  const total = 600;
  for (let start = 0; start < total; start += 20) {
    await producer.sendUnchecked(
      views,
      undefined,
      Array.from({ length: 20 }, (_, i) => view(start + i)),
    );
  }
  const chunks: number[] = [];
  const consumer = new PipelineConsumer({
    kafka: fx.kafka,
    pool: fx.pool,
    decoder: new MessageDecoder(fx.registry),
    catalog: fx.catalog,
    topics: [views],
    settings: { ...fx.config.consumer, fetchMaxBytes: 16_384, partitionConcurrency: 1 },
    onCommitted: (chunk) => chunks.push(chunk.timestamps.length),
  });
  await consumer.start();
  try {
    await consumer.caughtUp(60_000);
  } finally {
    await consumer.stop();
  }
  await consumer.done;
  t.is(
    chunks.reduce((a, b) => a + b, 0),
    total,
    'each message committed once',
  );
  // 16 KiB holds two or three record batches of ~7 KiB (Kafka may add one whole batch past the limit): far from 600.
  t.true(Math.max(...chunks) <= 200, `transactions of ${chunks.join(', ')} messages`);
  t.like(consumer.counters.get(views), { written: total, skipped: 0, deadLettered: 0 });
  const { rows } = await fx.pool.query<{ n: number; distinct: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT view_id)::int AS distinct FROM page_views',
  );
  t.deepEqual(rows[0], { n: total, distinct: total });
});
