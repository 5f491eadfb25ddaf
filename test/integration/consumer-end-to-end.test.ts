import test from 'ava';
import { encodeWireFormat } from '../../src/codec/wire-format.ts';
import type { OrderV1, OrderV2, PageView } from '../../src/contracts/generated/events.ts';
import type { Decimal, IsoDate, Uuid } from '../../src/contracts/logical-types.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { consumeUntilCaughtUp } from '../support/consume-until-caught-up.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as Uuid;

function orderV1(n: number): OrderV1 {
  return {
    order_id: uuid(n),
    customer_id: 1_000_000_000_000 + n,
    version: 1,
    status: 'PAID',
    currency: 'SEK',
    lines: [
      { sku: `SKU-${n}`, quantity: 2, unit_price: '19.99' as Decimal },
      { sku: 'GIFT', quantity: 1, unit_price: '-5.00' as Decimal },
    ],
    total: '34.98' as Decimal,
    placed_at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
    updated_at: new Date(Date.UTC(2026, 0, 2, 3, 4, 6, 1)),
  };
}

function orderV2(n: number): OrderV2 {
  return {
    ...orderV1(n),
    status: 'REFUNDED',
    coupon_code: `WINTER-${n}`,
    delivery_date: '2026-02-28' as IsoDate,
  };
}

function pageView(n: number, url = `https://shop.example/p/${n}`): PageView {
  return {
    view_id: uuid(10_000 + n),
    session_id: `s-${n}`,
    customer_id: n % 2 === 0 ? null : n,
    url,
    referrer: n % 3 === 0 ? null : 'https://search.example/?q=a\tb\\c\nd',
    duration_ms: n * 10,
    is_bounce: n % 2 === 1,
    viewed_at: 1_767_323_045_123_456n + BigInt(n),
    attributes: { utm_source: 'newsletter', 'weird "key"': 'ü' },
  };
}

test('v1 and v2 orders, page views and every kind of poison: rows field by field, poison in dead letters', async (t) => {
  const fx = await createPipelineFixture(t);
  const orders = fx.topic('shop.orders');
  const views = fx.topic('shop.page-views');
  const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());

  await producer.sendUnchecked(orders, 1, [1, 2, 3].map(orderV1));
  await producer.sendUnchecked(orders, 2, [4, 5].map(orderV2));
  await producer.sendUnchecked(
    views,
    undefined,
    [1, 2, 3, 4].map((n) => pageView(n)),
  );

  // Poison: one of each kind a consumer meets, between good messages.
  const viewsV1Id = await fx.registry.schemaIdOf(`${views}-value`, fx.catalog.entries[1]!.reader.schema);
  const good = fx.catalog.entries[1]!.reader.type.toBuffer(pageView(99));
  const poison = [
    { key: 'bad-magic', value: Buffer.from([1, 0, 0, 0, 1, 2, 3]) },
    { key: 'too-short', value: Buffer.from([0, 0, 1]) },
    { key: 'unknown-id', value: encodeWireFormat(2_000_000_000, good) },
    { key: 'truncated', value: encodeWireFormat(viewsV1Id, good.subarray(0, 10)) },
  ];
  const raw = fx.kafka.producer({ idempotent: true });
  await raw.connect();
  await raw.send({ topic: views, acks: -1, messages: poison.map((p) => ({ ...p, partition: 0 })) });
  await raw.disconnect();
  // Valid Avro that PostgreSQL refuses: text cannot hold a NUL character.
  await producer.sendUnchecked(views, undefined, [pageView(5, 'https://shop.example/\u0000'), pageView(6)]);

  const consumer = await consumeUntilCaughtUp(fx);
  t.like(consumer.counters.get(orders), { written: 5, deadLettered: 0 });
  t.like(consumer.counters.get(views), { written: 5, deadLettered: 5 });

  const { rows: orderRows } = await fx.pool.query(
    `SELECT order_id, customer_id, version, status, currency, lines, total::text AS total, placed_at, updated_at,
            coupon_code, delivery_date::text AS delivery_date
       FROM orders ORDER BY order_id`,
  );
  t.is(orderRows.length, 5);
  const expected1 = orderV1(1);
  t.deepEqual(orderRows[0], {
    ...expected1,
    customer_id: String(expected1.customer_id), // bigint comes back as text from node-postgres
    lines: [
      { sku: 'SKU-1', quantity: 2, unit_price: '19.99' },
      { sku: 'GIFT', quantity: 1, unit_price: '-5.00' },
    ],
    coupon_code: null, // v1 events get the reader's defaults
    delivery_date: null,
  });
  t.like(orderRows[4], { status: 'REFUNDED', coupon_code: 'WINTER-5', delivery_date: '2026-02-28' });

  const { rows: viewRows } = await fx.pool.query(
    `SELECT view_id, session_id, customer_id, url, referrer, duration_ms, is_bounce,
            (extract(epoch from viewed_at) * 1000000)::bigint::text AS viewed_at_us, attributes
       FROM page_views ORDER BY duration_ms`,
  );
  t.is(viewRows.length, 5);
  const v3 = pageView(3);
  t.deepEqual(viewRows[2], {
    view_id: v3.view_id,
    session_id: v3.session_id,
    customer_id: '3',
    url: v3.url,
    referrer: null,
    duration_ms: 30,
    is_bounce: true,
    viewed_at_us: v3.viewed_at.toString(),
    attributes: v3.attributes,
  });
  t.is(viewRows[0].referrer, 'https://search.example/?q=a\tb\\c\nd');

  // By key: the poison went to partition 0, the NUL view wherever its key hashes.
  const { rows: letters } = await fx.pool.query<{
    key: string;
    value: Buffer;
    error_class: string;
    sql_state: string | null;
  }>('SELECT convert_from(key, $$UTF8$$) AS key, value, error_class, sql_state FROM dead_letters');
  t.is(letters.length, 5);
  const letter = (key: string) => letters.find((l) => l.key === key)!;
  for (const p of poison) t.deepEqual(letter(p.key).value, p.value, `${p.key}: raw bytes kept as they came`);
  t.regex(letter('bad-magic').error_class, /WIRE_FORMAT_INVALID/);
  t.regex(letter('too-short').error_class, /WIRE_FORMAT_INVALID/);
  t.regex(letter('unknown-id').error_class, /SCHEMA_ID_UNKNOWN/);
  t.regex(letter('truncated').error_class, /PAYLOAD_UNDECODABLE/);
  t.like(letter(pageView(5).view_id), { sql_state: '22021' });
});
