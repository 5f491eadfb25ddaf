import { randomBytes } from 'node:crypto';
import test from 'ava';
import { PipelineError } from '../../src/errors.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { readNextOffsets, writePartitionBatch } from '../../src/sink/partition-writer.ts';
import { waitUntil } from '../support/cli-process.ts';
import { consumeUntilCaughtUp } from '../support/consume-until-caught-up.ts';
import { fixtureConsumer } from '../support/fixture-consumer.ts';
import { refuseOffsetOnceAt, slowOffsetAt } from '../support/offset-triggers.ts';
import { pageViews as views } from '../support/page-views.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';
import { migratedSchema, pageView, pageViews, rowMessage } from '../support/sink-fixtures.ts';

const chunk = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) =>
    rowMessage(pageViews, from + i, pageView({ duration_ms: from + i })),
  );

test('the database refuses a chunk whose predecessor is not stored: nothing is written over the gap', async (t) => {
  const { pool } = await migratedSchema(t, 'follows');
  const write = (from: number, follows?: string) =>
    writePartitionBatch(pool, {
      groupId: 'g',
      entry: pageViews,
      messages: chunk(from, 10),
      ...(follows === undefined ? {} : { follows }),
    });
  const offsets = async () =>
    (
      await pool.query<{ o: string }>(
        'SELECT _kafka_offset::text AS o FROM page_views ORDER BY _kafka_offset',
      )
    ).rows.map((r) => Number(r.o));

  t.is((await write(0)).nextOffset, '10');
  // Offsets 10..19 never committed: 20..29 follows 19.
  const error = await t.throwsAsync(write(20, '19'), { instanceOf: PipelineError });
  t.is(error?.code, 'INVARIANT_BROKEN');
  t.regex(error?.message ?? '', /follows offset 19, but the database stores next offset 10/);
  t.is((await readNextOffsets(pool, 'g', pageViews.topic)).get(0), '10');
  t.is((await offsets()).length, 10, 'the refused chunk left nothing');

  t.is((await write(10, '9')).nextOffset, '20');
  t.is((await write(20, '19')).nextOffset, '30');
  // A redelivery that follows an offset long stored is no gap: it is skipped as before.
  const again = await write(10, '9');
  t.is(again.skipped, 10);
  t.deepEqual(
    await offsets(),
    Array.from({ length: 30 }, (_, i) => i),
  );
});

test('a write refused for good stops the consumer, and the chunks queued behind it are never written; after the fix every offset lands once', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const topic = fx.topic('shop.page-views');
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.sendUnchecked(topic, undefined, views(0, 300));

  // The first chunk that would store next offset 100 or more is refused after a pause (the chunks behind it
  // are queued by then), once only: a sequence counts outside the transaction that rolls back. PostgreSQL
  // refusing the pipeline's own bookkeeping is final, not retried. Any chunk written after it would land.
  await refuseOffsetOnceAt(fx.pool, 100);

  const consumer = fixtureConsumer(fx, { batchMaxRows: 20, writeAhead: 3 });
  await consumer.start();
  const error = await t.throwsAsync(consumer.done, { instanceOf: PipelineError });
  t.is(error?.code, 'CONTRACT_MISMATCH', error?.message);

  const stored = Number((await readNextOffsets(fx.pool, fx.config.consumer.groupId, topic)).get(0));
  const offsets = (
    await fx.pool.query<{ o: string }>(
      'SELECT _kafka_offset::text AS o FROM page_views ORDER BY _kafka_offset',
    )
  ).rows.map((r) => Number(r.o));
  t.true(stored > 0 && stored < 100, `stored next offset ${stored}`);
  t.deepEqual(
    offsets,
    Array.from({ length: stored }, (_, i) => i),
    'exactly the offsets below the stored one: nothing after the refused chunk',
  );

  await fx.pool.query('DROP TRIGGER refuse_offset ON pipeline_offsets');
  await consumeUntilCaughtUp(fx);
  const after = await fx.pool.query<{ n: number; d: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT _kafka_offset)::int AS d FROM page_views',
  );
  t.deepEqual(after.rows[0], { n: 300, d: 300 });
});

test("Kafka's committed offset never runs ahead of the database while chunks wait behind a slow write (was: kafkajs auto-committed offsets resolved when queued)", async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const topic = fx.topic('shop.page-views');
  const groupId = fx.config.consumer.groupId;
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  // Six record batches of 50 views that gzip cannot shrink below 16 KiB, and fetches of 16 KiB: each fetch
  // brings one record batch, so the partition has a backlog and a batch returns to kafkajs with chunks still
  // queued (write-ahead).
  for (let from = 0; from < 300; from += 50) {
    const bulky = views(from, 50).map((v) => ({ ...v, url: `${v.url}?${randomBytes(450).toString('hex')}` }));
    await producer.sendUnchecked(topic, undefined, bulky);
  }
  // The chunk 20..39 holds its transaction for 3 s; by then its batch (0..49) has returned with 40..49
  // resolved (queued in the lane) and not stored: what kafkajs' auto-commit would have sent.
  await slowOffsetAt(fx.pool, 40, 3);

  const admin = fx.kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const kafkaCommitted = async () => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(offsets!.partitions.find((p) => p.partition === 0)!.offset);
  };
  const stored = async () => Number((await readNextOffsets(fx.pool, groupId, topic)).get(0) ?? -1);

  const consumer = fixtureConsumer(fx, {
    batchMaxRows: 20,
    writeAhead: 8,
    fetchMaxBytes: 16_384,
    partitionConcurrency: 1,
  });
  await consumer.start();
  t.teardown(() => consumer.stop());
  const slow = await fx.pool.connect();
  t.teardown(() => slow.release());
  // Observed while the slow transaction sleeps (its backend runs pg_sleep): Kafka at most at the database.
  let observed = 0;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && (await stored()) < 40; ) {
    const sleeping = await slow.query(
      "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%pipeline_offsets%'",
    );
    const [committed, inDatabase] = [await kafkaCommitted(), await stored()];
    t.true(committed <= inDatabase, `Kafka committed ${committed}, database stores ${inDatabase}`);
    if (sleeping.rowCount! > 0 && inDatabase < 40) observed++;
  }
  t.true(observed > 0, 'polled while the slow chunk was in its transaction');
  await consumer.caughtUp(60_000);
  await consumer.stop();
  await consumer.done;
  // And once every chunk is stored, Kafka hears of the last one (lag tools read it).
  t.is(await stored(), 300);
  await waitUntil('Kafka hears of the last offset', async () => (await kafkaCommitted()) === 300, 10_000);
});
