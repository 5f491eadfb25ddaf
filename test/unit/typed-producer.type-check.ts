/**
 * Compile-time tests of TypedProducer, run by `tsc` (npm run typecheck), not by ava: each
 * `@ts-expect-error` line must be a type error, so tsc fails if the typing ever stops catching it.
 */

import type { Order, OrderV1, PageView, Shipment } from '../../src/contracts/generated/events.ts';
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

const shipment: Shipment = {
  shipment_id: id,
  order_id: id,
  carrier: 'postnord',
  weight_kg: 1.5,
  distance_km: 12.25,
  label: Buffer.from('label'),
  label_sha256: Buffer.alloc(32),
  pickup_from: '08:00:00.000',
  pickup_until: '17:30:00.000001',
  promised_local: '2026-03-29T02:30:00.000',
  handed_over_local: null,
  destination: { 'shop.PickupPoint': { point_id: 7, name: 'Kiosk', latitude: 59.3, longitude: 18.1 } },
  parcel: {
    dimensions: { length_cm: 1, width_cm: 2, height_cm: 3 },
    packaging: {
      material: 'PAPER',
      insert: { kind: 'foam', protection: { fragile: true, max_stack: 2, sensor: null } },
    },
  },
};

export async function shipmentTypeChecks(): Promise<void> {
  await producer.send('shop.shipments', [shipment]);
  // @ts-expect-error a time of day is text, not milliseconds after midnight
  await producer.send('shop.shipments', [{ ...shipment, pickup_from: 28_800_000 }]);
  // @ts-expect-error a local timestamp is not an instant (Date)
  await producer.send('shop.shipments', [{ ...shipment, promised_local: new Date() }]);
  const unkeyed = { point_id: 7, name: 'Kiosk', latitude: 1, longitude: 2 };
  // @ts-expect-error a union of two records takes one branch, keyed by its name
  await producer.send('shop.shipments', [{ ...shipment, destination: unkeyed }]);
}
