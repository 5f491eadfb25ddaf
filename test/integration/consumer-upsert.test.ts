import test from 'ava';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { PipelineConsumer } from '../../src/consumer/pipeline-consumer.ts';
import type { Order } from '../../src/contracts/generated/events.ts';
import type { Decimal, Uuid } from '../../src/contracts/logical-types.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { consumeUntilCaughtUp } from '../support/consume-until-caught-up.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';

const A = '00000000-0000-4000-8000-00000000000a' as Uuid;
const B = '00000000-0000-4000-8000-00000000000b' as Uuid;
const C = '00000000-0000-4000-8000-00000000000c' as Uuid;

function order(id: Uuid, version: number): Order {
  return {
    order_id: id,
    customer_id: 7,
    version,
    status: version >= 3 ? 'SHIPPED' : 'PLACED',
    currency: 'EUR',
    lines: [],
    total: `${version}.00` as Decimal,
    placed_at: new Date(Date.UTC(2026, 0, 1)),
    updated_at: new Date(Date.UTC(2026, 0, 1, 0, version)),
    coupon_code: null,
    delivery_date: null,
  };
}

test('an upsert stream delivered out of order ends with the newest version; tombstones delete', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const orders = fx.topic('shop.orders');
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  const raw = fx.kafka.producer({ idempotent: true });
  await Promise.all([producer.connect(), raw.connect()]);
  t.teardown(() => Promise.all([producer.disconnect(), raw.disconnect()]));
  const tombstone = (id: Uuid) => raw.send({ topic: orders, acks: -1, messages: [{ key: id, value: null }] });

  // First round: out of order within one batch and across batches.
  await producer.sendUnchecked(orders, undefined, [order(A, 3), order(A, 1), order(B, 5), order(C, 1)]);
  await consumeUntilCaughtUp(fx);
  await producer.sendUnchecked(orders, undefined, [order(A, 2), order(B, 4)]);
  await tombstone(C);
  const second = await consumeUntilCaughtUp(fx);
  t.like(second.counters.get(orders), { written: 0, superseded: 2, deleted: 1, deadLettered: 0 });

  const rows = async () =>
    (
      await fx.pool.query<{ order_id: string; version: number; total: string }>(
        'SELECT order_id, version, total::text AS total FROM orders ORDER BY order_id',
      )
    ).rows;
  t.deepEqual(await rows(), [
    { order_id: A, version: 3, total: '3.00' },
    { order_id: B, version: 5, total: '5.00' },
  ]);

  // A tombstone followed by a new version of the same key in one batch: the key lives again.
  await tombstone(A);
  await producer.sendUnchecked(orders, undefined, [order(A, 9)]);
  await tombstone(B);
  await consumeUntilCaughtUp(fx);
  t.deepEqual(await rows(), [{ order_id: A, version: 9, total: '9.00' }]);
});

test('upsert keeps v1 when v2 of the same key is refused in one batch (was: key missing until a replay)', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const orders = fx.topic('shop.orders');
  // A constraint the events do not know about: version 2 of A and version 4 of B are refused.
  await fx.pool.query(`ALTER TABLE orders ADD CONSTRAINT no_shipping CHECK (status <> 'SHIPPED')`);
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const shipped = (o: Order): Order => ({ ...o, status: 'SHIPPED' });
  await producer.sendUnchecked(orders, undefined, [
    order(A, 1),
    shipped(order(A, 2)),
    order(B, 2),
    shipped(order(B, 4)),
    order(B, 1),
  ]);
  const consumer = await consumeUntilCaughtUp(fx);
  t.like(consumer.counters.get(orders), { written: 2, superseded: 1, deadLettered: 2 });
  const { rows } = await fx.pool.query<{ order_id: string; version: number }>(
    'SELECT order_id, version FROM orders ORDER BY order_id',
  );
  t.deepEqual(rows, [
    { order_id: A, version: 1 },
    { order_id: B, version: 2 },
  ]);
  const dead = await fx.pool.query<{ offset: string }>('SELECT "offset" FROM dead_letters ORDER BY id');
  t.deepEqual(
    dead.rows.map((r) => r.offset),
    ['1', '3'],
  );
});

test('a fetched batch PostgreSQL refuses almost whole is written in several bounded transactions, every offset once (was: one transaction of about 2n savepoints holding the offsets lock)', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const orders = fx.topic('shop.orders');
  await fx.pool.query(`ALTER TABLE orders ADD CONSTRAINT no_shipping CHECK (status <> 'SHIPPED')`);
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const size = 400;
  const ids = Array.from(
    { length: size },
    (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` as Uuid,
  );
  // Every order refused (SHIPPED) but the last one: 400 refusals cost ~800 statements, beyond one budget.
  await producer.sendUnchecked(
    orders,
    undefined,
    ids.map((id, i) => (i === size - 1 ? order(id, 1) : order(id, 3))),
  );
  const committed: number[] = [];
  const consumer = new PipelineConsumer({
    kafka: fx.kafka,
    pool: fx.pool,
    decoder: new MessageDecoder(fx.registry),
    catalog: fx.catalog,
    settings: fx.config.consumer,
    onCommitted: (chunk) => committed.push(chunk.timestamps.length),
  });
  await consumer.start();
  try {
    await consumer.caughtUp(120_000);
  } finally {
    await consumer.stop();
  }
  await consumer.done;
  t.like(consumer.counters.get(orders), { written: 1, deadLettered: size - 1, skipped: 0 });
  t.true(committed.length > 1, `${committed.length} transactions`);
  t.is(
    committed.reduce((a, b) => a + b, 0),
    size,
    'each message committed once',
  );
  const { rows } = await fx.pool.query<{ dead: number; distinct: number; rows: number; next: string }>(
    `SELECT (SELECT count(*)::int FROM dead_letters) AS dead,
            (SELECT count(DISTINCT "offset")::int FROM dead_letters) AS distinct,
            (SELECT count(*)::int FROM orders) AS rows,
            (SELECT next_offset::text FROM pipeline_offsets) AS next`,
  );
  t.deepEqual(rows[0], { dead: size - 1, distinct: size - 1, rows: 1, next: String(size) });
});
