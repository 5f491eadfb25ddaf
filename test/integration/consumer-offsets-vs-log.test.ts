import test from 'ava';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { PipelineConsumer } from '../../src/consumer/pipeline-consumer.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { spawnPipeline, waitUntil } from '../support/cli-process.ts';
import { fixtureConsumer } from '../support/fixture-consumer.ts';
import { slowOffsetAt } from '../support/offset-triggers.ts';
import { pageViews } from '../support/page-views.ts';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.ts';

async function produce(fx: PipelineFixture, topic: string, count: number): Promise<void> {
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  await producer.sendUnchecked(topic, undefined, pageViews(0, count));
  await producer.disconnect();
}

async function plantOffset(fx: PipelineFixture, topic: string, partition: number, next: number) {
  await fx.pool.query(
    `INSERT INTO pipeline_offsets (consumer_group, topic, partition, next_offset, updated_at)
     VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset`,
    [fx.config.consumer.groupId, topic, partition, next],
  );
}

const rowCount = async (fx: PipelineFixture) =>
  Number((await fx.pool.query('SELECT count(*) AS n FROM page_views')).rows[0].n);

test('a stored offset past the log end refuses to start, exit 4 (was: reset to earliest, all counted skipped)', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const views = fx.topic('shop.page-views');
  // What a deleted and recreated topic looks like from the database: it wrote up to 5000, the log has 300.
  await produce(fx, views, 300);
  await plantOffset(fx, views, 0, 5000);

  const consumer = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], fx.env);
  const code = await consumer.exited;
  const output = consumer.output();
  t.is(code, 4, output);
  t.regex(output, /error \[OFFSETS_BEYOND_LOG_END\]/);
  t.regex(output, new RegExp(`${views} partition 0: stored next offset 5000, log end 300`));
  t.regex(output, /DELETE FROM pipeline_offsets WHERE consumer_group = '[^']+' AND topic IN \('/);
  // The old log's dead letters go too: a new poison message at the same offset must keep its own bytes.
  t.regex(output, /DELETE FROM dead_letters WHERE consumer_group = '[^']+' AND topic IN \('/);
  t.regex(output, /: 0 rows, .* 0 redeliveries skipped/, 'nothing was consumed, so nothing counted');
  t.is(await rowCount(fx), 0);
  const stored = await fx.pool.query('SELECT next_offset::int AS n FROM pipeline_offsets WHERE topic = $1', [
    views,
  ]);
  t.is(stored.rows[0].n, 5000, 'the stored offset is left for a person to decide');
});

test('a stored offset below the log start is a counted, logged gap; the rest is consumed (was: silent)', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const views = fx.topic('shop.page-views');
  await produce(fx, views, 200);
  // Retention, on demand: the log now starts at 50, and this group had only written up to 10.
  const admin = fx.kafka.admin();
  await admin.connect();
  await admin.fetchTopicMetadata({ topics: [views] });
  await admin.deleteTopicRecords({ topic: views, partitions: [{ partition: 0, offset: '50' }] });
  await admin.disconnect();
  await plantOffset(fx, views, 0, 10);

  const lines: string[] = [];
  const consumer = new PipelineConsumer({
    kafka: fx.kafka,
    pool: fx.pool,
    decoder: new MessageDecoder(fx.registry),
    catalog: fx.catalog,
    topics: [views],
    settings: fx.config.consumer,
    log: (line) => lines.push(line),
  });
  await consumer.start();
  t.teardown(() => consumer.stop());
  await consumer.caughtUp(60_000);
  await consumer.stop();
  await consumer.done;

  t.is(await rowCount(fx), 150);
  const counters = consumer.counters.get(views)!;
  t.is(counters.lost, 40);
  t.is(counters.skipped, 0);
  t.true(
    lines.some((l) => l.includes(`gap: ${views} partition 0 offsets 10..49 were deleted by retention`)),
    lines.join('\n'),
  );
  const { rows } = await fx.pool.query('SELECT min(_kafka_offset)::int AS min FROM page_views');
  t.is(rows[0].min, 50);
});

