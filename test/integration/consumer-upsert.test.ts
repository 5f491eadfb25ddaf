import test from 'ava';
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
