import test from 'ava';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { ChunkCommit } from '../../src/consumer/consumer-observer.ts';
import { ConsumerMetrics } from '../../src/observability/consumer-metrics.ts';

const TOPIC = 'shop.orders';

/** Kafka and PostgreSQL as two numbers per partition: the log end, and the stored next offset. */
function world() {
  const state = { logEnd: new Map<number, number>(), stored: new Map<number, number>(), databaseDown: false };
  const kafka = {
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicOffsets: async () =>
        [...state.logEnd].map(([partition, high]) => ({
          partition,
          low: '0',
          high: String(high),
          offset: String(high),
        })),
    }),
  } as unknown as Kafka;
  const pool = {
    query: async () => {
      if (state.databaseDown)
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return {
        rows: [...state.stored].map(([partition, next]) => ({ partition, next_offset: String(next) })),
      };
    },
  } as unknown as pg.Pool;
  let clock = 1_000_000;
  const metrics = new ConsumerMetrics({
    kafka,
    pool,
    groupId: 'g',
    topics: [TOPIC],
    lagIntervalMs: 60_000,
    stallMs: 30_000,
    now: () => clock,
  });
  return { state, metrics, advance: (ms: number) => (clock += ms), now: () => clock };
}

function commit(
  partition: number,
  nextOffset: number,
  committedAt: number,
  over: Partial<ChunkCommit> = {},
): ChunkCommit {
  return {
    topic: TOPIC,
    partition,
    table: 'orders',
    messages: 3,
    writeSeconds: 0.02,
    result: {
      written: 2,
      deleted: 0,
      deadLettered: 1,
      deadLetterCauses: { 'PoisonMessageError:ROW_REJECTED': 1 },
      skipped: 0,
      superseded: 0,
      nextOffset: String(nextOffset),
    },
    timestamps: [committedAt - 1500, committedAt - 500, committedAt - 100],
    committedAt,
    ...over,
  };
}

const sample = async (metrics: ConsumerMetrics, name: string, labels: Record<string, string> = {}) => {
  const metric = metrics.registry.getSingleMetric(name);
  const values = (await metric!.get()).values;
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
};

test('commits move the counters and histograms, dead letters by cause, retries by kind', async (t) => {
  const { metrics, now } = world();
  metrics.committed(commit(0, 3, now()));
  metrics.committed(commit(1, 3, now()));
  metrics.retried('database');
  metrics.retried('database');
  metrics.retried('registry');
  t.is(await sample(metrics, 'pipeline_events_consumed_total', { topic: TOPIC }), 6);
  t.is(await sample(metrics, 'pipeline_rows_written_total', { table: 'orders' }), 4);
  t.is(
    await sample(metrics, 'pipeline_dead_letters_total', {
      topic: TOPIC,
      cause: 'PoisonMessageError:ROW_REJECTED',
    }),
    2,
  );
  t.is(await sample(metrics, 'pipeline_retries_total', { kind: 'database' }), 2);
  t.is(await sample(metrics, 'pipeline_retries_total', { kind: 'registry' }), 1);
  t.is(await sample(metrics, 'pipeline_last_commit_timestamp_seconds'), now() / 1000);
  const text = await metrics.registry.metrics();
  // Six messages, 1.5 s, 0.5 s and 0.1 s old at commit: two under each bucket bound that holds them.
  t.regex(text, /pipeline_end_to_end_seconds_bucket\{le="0\.1",topic="shop\.orders"\} 2/);
  t.regex(text, /pipeline_end_to_end_seconds_bucket\{le="1",topic="shop\.orders"\} 4/);
  t.regex(text, /pipeline_end_to_end_seconds_count\{topic="shop\.orders"\} 6/);
  t.regex(text, /pipeline_batch_rows_sum\{topic="shop\.orders"\} 6/);
  t.regex(text, /pipeline_write_seconds_count\{topic="shop\.orders"\} 2/);
});

test('lag per partition is the log end minus the stored next offset', async (t) => {
  const { state, metrics } = world();
  state.logEnd.set(0, 10).set(1, 4);
  state.stored.set(0, 7);
  await metrics.refreshLag();
  t.is(await sample(metrics, 'pipeline_lag', { topic: TOPIC, partition: '0' }), 3);
  t.is(
    await sample(metrics, 'pipeline_lag', { topic: TOPIC, partition: '1' }),
    4,
    'nothing stored: from the log start',
  );
  state.stored.set(0, 10).set(1, 4);
  await metrics.refreshLag();
  t.is(await sample(metrics, 'pipeline_lag', { topic: TOPIC, partition: '0' }), 0);
  t.is(await sample(metrics, 'pipeline_lag', { topic: TOPIC, partition: '1' }), 0);
});

test('healthz: lag with no commit past the threshold is unhealthy, a commit heals it; no lag is healthy however idle', async (t) => {
  const { state, metrics, advance, now } = world();
  metrics.assigned([{ topic: TOPIC, partitions: [0] }]);
  state.logEnd.set(0, 5);
  state.stored.set(0, 5);
  advance(3_600_000);
  await metrics.refreshLag();
  t.like(metrics.health(), { healthy: true, lag: 0 }, 'idle for an hour without lag');

  state.logEnd.set(0, 8);
  await metrics.refreshLag();
  t.like(metrics.health(), { healthy: true, lag: 3 }, 'lag just appeared: an hour-old commit is no stall');
  advance(30_001);
  const stalled = metrics.health();
  t.like(stalled, { healthy: false, lag: 3 });
  t.regex(stalled.reason, /lag 3 and no commit for 30 s/);

  metrics.committed(commit(0, 7, now()));
  t.like(metrics.health(), { healthy: true }, 'a commit is progress even before the lag is read again');
});

test('healthz sees the stall while the database is away: lag from the offsets this process committed', async (t) => {
  const { state, metrics, advance, now } = world();
  metrics.assigned([{ topic: TOPIC, partitions: [0] }]);
  state.logEnd.set(0, 3);
  state.stored.set(0, 0);
  metrics.committed(commit(0, 3, now()));
  state.databaseDown = true;
  await metrics.refreshLag();
  t.like(metrics.health(), { healthy: true, lag: 0 });
  state.logEnd.set(0, 9);
  await metrics.refreshLag();
  advance(30_001);
  t.like(metrics.health(), { healthy: false, lag: 6 });
});

test('healthz counts only this member’s partitions; readyz needs a join with partitions', async (t) => {
  const { state, metrics, advance } = world();
  t.like(metrics.readiness(), { ready: false });
  metrics.assigned([{ topic: TOPIC, partitions: [] }]);
  t.like(metrics.readiness(), { ready: false }, 'joined without partitions');
  metrics.assigned([{ topic: TOPIC, partitions: [1] }]);
  t.like(metrics.readiness(), { ready: true });
  state.logEnd.set(0, 100).set(1, 0);
  await metrics.refreshLag();
  advance(60_000);
  t.like(metrics.health(), { healthy: true, lag: 0 }, "partition 0's lag is another member's");
  metrics.unassigned();
  t.like(metrics.readiness(), { ready: false });
});
