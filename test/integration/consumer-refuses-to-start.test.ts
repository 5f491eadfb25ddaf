import test from 'ava';
import { spawnPipeline } from '../support/cli-process.ts';
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
