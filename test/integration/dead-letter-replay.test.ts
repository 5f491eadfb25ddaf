import test from 'ava';
import type { Order, PageView } from '../../src/contracts/generated/events.ts';
import type { Decimal, Uuid } from '../../src/contracts/logical-types.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { spawnPipeline } from '../support/cli-process.ts';
import { consumeUntilCaughtUp } from '../support/consume-until-caught-up.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';

const view = (n: number): PageView => ({
  view_id: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as Uuid,
  session_id: 's',
  customer_id: null,
  url: `https://shop.example/${n}`,
  referrer: null,
  duration_ms: n * 1000,
  is_bounce: false,
  viewed_at: 1_767_323_045_000_000n,
  attributes: {},
});

test('pipeline replay writes what a fix lets through and keeps what still fails', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const views = fx.topic('shop.page-views');
  // An over-strict constraint, as a faulty migration would add: views of 3 s or more are refused.
  await fx.pool.query('ALTER TABLE page_views ADD CONSTRAINT too_strict CHECK (duration_ms < 3000)');

  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  const raw = fx.kafka.producer({ idempotent: true });
  await Promise.all([producer.connect(), raw.connect()]);
  await producer.sendUnchecked(views, undefined, [1, 2, 3, 4, 5].map(view));
  await raw.send({
    topic: views,
    acks: -1,
    messages: [{ key: 'x', value: Buffer.from([9, 9, 9, 9, 9, 9]) }],
  });
  await Promise.all([producer.disconnect(), raw.disconnect()]);

  await consumeUntilCaughtUp(fx);
  const letters = async () =>
    (
      await fx.pool.query<{ offset: string; sql_state: string | null }>(
        'SELECT "offset", sql_state FROM dead_letters ORDER BY "offset"',
      )
    ).rows;
  t.deepEqual(await letters(), [
    { offset: '2', sql_state: '23514' },
    { offset: '3', sql_state: '23514' },
    { offset: '4', sql_state: '23514' },
    { offset: '5', sql_state: null },
  ]);

  const produced = await fx.pool.query<{ offset: string; at: string }>(
    `SELECT "offset", kafka_timestamp::text AS at FROM dead_letters WHERE sql_state = '23514' ORDER BY "offset"`,
  );
  t.is(produced.rows.length, 3);

  // The fix: the constraint goes. Replay from the raw bytes.
  await fx.pool.query('ALTER TABLE page_views DROP CONSTRAINT too_strict');
  const replay = spawnPipeline(t, ['replay'], fx.env);
  t.is(await replay.exited, 0, replay.output());
  t.regex(replay.output(), new RegExp(`${views.replaceAll('.', '\\.')}: 3 replayed, 1 still dead`));

  t.deepEqual(await letters(), [{ offset: '5', sql_state: null }]);
  const { rows } = await fx.pool.query<{ duration_ms: number; _kafka_offset: string }>(
    'SELECT duration_ms, _kafka_offset FROM page_views ORDER BY _kafka_offset',
  );
  t.deepEqual(
    rows.map((r) => [r._kafka_offset, r.duration_ms]),
    [
      ['0', 1000],
      ['1', 2000],
      ['2', 3000],
      ['3', 4000],
      ['4', 5000],
    ],
  );
  // Replayed rows carry the time the event was produced, kept with the dead letter.
  const { rows: replayed } = await fx.pool.query<{ offset: string; at: string }>(
    'SELECT _kafka_offset::text AS offset, _kafka_timestamp::text AS at FROM page_views WHERE _kafka_offset >= 2 ORDER BY 1',
  );
  t.deepEqual(replayed, produced.rows);
});

const orderOf = (id: Uuid, version: number, status: Order['status']): Order => ({
  order_id: id,
  customer_id: 7,
  version,
  status,
  currency: 'EUR',
  lines: [],
  total: `${version}.00` as Decimal,
  placed_at: new Date(Date.UTC(2026, 0, 1)),
  updated_at: new Date(Date.UTC(2026, 0, 1, 0, version)),
  coupon_code: null,
  delivery_date: null,
});

test('replay keeps the dead letter of a version it did not apply: v1 lands, v2 still refused keeps its letter (was: v1 planned as superseded, never written, its dead letter deleted)', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const orders = fx.topic('shop.orders');
  const A = '00000000-0000-4000-8000-00000000000a' as Uuid;
  const B = '00000000-0000-4000-8000-00000000000b' as Uuid;
  const C = '00000000-0000-4000-8000-00000000000c' as Uuid;
  // Two faulty constraints: one the fix drops, one that stays.
  await fx.pool.query('ALTER TABLE orders ADD CONSTRAINT too_strict CHECK (total < 0)');
  await fx.pool.query('ALTER TABLE orders ADD CONSTRAINT banned CHECK (customer_id <> 666)');
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  await producer.sendUnchecked(orders, undefined, [
    orderOf(A, 1, 'PLACED'),
    { ...orderOf(A, 2, 'PAID'), customer_id: 666 },
    orderOf(B, 1, 'PLACED'),
    orderOf(B, 2, 'PAID'),
    orderOf(C, 1, 'PLACED'),
    orderOf(C, 2, 'PAID'),
  ]);
  await producer.disconnect();
  await consumeUntilCaughtUp(fx);
  const letters = async () =>
    (await fx.pool.query<{ offset: string }>('SELECT "offset" FROM dead_letters ORDER BY "offset"')).rows.map(
      (r) => Number(r.offset),
    );
  t.deepEqual(await letters(), [0, 1, 2, 3, 4, 5]);

  await fx.pool.query('ALTER TABLE orders DROP CONSTRAINT too_strict');
  // Meanwhile C's version 3 arrived and landed: C's letters are applied too (superseded by the table's row).
  await producer.connect();
  await producer.sendUnchecked(orders, undefined, [orderOf(C, 3, 'SHIPPED')]);
  await producer.disconnect();
  await consumeUntilCaughtUp(fx);
  const replay = spawnPipeline(t, ['replay'], fx.env);
  t.is(await replay.exited, 0, replay.output());
  t.regex(replay.output(), new RegExp(`${orders.replaceAll('.', '\\.')}: 5 replayed, 1 still dead`));

  t.deepEqual(
    await letters(),
    [1],
    "only A's version 2, still refused, keeps its dead letter (and raw bytes)",
  );
  const { rows } = await fx.pool.query<{ order_id: string; version: number; o: string }>(
    'SELECT order_id, version, _kafka_offset::text AS o FROM orders ORDER BY order_id',
  );
  t.deepEqual(rows, [
    { order_id: A, version: 1, o: '0' },
    { order_id: B, version: 2, o: '3' },
    { order_id: C, version: 3, o: '6' },
  ]);
});
