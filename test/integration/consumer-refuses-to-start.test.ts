import test from 'ava';
import { createFakeEvents } from '../../src/producer/fake-events.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { spawnPipeline, waitUntil } from '../support/cli-process.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';

test('consume refuses to start on a database without the migrations, listing them', async (t) => {
  const fx = await createPipelineFixture(t, { migrate: false });
  const consume = spawnPipeline(t, ['consume'], fx.env);
  t.is(await consume.exited, 4, consume.output());
  t.regex(consume.output(), /MIGRATIONS_PENDING/);
  t.regex(consume.output(), /migration 20251128140200000_orders is not applied/);
});

test('consume refuses to start when a column has the wrong type, naming table.column', async (t) => {
  const fx = await createPipelineFixture(t);
  await fx.pool.query('ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,2)');
  const consume = spawnPipeline(t, ['consume'], fx.env);
  t.is(await consume.exited, 4, consume.output());
  t.regex(consume.output(), /CONTRACT_MISMATCH/);
  t.regex(consume.output(), /orders\.total: expected numeric\(14,2\)/);
});

test('consume refuses a catalog topic that does not exist in Kafka instead of creating it', async (t) => {
  const fx = await createPipelineFixture(t);
  const admin = fx.kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [fx.topic('shop.orders')] });
  await admin.disconnect();
  const consume = spawnPipeline(t, ['consume'], fx.env);
  t.is(await consume.exited, 4, consume.output());
  t.regex(consume.output(), new RegExp(`UNKNOWN_TOPIC.*${fx.topic('shop.orders').replaceAll('.', '\\.')}`));
  t.regex(consume.output(), /pipeline topics create/);
});

test('a contract broken mid-stream stops the consumer with exit 4 instead of retrying forever', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const views = fx.topic('shop.page-views');
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const events = (from: number) =>
    createFakeEvents(fx.catalog.entries.find((e) => e.topic === views)!, { seed: from }).take(50);
  await producer.sendUnchecked(views, undefined, events(1));

  const consume = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], fx.env);
  const count = async () => Number((await fx.pool.query('SELECT count(*) AS n FROM page_views')).rows[0].n);
  await waitUntil('the first rows are written', async () => (await count()) === 50);

  // Someone drops a column under the running consumer: every later batch fails the same way.
  await fx.pool.query('ALTER TABLE page_views DROP COLUMN referrer');
  await producer.sendUnchecked(views, undefined, events(2));
  t.is(await consume.exited, 4, consume.output());
  t.regex(consume.output(), /CONTRACT_MISMATCH/);
  t.regex(consume.output(), /referrer/);
  t.is(await count(), 50, 'nothing of the failing batch was written');
  const stored = await fx.pool.query<{ next_offset: string }>(
    'SELECT next_offset::text FROM pipeline_offsets',
  );
  t.deepEqual(
    stored.rows.map((r) => r.next_offset),
    ['50'],
  );
});