for (const fromBeginning of [true, false]) {
  test(`a running consumer that falls behind retention counts and logs the gap and reads on from the log start, CONSUMER_FROM_BEGINNING=${fromBeginning} (was: kafkajs reset the position silently${fromBeginning ? '' : ', past messages still in the log'})`, async (t) => {
    const fx = await createPipelineFixture(t, { partitions: 1 });
    const views = fx.topic('shop.page-views');
    const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    await producer.sendUnchecked(views, undefined, pageViews(0, 100));
    // Stored at 0, so that CONSUMER_FROM_BEGINNING (what kafkajs resets to) does not decide where it starts.
    await plantOffset(fx, views, 0, 0);
    // The chunk storing next offset 100 sleeps in its transaction; with no write-ahead the batch does not
    // return to kafkajs meanwhile, so nothing past offset 99 is fetched before retention moves the log start.
    await slowOffsetAt(fx.pool, 100, 2);
    const lines: string[] = [];
    const consumer = fixtureConsumer(
      fx,
      { batchMaxRows: 20, writeAhead: 0, fromBeginning },
      { topics: [views], log: (line) => lines.push(line) },
    );
    await consumer.start();
    t.teardown(() => consumer.stop());
    const stored = async () =>
      Number(
        (
          await fx.pool.query<{ n: string }>(
            'SELECT next_offset::text AS n FROM pipeline_offsets WHERE consumer_group = $1',
            [fx.config.consumer.groupId],
          )
        ).rows[0]?.n ?? -1,
      );
    await waitUntil('the chunk before offset 100 is in its transaction', async () => (await stored()) === 80);
    await producer.sendUnchecked(views, undefined, pageViews(100, 200));
    const admin = fx.kafka.admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    await admin.fetchTopicMetadata({ topics: [views] });
    await admin.deleteTopicRecords({ topic: views, partitions: [{ partition: 0, offset: '250' }] });
    t.is(await stored(), 80, 'retention moved the log start while the consumer was behind it');

    // Reset to the latest offset, kafkajs would wait for a new message: a trickle of them keeps it fetching.
    let sent = 300;
    await waitUntil(
      'offsets 250..299 are rows',
      async () => {
        await producer.sendUnchecked(views, undefined, pageViews(sent++, 1));
        const { rows } = await fx.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM page_views WHERE _kafka_offset BETWEEN 250 AND 299',
        );
        return rows[0]!.n === 50;
      },
      60_000,
    );
    await consumer.caughtUp(60_000);
    await consumer.stop();
    await consumer.done;

    const { rows } = await fx.pool.query<{ n: number; d: number; below: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT _kafka_offset)::int AS d,
              count(*) FILTER (WHERE _kafka_offset < 100)::int AS below FROM page_views`,
    );
    t.deepEqual(rows[0], { n: 100 + (sent - 250), d: 100 + (sent - 250), below: 100 });
    t.is(consumer.counters.get(views)!.lost, 150);
    t.true(
      lines.some((l) => l.includes(`gap: ${views} partition 0 offsets 100..249 were deleted by retention`)),
      lines.join('\n'),
    );
  });
}

test('an unreachable broker on consume is one BROKER_UNAVAILABLE line, exit 6, like produce (was: 41 s of logs, exit 1)', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const views = fx.topic('shop.page-views');
  // Nothing listens there: the port is in this test's private range and never bound.
  const env = { ...fx.env, KAFKA_BROKERS: '127.0.0.1:23097' };
  const started = Date.now();
  const consumer = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], env);
  const code = await consumer.exited;
  const seconds = (Date.now() - started) / 1000;
  const output = consumer.output().trim();
  t.is(code, 6, output);
  t.regex(output, /^error \[BROKER_UNAVAILABLE\]: connecting to Kafka: .*ECONNREFUSED 127\.0\.0\.1:23097$/);
  t.is(output.split('\n').length, 1, output);
  t.true(seconds < 20, `took ${seconds} s`);
});
