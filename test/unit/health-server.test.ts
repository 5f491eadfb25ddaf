import test from 'ava';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { ConsumerMetrics } from '../../src/observability/consumer-metrics.ts';
import { startHealthServer } from '../../src/observability/health-server.ts';

// Never started: the server only reads what the consumer reports; Kafka and the pool are not touched.
const idleMetrics = () =>
  new ConsumerMetrics({
    kafka: {} as Kafka,
    pool: {} as pg.Pool,
    groupId: 'g',
    topics: [],
    lagIntervalMs: 60_000,
    stallMs: 1000,
  });

test('the server answers /metrics, /healthz and /readyz, and nothing else', async (t) => {
  const metrics = idleMetrics();
  const server = await startHealthServer(metrics, '127.0.0.1', 0);
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;

  const scrape = await fetch(`${base}/metrics`);
  t.is(scrape.status, 200);
  t.regex(scrape.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  t.regex(await scrape.text(), /# TYPE pipeline_events_consumed_total counter/);

  const health = await fetch(`${base}/healthz`);
  t.is(health.status, 200);
  t.like(await health.json(), { healthy: true, lag: 0 });

  const ready = await fetch(`${base}/readyz`);
  t.is(ready.status, 503, 'not joined yet');
  metrics.assigned([{ topic: 't', partitions: [0, 1] }]);
  t.is((await fetch(`${base}/readyz`)).status, 200);

  t.is((await fetch(`${base}/other`)).status, 404);
  t.is((await fetch(`${base}/healthz`, { method: 'POST' })).status, 405);
});

test('a port already taken is a configuration error naming METRICS_PORT', async (t) => {
  const metrics = idleMetrics();
  const first = await startHealthServer(metrics, '127.0.0.1', 0);
  t.teardown(() => first.close());
  await t.throwsAsync(startHealthServer(metrics, '127.0.0.1', first.port), {
    message: /METRICS_HOST:METRICS_PORT 127\.0\.0\.1:\d+ cannot be bound: EADDRINUSE/,
  });
});
