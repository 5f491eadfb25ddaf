import test from 'ava';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { PipelineConsumer } from '../../src/consumer/pipeline-consumer.ts';
import { TokenBucket } from '../../src/producer/token-bucket.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { type PipelineProcess, spawnPipeline, waitUntil } from '../support/cli-process.ts';
import { pageViews } from '../support/page-views.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';

test('members join, leave and die while batches are slow: none exits, every offset once (was: CONSUMER_CRASHED "The group is rebalancing")', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 6 });
  const views = fx.topic('shop.page-views');
  // A slow database: every chunk's COPY takes at least 150 ms, so rebalances land in the middle of batches,
  // during the heartbeats between chunks and during the writes themselves.
  await fx.pool.query(`
    CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.15); RETURN NULL; END $$;
    CREATE TRIGGER slow_insert AFTER INSERT ON page_views FOR EACH STATEMENT EXECUTE FUNCTION slow_insert();
  `);
  const env = { ...fx.env, CONSUMER_BATCH_MAX_ROWS: '100' };
  const members: PipelineProcess[] = [];
  const join = async () => {
    const member = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], env);
    members.push(member);
    await member.waitFor(/consuming/, 90_000);
    return member;
  };
  /** A member that exits on its own (rebalance crash, anything) fails the test at the next step. */
  const assertAllAlive = () => {
    for (const m of members) {
      if (m.child.exitCode !== null && !terminated.has(m))
        t.fail(`a member exited by itself:\n${m.output()}`);
    }
  };
  const terminated = new Set<PipelineProcess>();
  const stop = async (member: PipelineProcess, signal: 'SIGTERM' | 'SIGKILL') => {
    assertAllAlive();
    terminated.add(member);
    member.child.kill(signal);
    return member.exited;
  };
  const count = async () => Number((await fx.pool.query('SELECT count(*) AS n FROM page_views')).rows[0].n);
  const progressed = async (what: string, by = 300) => {
    const from = await count();
    await waitUntil(what, async () => (await count()) >= from + by, 90_000);
    assertAllAlive();
  };

  // A producer sends throughout, about 800 events a second.
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  let producing = true;
  let produced = 0;
  const bucket = new TokenBucket({ ratePerSecond: 800 });
  t.teardown(async () => {
    producing = false;
    await sending.catch(() => undefined);
    await producer.disconnect();
  });
  const sending = (async () => {
    while (producing) {
      await bucket.take(200);
      await producer.sendUnchecked(views, undefined, pageViews(produced, 200));
      produced += 200;
    }
  })();

  const a = await join();
  await progressed('member a writes');
  const b = await join();
  await progressed('a and b write');
  const c = await join();
  await progressed('three members write');
  t.is(await stop(b, 'SIGTERM'), 0, b.output());
  await progressed('a and c go on after b left');
  t.is(await stop(c, 'SIGKILL'), 'SIGKILL');
  const d = await join();
  // c's partitions move once the group drops it, after CONSUMER_SESSION_TIMEOUT_MS (10 s).
  await progressed('a and d go on after c died');
  const e = await join();
  await progressed('a, d and e write');
  t.is(await stop(a, 'SIGTERM'), 0, a.output());
  await progressed('d and e go on after the first member left');

  producing = false;
  await sending;
  await waitUntil('every event is written', async () => (await count()) >= produced, 90_000);
  assertAllAlive();
  t.is(await stop(d, 'SIGTERM'), 0, d.output());
  t.is(await stop(e, 'SIGTERM'), 0, e.output());

  const { rows } = await fx.pool.query<{ rows: string; distinct_offsets: string; distinct_views: string }>(
    `SELECT count(*) AS rows, count(DISTINCT (_kafka_partition, _kafka_offset)) AS distinct_offsets,
            count(DISTINCT view_id) AS distinct_views FROM page_views`,
  );
  t.deepEqual(rows[0], {
    rows: String(produced),
    distinct_offsets: String(produced),
    distinct_views: String(produced),
  });
  const letters = await fx.pool.query('SELECT count(*)::int AS n FROM dead_letters');
  t.is(letters.rows[0].n, 0);
  const rejoined = members.some((m) => /rejoining the group/.test(m.output()));
  t.log(`${produced} events; a member rejoined after a rebalance error from a batch: ${rejoined}`);
});

test('a chunk slower than the session timeout keeps its member (was: exit 1, "The coordinator is not aware of this member")', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const views = fx.topic('shop.page-views');
  // One COPY takes 9 s, half again the 6 s session (the broker's minimum): a long pause inside one chunk.
  await fx.pool.query(`
    CREATE FUNCTION slow_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM new_rows WHERE duration_ms = 0) THEN PERFORM pg_sleep(9); END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER slow_once AFTER INSERT ON page_views REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION slow_once();
  `);
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  await producer.sendUnchecked(views, undefined, pageViews(0, 300));
  await producer.disconnect();

  const lines: string[] = [];
  const consumer = new PipelineConsumer({
    kafka: fx.kafka,
    pool: fx.pool,
    decoder: new MessageDecoder(fx.registry),
    catalog: fx.catalog,
    topics: [views],
    settings: { ...fx.config.consumer, batchMaxRows: 100, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 },
    log: (line) => lines.push(line),
  });
  await consumer.start();
  t.teardown(() => consumer.stop());
  await consumer.caughtUp(90_000);
  await consumer.stop();
  await consumer.done;

  t.is(Number((await fx.pool.query('SELECT count(*) AS n FROM page_views')).rows[0].n), 300);
  t.false(
    lines.some((l) => /rejoining the group|not aware of this member/.test(l)),
    `the member was dropped during the slow chunk:\n${lines.join('\n')}`,
  );
});
