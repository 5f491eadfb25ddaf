import test from 'ava';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { spawnPipeline, waitUntil } from '../support/cli-process.ts';
import { consumeUntilCaughtUp } from '../support/consume-until-caught-up.ts';
import { proxyDatabase } from '../support/database-proxy.ts';
import { pageViews } from '../support/page-views.ts';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.ts';

// In this helper's private port range; one per test, so the tests of this file can run side by side.
const METRICS_PORT = 30010;

async function send(
  fx: PipelineFixture,
  topic: string,
  from: number,
  count: number,
  garbage = 0,
): Promise<void> {
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  await producer.sendUnchecked(topic, undefined, pageViews(from, count));
  await producer.disconnect();
  if (garbage > 0) {
    const raw = fx.kafka.producer();
    await raw.connect();
    await raw.send({
      topic,
      messages: Array.from({ length: garbage }, (_, i) => ({ value: Buffer.from(`not avro ${i}`) })),
    });
    await raw.disconnect();
  }
}

/** Prometheus text format into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function sum(metrics: Map<string, number>, prefix: string): { total: number; series: number } {
  let total = 0;
  let series = 0;
  for (const [name, value] of metrics) {
    if (name.startsWith(prefix)) {
      total += value;
      series++;
    }
  }
  return { total, series };
}

test('a scrape while consuming shows the counters moving and lag reaching 0; /healthz fails while PostgreSQL is cut past HEALTH_STALL_MS and heals after', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 2 });
  const views = fx.topic('shop.page-views');
  const { proxy, url: proxiedUrl } = await proxyDatabase(t, fx);
  await send(fx, views, 0, 400, 2);

  const stallMs = 2000;
  const consumer = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '1'], {
    ...fx.env,
    DATABASE_URL: proxiedUrl,
    METRICS_PORT: String(METRICS_PORT),
    HEALTH_STALL_MS: String(stallMs),
    METRICS_LAG_INTERVAL_MS: '200',
    LOG_FORMAT: 'json',
  });
  const base = `http://127.0.0.1:${METRICS_PORT}`;
  const get = async (path: string) => {
    try {
      const response = await fetch(`${base}${path}`);
      return { status: response.status, body: await response.text() };
    } catch {
      return { status: 0, body: '' };
    }
  };
  const scrape = async () => parseMetrics((await get('/metrics')).body);
  const lagIs = async (topic: string, expected: number, partitions: number) => {
    const lag = sum(await scrape(), `pipeline_lag{topic="${topic}"`);
    return lag.series === partitions && lag.total === expected;
  };

  await waitUntil('/readyz answers 200', async () => (await get('/readyz')).status === 200, 90_000);
  const events = `pipeline_events_consumed_total{topic="${views}"}`;
  await waitUntil(
    'all 402 messages are counted',
    async () => ((await scrape()).get(events) ?? 0) >= 402,
    60_000,
  );
  await waitUntil('lag reaches 0 on both partitions', () => lagIs(views, 0, 2), 30_000);
  const first = await scrape();
  t.is(first.get('pipeline_rows_written_total{table="page_views"}'), 400);
  t.is(
    sum(first, `pipeline_dead_letters_total{topic="${views}",cause="PoisonMessageError:WIRE_FORMAT_INVALID"`)
      .total,
    2,
  );
  // At least: a redelivery after a rebalance is settled (skipped) again and counted again; rows cannot be.
  t.true((first.get(`pipeline_end_to_end_seconds_count{topic="${views}"}`) ?? 0) >= 402);
  t.is(first.get(`pipeline_batch_rows_sum{topic="${views}"}`), first.get(events));
  t.true((first.get(`pipeline_write_seconds_count{topic="${views}"}`) ?? 0) >= 1);
  t.true((first.get('pipeline_last_commit_timestamp_seconds') ?? 0) > Date.now() / 1000 - 120);
  t.is(first.get('pipeline_assigned_partitions'), 2);
  t.is((await get('/healthz')).status, 200);

  // PostgreSQL away for this consumer only, with new messages waiting.
  proxy.cut();
  await send(fx, views, 400, 100);
  await waitUntil('lag shows the new messages', () => lagIs(views, 100, 2), 30_000);
  await waitUntil('/healthz turns 503', async () => (await get('/healthz')).status === 503, 60_000);
  const unhealthy = JSON.parse((await get('/healthz')).body);
  t.like(unhealthy, { healthy: false, lag: 100 });
  t.regex(unhealthy.reason, /no commit for \d+ s \(HEALTH_STALL_MS=2000\)/);
  t.is((await get('/readyz')).status, 200, 'still in the group: not ready is a different question');
  t.true(((await scrape()).get('pipeline_retries_total{kind="database"}') ?? 0) >= 1);

  proxy.restore();
  await waitUntil('/healthz is 200 again', async () => (await get('/healthz')).status === 200, 90_000);
  await waitUntil(
    'the 100 are written and lag is 0',
    async () => ((await scrape()).get(events) ?? 0) >= 502,
    60_000,
  );
  await waitUntil('lag is 0 again', () => lagIs(views, 0, 2), 30_000);
  t.is((await scrape()).get('pipeline_rows_written_total{table="page_views"}'), 500);

  consumer.child.kill('SIGTERM');
  t.is(await consumer.exited, 0, consumer.output());
  t.is((await get('/healthz')).status, 0, 'the server is closed with the consumer');
  const lines = consumer
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string });
  t.true(
    lines.some((l) => l.level === 'warn' && /^database: /.test(l.msg)),
    'the outage was logged as a warning',
  );
  t.deepEqual(
    lines.filter((l) => l.level === 'error' || l.level === 'fatal'),
    [],
    'a retried outage is not an error',
  );
});

test('pipeline status: lag per partition, rows per table, dead letters per cause, before and after consuming', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 2 });
  const views = fx.topic('shop.page-views');
  const orders = fx.topic('shop.orders');
  await send(fx, views, 0, 30, 3);
  const status = async () => {
    const run = spawnPipeline(t, ['status', '--json'], fx.env);
    t.is(await run.exited, 0, run.output());
    return JSON.parse(run.output()) as {
      group: string;
      partitions: {
        topic: string;
        partition: number;
        logEnd: string;
        storedNext: string | null;
        lag: number;
      }[];
      tables: { table: string; rows: number | null }[];
      deadLetters: { topic: string; cause: string; count: number }[];
    };
  };
  const before = await status();
  t.is(before.group, fx.config.consumer.groupId);
  const viewPartitions = before.partitions.filter((p) => p.topic === views);
  t.is(viewPartitions.length, 2);
  t.is(
    viewPartitions.reduce((n, p) => n + p.lag, 0),
    33,
  );
  t.true(viewPartitions.every((p) => p.storedNext === null));
  t.true(before.partitions.filter((p) => p.topic === orders).every((p) => p.lag === 0));
  t.like(
    before.tables.find((x) => x.table === 'page_views'),
    { rows: 0 },
  );
  t.deepEqual(before.deadLetters, []);

  await consumeUntilCaughtUp(fx);
  const after = await status();
  t.true(after.partitions.every((p) => p.lag === 0));
  t.deepEqual(
    after.partitions.filter((p) => p.topic === views).map((p) => p.storedNext),
    after.partitions.filter((p) => p.topic === views).map((p) => p.logEnd),
  );
  t.like(
    after.tables.find((x) => x.table === 'page_views'),
    { rows: 30 },
  );
  t.deepEqual(after.deadLetters, [
    { topic: views, cause: 'PoisonMessageError:WIRE_FORMAT_INVALID', sqlState: null, count: 3 },
  ]);

  const table = spawnPipeline(t, ['status', '--topic', views], fx.env);
  t.is(await table.exited, 0, table.output());
  t.regex(table.output(), /^group \S+: lag 0$/m);
  t.regex(table.output(), new RegExp(`^${views.replaceAll('.', '\\.')}\\s+0\\s+\\d+\\s+\\d+\\s+0$`, 'm'));
  t.regex(table.output(), /^page_views\s+30$/m);
  t.regex(table.output(), /PoisonMessageError:WIRE_FORMAT_INVALID\s+3$/m);
});

test('pipeline status before any migration is MIGRATIONS_PENDING with the command to run, exit 4', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1, migrate: false });
  const run = spawnPipeline(t, ['status'], fx.env);
  t.is(await run.exited, 4, run.output());
  t.regex(run.output(), /^error \[MIGRATIONS_PENDING\]: no pipeline_offsets table .*pipeline migrate up/m);
});
