import test from 'ava';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { spawnPipeline, waitUntil } from '../support/cli-process.ts';
import { pageViews } from '../support/page-views.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';

async function producedOffsets(fx: Awaited<ReturnType<typeof createPipelineFixture>>, topic: string) {
  const admin = fx.kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
}

test('SIGKILL mid-stream, then restart: every offset in the table once, none lost, none twice', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 3 });
  const views = fx.topic('shop.page-views');
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  const total = 30_000;
  for (let from = 0; from < total; from += 5000)
    await producer.sendUnchecked(views, undefined, pageViews(from, 5000));
  await producer.disconnect();
  t.is(await producedOffsets(fx, views), total);

  // Small transactions, so that the kill lands between many commits.
  const env = { ...fx.env, CONSUMER_BATCH_MAX_ROWS: '300' };
  const count = async () => Number((await fx.pool.query('SELECT count(*) AS n FROM page_views')).rows[0].n);
  const first = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], env);
  await waitUntil('some rows are written', async () => (await count()) >= 3000, 90_000);
  first.child.kill('SIGKILL');
  t.is(await first.exited, 'SIGKILL');
  const atKill = await count();
  t.true(atKill < total, `the kill came too late to prove anything (${atKill} rows)`);

  const second = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], env);
  await waitUntil('all rows are written', async () => (await count()) >= total, 120_000);
  second.child.kill('SIGTERM');
  t.is(await second.exited, 0, second.output());

  const { rows } = await fx.pool.query<{ rows: string; distinct_offsets: string; partitions: string }>(
    `SELECT count(*) AS rows, count(DISTINCT (_kafka_partition, _kafka_offset)) AS distinct_offsets,
            count(DISTINCT _kafka_partition) AS partitions FROM page_views`,
  );
  t.deepEqual(rows[0], { rows: String(total), distinct_offsets: String(total), partitions: '3' });
  // A duplicate would have hit the primary key and landed here as a 23505 dead letter.
  const letters = await fx.pool.query('SELECT count(*)::int AS n FROM dead_letters');
  t.is(letters.rows[0].n, 0);
  const stored = await fx.pool.query<{ n: string }>(
    'SELECT sum(next_offset)::text AS n FROM pipeline_offsets WHERE topic = $1',
    [views],
  );
  t.is(stored.rows[0]!.n, String(total), 'each partition resumes exactly after its last row');
});

test('two consumers in one group split the partitions with no duplicate', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 4 });
  const views = fx.topic('shop.page-views');
  const env = { ...fx.env, CONSUMER_BATCH_MAX_ROWS: '500' };
  const a = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], env);
  const b = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], env);
  await a.waitFor(/consuming/);
  await b.waitFor(/consuming/);

  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  const total = 8000;
  for (let from = 0; from < total; from += 1000)
    await producer.sendUnchecked(views, undefined, pageViews(from, 1000));
  await producer.disconnect();

  const count = async () => Number((await fx.pool.query('SELECT count(*) AS n FROM page_views')).rows[0].n);
  await waitUntil('all rows are written', async () => (await count()) >= total, 120_000);
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  t.is(await a.exited, 0, a.output());
  t.is(await b.exited, 0, b.output());

  const written = (p: { output(): string }) => Number(/: (\d+) rows/.exec(p.output())?.[1] ?? -1);
  t.true(written(a) > 0, `consumer a wrote nothing:\n${a.output()}`);
  t.true(written(b) > 0, `consumer b wrote nothing:\n${b.output()}`);
  t.is(written(a) + written(b), total);
  t.is(await count(), total);
  const letters = await fx.pool.query('SELECT count(*)::int AS n FROM dead_letters');
  t.is(letters.rows[0].n, 0);
});
