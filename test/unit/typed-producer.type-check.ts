/**
 * Compile-time tests of TypedProducer, run by `tsc` (npm run typecheck), not by ava: each
 * `@ts-expect-error` line must be a type error, so tsc fails if the typing ever stops catching it.
 */

import type { Order, OrderV1, PageView } from '../../src/contracts/generated/events.ts';
import type { Decimal, Uuid } from '../../src/contracts/logical-types.ts';
import type { TypedProducer } from '../../src/producer/typed-producer.ts';

declare const producer: TypedProducer;
declare const id: Uuid;

const order: Order = {
  order_id: id,
  customer_id: 1,
  version: 1,
  status: 'REFUNDED',
  currency: 'EUR',
  lines: [{ sku: 'SKU-1', quantity: 1, unit_price: '9.99' }],
  total: '9.99',
  placed_at: new Date(),
  updated_at: new Date(),
  coupon_code: null,
  delivery_date: '2026-01-05',
};
const { coupon_code: _coupon, delivery_date: _delivery, ...rest } = order;
const orderV1: OrderV1 = { ...rest, status: 'PAID' };

export async function typeChecks(view: PageView): Promise<void> {
  await producer.send('shop.orders', [order]);
  await producer.send('shop.page-views', [view]);
  await producer.sendVersion('shop.orders', 1, [orderV1]);
  await producer.sendVersion('shop.orders', 2, [order]);

  // @ts-expect-error an order is not a page view
  await producer.send('shop.page-views', [order]);
  // @ts-expect-error topics outside the catalog do not exist
  await producer.send('shop.refunds', [order]);
  // @ts-expect-error a number is not a Decimal string
  await producer.send('shop.orders', [{ ...order, total: 9.99 }]);
  // @ts-expect-error a plain string is not a checked Uuid
  await producer.send('shop.orders', [{ ...order, order_id: 'a-string' }]);
  // @ts-expect-error REFUNDED does not exist in version 1
  await producer.sendVersion('shop.orders', 1, [{ ...orderV1, status: 'REFUNDED' }]);
  // @ts-expect-error there is no version 3
  await producer.sendVersion('shop.orders', 3, [order]);
  // @ts-expect-error timestamp-millis is a Date, not epoch milliseconds
  await producer.send('shop.orders', [{ ...order, placed_at: Date.now() }]);
  // @ts-expect-error a required field is missing
  await producer.send('shop.orders', [{ ...rest }]);
}

export const decimal: Decimal = '-1.50';
