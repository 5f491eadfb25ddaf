import test from 'ava';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { parseSchema } from '../../src/contracts/catalog.ts';
import { PipelineError, PoisonMessageError, TransientError } from '../../src/errors.ts';
import { createFakeEvents } from '../../src/producer/fake-events.ts';
import type { CopyFormat } from '../../src/sink/copy-buffer.ts';
import { createPool } from '../../src/sink/database.ts';
import { readDeadLetters } from '../../src/sink/dead-letters.ts';
import { textHeaders } from '../../src/sink/message-headers.ts';
import { readNextOffsets, type SinkMessage, writePartitionBatch } from '../../src/sink/partition-writer.ts';
import { createRowMapper } from '../../src/sink/row-mapper.ts';
import { quoteIdentifier } from '../../src/sink/sql-identifier.ts';
import type { WriteStrategy } from '../../src/sink/table-writer.ts';
import { allTypesEntry } from '../support/all-types.ts';
import { config, uniqueName } from '../support/services.ts';
import {
  migratedSchema,
  order,
  orders,
  pageView,
  pageViews,
  poisonMessage,
  rowMessage,
  shipment,
  shipments,
  tombstoneMessage,
} from '../support/sink-fixtures.ts';

const groupId = 'sink-test-group';

/** Orders as read back, every value in a lossless text form. */
const ORDERS_READBACK = `
  SELECT order_id::text, customer_id::text, version, status, currency, lines, total::text,
         (extract(epoch FROM placed_at) * 1000)::bigint::text AS placed_ms,
         (extract(epoch FROM updated_at) * 1000)::bigint::text AS updated_ms,
         coupon_code, delivery_date::text, _kafka_partition, _kafka_offset::text,
         (extract(epoch FROM _kafka_timestamp) * 1000)::bigint::text AS kafka_ms
    FROM orders ORDER BY _kafka_offset`;

test('every orders field reads back equal to the decoded value (upsert, v2 reader)', async (t) => {
  const { pool } = await migratedSchema(t);
  const values = [
    order(),
    order({ status: 'REFUNDED', coupon_code: 'SAVE10', delivery_date: '2026-03-01', total: '-0.01' }),
    order({ coupon_code: '', delivery_date: '1969-12-31', lines: [], customer_id: -1 }),
  ];
  const messages = values.map((v, i) => rowMessage(orders, 100 + i, v, { partition: 2 }));
  const result = await writePartitionBatch(pool, { groupId, entry: orders, messages });
  t.like(result, { written: 3, deleted: 0, deadLettered: 0, skipped: 0, superseded: 0, nextOffset: '103' });

  const { rows } = await pool.query(ORDERS_READBACK);
  t.is(rows.length, 3);
  rows.forEach((row, i) => {
    const decoded = messages[i]!.outcome.kind === 'row' ? messages[i]!.outcome.value : {};
    t.deepEqual(row, {
      order_id: decoded.order_id,
      customer_id: String(decoded.customer_id),
      version: decoded.version,
      status: decoded.status,
      currency: decoded.currency,
      lines: JSON.parse(JSON.stringify(decoded.lines)),
      total: decoded.total,
      placed_ms: String((decoded.placed_at as Date).getTime()),
      updated_ms: String((decoded.updated_at as Date).getTime()),
      coupon_code: decoded.coupon_code,
      delivery_date: decoded.delivery_date,
      _kafka_partition: 2,
      _kafka_offset: String(100 + i),
      kafka_ms: messages[i]!.timestamp,
    });
  });
  t.is(rows[2]!.coupon_code, '', 'an empty string stays an empty string, not NULL');
  t.is(rows[0]!.coupon_code, null);
});

/**
 * Shipments as read back, losslessly: floats widened to float8 (exact for a real) and parsed by node-pg from
 * PostgreSQL's shortest round-trip text; times and local timestamps through to_char with every fraction digit.
 */
const SHIPMENTS_READBACK = `
  SELECT shipment_id::text, order_id::text, carrier, weight_kg::float8 AS weight_kg, distance_km, label,
         label_sha256, to_char('2000-01-01'::date + pickup_from, 'HH24:MI:SS.MS') AS pickup_from,
         to_char('2000-01-01'::date + pickup_until, 'HH24:MI:SS.US') AS pickup_until,
         to_char(promised_local, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS promised_local,
         to_char(handed_over_local, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS handed_over_local,
         destination, parcel, _kafka_offset::text
    FROM shipments ORDER BY _kafka_offset, _kafka_partition`;

/** A nested decoded value as jsonb holds it: bytes as `\\x…` text, NaN and infinities as their names. */
function asStoredJson(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return value.map(asStoredJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asStoredJson(v)]));
  }
  return value;
}

test('every shipments field reads back exactly: float, double, bytes, fixed, times, local timestamps, union of records, deep nesting', async (t) => {
  const { pool } = await migratedSchema(t);
  const sensor = {
    serial: Buffer.from('00ff10ab5c0a0d09', 'hex'),
    max_celsius: Number.NaN,
    calibration: Buffer.from([]),
    read_at: '00:00:00.000001',
    installed_local: '1969-12-31T23:59:59.999',
  };
  const values = [
    shipment(),
    shipment({
      weight_kg: 1.401298464324817e-45, // the smallest float32 (subnormal)
      distance_km: Number.MAX_VALUE,
      label: Buffer.alloc(0),
      pickup_from: '00:00:00.000',
      pickup_until: '23:59:59.999999',
      promised_local: '0001-01-01T00:00:00.000',
      handed_over_local: '9999-12-31T23:59:59.999999',
      destination: {
        'shop.PickupPoint': {
          point_id: 9_007_199_254_740_991,
          name: 'Kiosk "Ö"\\',
          latitude: -33.8688,
          longitude: 5e-324,
        },
      },
    }),
    shipment({
      weight_kg: Number.NaN,
      distance_km: Number.NEGATIVE_INFINITY,
      handed_over_local: '1969-12-31T23:59:59.999999',
      parcel: {
        dimensions: { length_cm: 3.4028234663852886e38, width_cm: 0.1, height_cm: Number.POSITIVE_INFINITY },
        packaging: {
          material: 'PLASTIC',
          insert: { kind: '', protection: { fragile: true, max_stack: -2_147_483_648, sensor } },
        },
      },
    }),
  ];
  const messages = values.map((v, i) => rowMessage(shipments, i, v));
  for (const [strategy, partition] of [
    ['copy', 0],
    ['unnest', 1],
  ] as const) {
    const batch = values.map((v, i) => rowMessage(shipments, i, v, { partition }));
    t.like(
      await writePartitionBatch(pool, {
        groupId,
        entry: shipments,
        messages: batch,
        writeStrategy: strategy,
      }),
      {
        written: 3,
        deadLettered: 0,
      },
    );
  }
  const { rows } = await pool.query(SHIPMENTS_READBACK);
  t.is(rows.length, 6);
  rows.forEach((row, i) => {
    const outcome = messages[Math.floor(i / 2)]!.outcome;
    const v = outcome.kind === 'row' ? outcome.value : {};
    t.deepEqual(row, {
      shipment_id: v.shipment_id,
      order_id: v.order_id,
      carrier: v.carrier,
      weight_kg: v.weight_kg,
      distance_km: v.distance_km,
      label: v.label,
      label_sha256: v.label_sha256,
      pickup_from: v.pickup_from,
      pickup_until: v.pickup_until,
      promised_local: v.promised_local,
      handed_over_local: v.handed_over_local,
      destination: asStoredJson(v.destination),
      parcel: asStoredJson(v.parcel),
      _kafka_offset: String(Math.floor(i / 2)),
    });
  });
  t.is(rows[0]!.weight_kg, Math.fround(12.34), 'a float is the float32 nearest the value sent, exactly');
  t.is(
    rows[0]!.promised_local,
    '2026-03-29T02:30:00.000',
    'a wall-clock time in a DST gap is kept as written',
  );
  t.is(rows[2]!.handed_over_local, '9999-12-31T23:59:59.999999');
  t.deepEqual(rows[4]!.parcel.packaging.insert.protection.sensor.serial, '\\x00ff10ab5c0a0d09');
});

test('-0 in real and double precision columns keeps its sign (was: written as 0)', async (t) => {
  const { pool } = await migratedSchema(t);
  const messages = [rowMessage(shipments, 0, shipment({ weight_kg: -0, distance_km: -0 }))];
  t.like(await writePartitionBatch(pool, { groupId, entry: shipments, messages }), { written: 1 });
  const { rows } = await pool.query('SELECT weight_kg::float8 AS w, distance_km AS d FROM shipments');
  t.true(Object.is(rows[0]!.w, -0));
  t.true(Object.is(rows[0]!.d, -0));
});

const PAGE_VIEWS_READBACK = `
  SELECT view_id::text, session_id, customer_id::text, url, referrer, duration_ms, is_bounce,
         (extract(epoch FROM viewed_at) * 1000000)::bigint::text AS viewed_us, attributes,
         _kafka_partition, _kafka_offset::text
    FROM page_views WHERE _kafka_partition = $1 ORDER BY _kafka_offset`;

/** How a test writes: the copy strategy in either COPY format, or unnest. */
type Way = 'copy' | 'copy, text' | 'unnest';

function wayOf(way: Way): { writeStrategy: WriteStrategy; copyFormat: CopyFormat } {
  return way === 'unnest'
    ? { writeStrategy: 'unnest', copyFormat: 'text' }
    : { writeStrategy: 'copy', copyFormat: way === 'copy' ? 'binary' : 'text' };
}

const insertRoundTrip = test.macro({
  async exec(t, way: Way) {
    const { pool } = await migratedSchema(t);
    const { copyFormat } = wayOf(way);
    const awkward =
      'tab\there, new\nline, cr\r, backslash \\ and \\N, "quotes", \'single\', ünïcødé 🎉, comma,';
    const values = [
      pageView(),
      pageView({ customer_id: 42, referrer: '', url: awkward, attributes: { k: awkward, '': 'empty key' } }),
      pageView({ referrer: '\\N', viewed_at: -1n, is_bounce: true, duration_ms: -2_147_483_648 }),
      pageView({ viewed_at: 1n, session_id: '', attributes: { a: '1', b: '2' } }),
    ];
    const messages = values.map((v, i) => rowMessage(pageViews, i, v, { partition: 1, copyFormat }));
    // The default: every one of these on the fast path (COPY bytes, or their texts for unnest).
    t.true(messages.every((m) => m.outcome.kind === 'row' && m.outcome.copy !== undefined));
    const result = await writePartitionBatch(pool, {
      groupId,
      entry: pageViews,
      messages,
      ...wayOf(way),
    });
    t.like(result, { written: 4, deadLettered: 0, nextOffset: '4' });
    const { rows } = await pool.query(PAGE_VIEWS_READBACK, [1]);
    rows.forEach((row, i) => {
      const v = messages[i]!.outcome.kind === 'row' ? messages[i]!.outcome.value : {};
      t.deepEqual(row, {
        view_id: v.view_id,
        session_id: v.session_id,
        customer_id: v.customer_id === null ? null : String(v.customer_id),
        url: v.url,
        referrer: v.referrer,
        duration_ms: v.duration_ms,
        is_bounce: v.is_bounce,
        viewed_us: String(v.viewed_at),
        attributes: v.attributes,
        _kafka_partition: 1,
        _kafka_offset: String(i),
      });
    });
    t.is(rows[0]!.viewed_us, '1767225600123456', 'timestamp-micros exact to the microsecond');
    t.is(rows[1]!.referrer, '', 'empty string, not NULL');
    t.is(rows[2]!.referrer, '\\N', 'the text \\N, not NULL');
    t.is(rows[0]!.referrer, null);
  },
  title: (_, way) => `every page_views field reads back equal, insert with ${way}`,
});
test(insertRoundTrip, 'copy');
test(insertRoundTrip, 'copy, text');
test(insertRoundTrip, 'unnest');

const refusedRows = test.macro({
  async exec(t, way: Way) {
    const { pool } = await migratedSchema(t);
    const { copyFormat } = wayOf(way);
    const messages: SinkMessage[] = [];
    for (let offset = 0; offset < 40; offset++) {
      const bad = offset === 3 ? { url: 'nul\u0000byte' } : offset === 31 ? { session_id: 'x\u0000' } : {};
      messages.push(
        rowMessage(pageViews, offset, pageView(bad), {
          headers: textHeaders([['n', String(offset)]]),
          copyFormat,
        }),
      );
    }
    const result = await writePartitionBatch(pool, {
      groupId,
      entry: pageViews,
      messages,
      ...wayOf(way),
    });
    t.like(result, { written: 38, deadLettered: 2, nextOffset: '40' });
    const landed = await pool.query('SELECT _kafka_offset::int AS o FROM page_views ORDER BY 1');
    t.deepEqual(
      landed.rows.map((r) => r.o),
      [...Array(40).keys()].filter((o) => o !== 3 && o !== 31),
    );
    const dead = await readDeadLetters(pool, { groupId, limit: 10 });
    t.deepEqual(
      dead.map((d) => [d.offset, d.sqlState, d.errorClass]),
      [
        ['3', '22021', 'PoisonMessageError:ROW_REJECTED'],
        ['31', '22021', 'PoisonMessageError:ROW_REJECTED'],
      ],
    );
    t.deepEqual(dead[0]!.value, messages[3]!.value, 'raw bytes untouched');
    t.deepEqual(dead[0]!.key, messages[3]!.key);
    t.deepEqual(dead[0]!.headers, textHeaders([['n', '3']]));
    t.is(dead[0]!.schemaId, 41);
    t.regex(dead[0]!.message, /0x00/);
  },
  title: (_, way) => `rows PostgreSQL refuses are dead-lettered, the rest land (${way})`,
});
test(refusedRows, 'copy');
test(refusedRows, 'copy, text');
test(refusedRows, 'unnest');

const intPastThirtyTwoBits = test.macro({
  async exec(t, way: Way) {
    const { pool } = await migratedSchema(t);
    const { copyFormat } = wayOf(way);
    // Avro's int and long share one varint: a writer that does not check an int's range (its schema says
    // int, it wrote a long) makes bytes avsc reads as the int 2^32 + 5, whose low 32 bits are 5.
    const readerSchema = pageViews.reader.schema as { fields: Array<{ name: string; type: unknown }> };
    const asLong = parseSchema(
      {
        ...readerSchema,
        fields: readerSchema.fields.map((f) => (f.name === 'duration_ms' ? { ...f, type: 'long' } : f)),
      },
      'writer with a long duration',
    );
    const framed = (duration: number) =>
      Buffer.concat([Buffer.from([0, 0, 0, 0, 41]), asLong.toBuffer(pageView({ duration_ms: duration }))]);
    const values = [framed(7), framed(2 ** 32 + 5), framed(-(2 ** 31) - 1), framed(9)];
    const decoder = new MessageDecoder({ schemaById: async () => readerSchema as never });
    const outcomes = await decoder.decodeBatch(pageViews, values, copyFormat);
    const messages: SinkMessage[] = values.map((value, offset) => ({
      topic: pageViews.topic,
      partition: 0,
      offset: String(offset),
      timestamp: String(Date.UTC(2026, 0, 1) + offset),
      key: null,
      value,
      headers: [],
      outcome: outcomes[offset]!,
    }));
    const result = await writePartitionBatch(pool, { groupId, entry: pageViews, messages, ...wayOf(way) });
    t.like(result, { written: 2, deadLettered: 2, nextOffset: '4' });
    const landed = await pool.query('SELECT _kafka_offset::int AS o, duration_ms FROM page_views ORDER BY 1');
    t.deepEqual(landed.rows, [
      { o: 0, duration_ms: 7 },
      { o: 3, duration_ms: 9 },
    ]);
    const dead = await readDeadLetters(pool, { groupId, limit: 10 });
    t.deepEqual(
      dead.map((d) => [d.offset, d.errorClass]),
      [
        ['1', 'PoisonMessageError:ROW_REJECTED'],
        ['2', 'PoisonMessageError:ROW_REJECTED'],
      ],
    );
  },
  title: (_, way) =>
    `an Avro int past 32 bits is a dead letter, not a row (${way}) (was: binary COPY wrote its low 32 bits)`,
});
test(intPastThirtyTwoBits, 'copy');
test(intPastThirtyTwoBits, 'copy, text');

test('upserts refused by PostgreSQL (precision, CHECK, NUL) are dead-lettered with their SQLSTATE', async (t) => {
  const { pool } = await migratedSchema(t);
  const good = Array.from({ length: 12 }, () => order());
  const messages = good.map((v, i) => rowMessage(orders, i, v));
  // Values avsc itself would refuse, handed over as decoded: what PostgreSQL must catch.
  messages.push(rowMessage(orders, 12, order({ total: '1234567890123.00' }), { raw: true }));
  messages.push(rowMessage(orders, 13, order({ status: 'LOST' }), { raw: true }));
  messages.push(rowMessage(orders, 14, order({ coupon_code: 'a\u0000b' }), { raw: true }));
  messages.push(rowMessage(orders, 15, order()));
  const result = await writePartitionBatch(pool, { groupId, entry: orders, messages });
  t.like(result, { written: 13, deadLettered: 3, nextOffset: '16' });
  const dead = await readDeadLetters(pool, { groupId, topic: orders.topic, limit: 10 });
  t.deepEqual(
    dead.map((d) => [d.offset, d.sqlState]),
    [
      ['12', '22003'],
      ['13', '23514'],
      ['14', '22021'],
    ],
  );
  t.deepEqual(
    dead.map((d) => d.value),
    [messages[12]!.value, messages[13]!.value, messages[14]!.value],
  );
  const count = await pool.query('SELECT count(*)::int AS n FROM orders');
  t.is(count.rows[0]!.n, 13);
});

test('poison outcomes land in dead_letters with their raw bytes; the offset moves past them', async (t) => {
  const { pool } = await migratedSchema(t);
  const garbage = Buffer.from([0, 0, 0, 0, 7, 0xff, 0xfe, 0x00, 0x01]);
  const messages = [
    rowMessage(pageViews, 10, pageView()),
    poisonMessage(pageViews, 11, garbage, new PoisonMessageError('PAYLOAD_UNDECODABLE', 'truncated body')),
    { ...tombstoneMessage(pageViews, 12, ''), key: null },
    rowMessage(pageViews, 13, pageView()),
  ];
  const result = await writePartitionBatch(pool, { groupId, entry: pageViews, messages });
  t.like(result, { written: 2, deadLettered: 2, nextOffset: '14' });
  const dead = await readDeadLetters(pool, { groupId, limit: 10 });
  t.is(dead.length, 2);
  t.like(dead[0], {
    offset: '11',
    key: null,
    schemaId: 999,
    errorClass: 'PoisonMessageError:PAYLOAD_UNDECODABLE',
    sqlState: null,
    message: 'truncated body',
    headers: textHeaders([['source', 'test']]),
  });
  t.deepEqual(dead[0]!.value, garbage);
  t.like(dead[1], { offset: '12', errorClass: 'PoisonMessageError:ROW_REJECTED', value: null });
  t.deepEqual(await readNextOffsets(pool, groupId, pageViews.topic), new Map([[0, '14']]));
});

test('a redelivered batch writes nothing twice; concurrent duplicates queue on the offset row', async (t) => {
  const { pool } = await migratedSchema(t);
  const messages = Array.from({ length: 10 }, (_, i) => rowMessage(pageViews, i, pageView()));
  t.like(await writePartitionBatch(pool, { groupId, entry: pageViews, messages }), {
    written: 10,
    skipped: 0,
  });
  t.like(await writePartitionBatch(pool, { groupId, entry: pageViews, messages }), {
    written: 0,
    skipped: 10,
    nextOffset: '10',
  });
  const overlap = [
    ...messages.slice(5),
    ...Array.from({ length: 5 }, (_, i) => rowMessage(pageViews, 10 + i, pageView())),
  ];
  t.like(await writePartitionBatch(pool, { groupId, entry: pageViews, messages: overlap }), {
    written: 5,
    skipped: 5,
    nextOffset: '15',
  });
  // The same batch twice at the same moment (a rebalance): the second waits for the first's lock, then skips.
  const next = Array.from({ length: 5 }, (_, i) => rowMessage(pageViews, 15 + i, pageView()));
  const both = await Promise.all([
    writePartitionBatch(pool, { groupId, entry: pageViews, messages: next }),
    writePartitionBatch(pool, { groupId, entry: pageViews, messages: next, writeStrategy: 'unnest' }),
  ]);
  t.deepEqual(both.map((r) => r.written).sort(), [0, 5]);
  t.deepEqual(both.map((r) => r.skipped).sort(), [0, 5]);
  const { rows } = await pool.query(
    'SELECT count(*)::int AS n, count(DISTINCT _kafka_offset)::int AS d FROM page_views',
  );
  t.deepEqual(rows[0], { n: 20, d: 20 });
  t.deepEqual(await readNextOffsets(pool, groupId, pageViews.topic), new Map([[0, '20']]));
  const other = await readNextOffsets(pool, 'another-group', pageViews.topic);
  t.is(other.size, 0, 'offsets are per consumer group');
});

test('upserts out of order end with the newest version; equal versions: the later offset wins across batches too (was: the earlier row stayed)', async (t) => {
  const { pool } = await migratedSchema(t);
  const id = '6f1c3a5e-1d2b-4c3d-8e9f-0a1b2c3d4e5f';
  const at = (version: number, status: string) => order({ order_id: id, version, status });
  const write = (messages: SinkMessage[]) => writePartitionBatch(pool, { groupId, entry: orders, messages });
  const read = async () =>
    (
      await pool.query('SELECT version, status, _kafka_offset::int AS o FROM orders WHERE order_id = $1', [
        id,
      ])
    ).rows;

  t.like(await write([rowMessage(orders, 0, at(3, 'SHIPPED'))]), { written: 1 });
  t.like(await write([rowMessage(orders, 1, at(1, 'PLACED')), rowMessage(orders, 2, at(2, 'PAID'))]), {
    written: 0,
    superseded: 2,
  });
  t.deepEqual(await read(), [{ version: 3, status: 'SHIPPED', o: 0 }]);
  t.like(await write([rowMessage(orders, 3, at(5, 'DELIVERED')), rowMessage(orders, 4, at(4, 'SHIPPED'))]), {
    written: 1,
    superseded: 1,
  });
  t.deepEqual(await read(), [{ version: 5, status: 'DELIVERED', o: 3 }]);
  t.like(await write([rowMessage(orders, 5, at(5, 'REFUNDED'))]), { written: 1, superseded: 0 });
  t.deepEqual(
    await read(),
    [{ version: 5, status: 'REFUNDED', o: 5 }],
    'equal version in a later batch: the later offset, as within a batch',
  );
  t.like(await write([rowMessage(orders, 5, at(5, 'REFUNDED'))]), { skipped: 1 });
  await pool.query('DELETE FROM pipeline_offsets');
  t.like(
    await write([rowMessage(orders, 5, at(5, 'REFUNDED'))]),
    { written: 0, superseded: 1 },
    'the same message again (offsets reset) does not replace its own row',
  );
  t.like(await write([rowMessage(orders, 6, at(6, 'REFUNDED')), rowMessage(orders, 7, at(6, 'CANCELLED'))]), {
    written: 1,
  });
  t.deepEqual(
    await read(),
    [{ version: 6, status: 'CANCELLED', o: 7 }],
    'equal versions in a batch: the later offset',
  );
});

test('tombstones delete by key; an upsert after a tombstone re-creates the row', async (t) => {
  const { pool } = await migratedSchema(t);
  const a = order({ version: 1 });
  const b = order({ version: 1 });
  const write = (messages: SinkMessage[]) => writePartitionBatch(pool, { groupId, entry: orders, messages });
  const ids = async () =>
    (await pool.query('SELECT order_id::text AS id, version FROM orders ORDER BY id')).rows;

  t.like(await write([rowMessage(orders, 0, a), rowMessage(orders, 1, b)]), { written: 2 });
  t.like(
    await write([
      tombstoneMessage(orders, 2, String(a.order_id).toUpperCase()),
      rowMessage(orders, 3, { ...b, version: 2 }),
      tombstoneMessage(orders, 4, String(b.order_id)),
      rowMessage(orders, 5, { ...b, version: 0 }),
    ]),
    { deleted: 2, written: 1, superseded: 1 },
  );
  t.deepEqual(
    await ids(),
    [{ id: b.order_id, version: 0 }],
    'b re-created after its tombstone, at version 0',
  );
  t.like(
    await write([tombstoneMessage(orders, 6, 'not-a-uuid'), tombstoneMessage(orders, 7, String(b.order_id))]),
    {
      deleted: 1,
      deadLettered: 1,
    },
  );
  const [refused] = await readDeadLetters(pool, { groupId, limit: 1 });
  t.like(refused, { offset: '6', sqlState: '22P02' }, 'a key PostgreSQL cannot read is refused alone');
  t.deepEqual(await ids(), []);
});

test('a tombstone on an insert-only topic is a dead letter with its key; no row is deleted (was: every row of the key deleted, the offset neither row nor dead letter)', async (t) => {
  const { pool } = await migratedSchema(t);
  const view = pageView();
  await writePartitionBatch(pool, {
    groupId,
    entry: pageViews,
    messages: [
      rowMessage(pageViews, 0, view),
      rowMessage(pageViews, 1, view),
      rowMessage(pageViews, 2, pageView()),
    ],
  });
  const result = await writePartitionBatch(pool, {
    groupId,
    entry: pageViews,
    messages: [tombstoneMessage(pageViews, 3, String(view.view_id)), rowMessage(pageViews, 4, view)],
  });
  t.like(result, { written: 1, deleted: 0, deadLettered: 1, superseded: 0, nextOffset: '5' });
  const left = await pool.query('SELECT _kafka_offset::int AS o FROM page_views ORDER BY 1');
  t.deepEqual(
    left.rows.map((r) => r.o),
    [0, 1, 2, 4],
  );
  const dead = await readDeadLetters(pool, { groupId, limit: 10 });
  t.is(dead.length, 1);
  t.like(dead[0], {
    offset: '3',
    value: null,
    errorClass: 'PoisonMessageError:ROW_REJECTED',
    sqlState: null,
  });
  t.deepEqual(dead[0]!.key, Buffer.from(String(view.view_id)), 'the key is kept');
  t.regex(dead[0]!.message, /insert-only/);
});

test('60,000-row batches stay far from the bind-parameter limit (copy, unnest, upsert)', async (t) => {
  const { pool } = await migratedSchema(t);
  const size = 60_000;
  for (const [partition, strategy] of [
    [0, 'copy'],
    [1, 'unnest'],
  ] as const) {
    const messages = Array.from({ length: size }, (_, i) =>
      rowMessage(pageViews, i, pageView(), { partition }),
    );
    const started = performance.now();
    const result = await writePartitionBatch(pool, {
      groupId,
      entry: pageViews,
      messages,
      writeStrategy: strategy,
    });
    t.log(`page_views ${strategy}: ${size} rows in ${Math.round(performance.now() - started)} ms`);
    t.like(result, { written: size, nextOffset: String(size) });
  }
  const messages = Array.from({ length: size }, (_, i) => rowMessage(orders, i, order()));
  const started = performance.now();
  t.like(await writePartitionBatch(pool, { groupId, entry: orders, messages }), { written: size });
  t.log(`orders upsert: ${size} rows in ${Math.round(performance.now() - started)} ms`);
  const { rows } = await pool.query(
    'SELECT (SELECT count(*) FROM page_views)::int AS views, (SELECT count(*) FROM orders)::int AS orders',
  );
  t.deepEqual(rows[0], { views: 2 * size, orders: size });
});

test('a database that cannot be reached is a TransientError; nothing is dead-lettered', async (t) => {
  const url = new URL(config.database.connectionString);
  url.port = '1';
  const pool = createPool(
    { connectionString: url.toString(), schema: uniqueName('nowhere') },
    { log: t.log },
  );
  t.teardown(() => pool.end());
  const error = await t.throwsAsync(
    writePartitionBatch(pool, {
      groupId,
      entry: pageViews,
      messages: [rowMessage(pageViews, 0, pageView())],
    }),
    { instanceOf: TransientError },
  );
  t.is(error.code, 'DATABASE_UNAVAILABLE');
});

test('a table missing a column is CONTRACT_MISMATCH: the transaction rolls back, the offset stays', async (t) => {
  const { pool } = await migratedSchema(t);
  await pool.query('ALTER TABLE page_views DROP COLUMN referrer');
  const messages = [rowMessage(pageViews, 0, pageView())];
  for (const writeStrategy of ['copy', 'unnest'] as const) {
    const error = await t.throwsAsync(
      writePartitionBatch(pool, { groupId, entry: pageViews, messages, writeStrategy }),
      {
        instanceOf: PipelineError,
      },
    );
    t.is(error.code, 'CONTRACT_MISMATCH');
    t.regex(error.message, /table page_views/);
  }
  t.is((await readNextOffsets(pool, groupId, pageViews.topic)).size, 0);
  const dead = await pool.query('SELECT count(*)::int AS n FROM dead_letters');
  t.is(dead.rows[0]!.n, 0);
});

test('upsert keeps v1 when v2 of the same key is refused in one batch (was: key missing)', async (t) => {
  const { pool } = await migratedSchema(t);
  const x = order({ version: 1, status: 'PLACED' });
  const y = order({ version: 3, status: 'SHIPPED' });
  const messages = [
    rowMessage(orders, 0, x),
    // Values avsc would refuse, handed over as decoded: the CHECK on status, a NUL in text.
    rowMessage(orders, 1, { ...x, version: 2, status: 'LOST' }, { raw: true }),
    rowMessage(orders, 2, y),
    rowMessage(orders, 3, { ...y, version: 4, coupon_code: 'a\u0000b' }, { raw: true }),
    rowMessage(orders, 4, { ...y, version: 2, status: 'PAID' }),
  ];
  const result = await writePartitionBatch(pool, { groupId, entry: orders, messages });
  t.like(result, { written: 2, deadLettered: 2, superseded: 1, nextOffset: '5' });
  const { rows } = await pool.query(
    'SELECT order_id::text AS id, version, status, _kafka_offset::int AS o FROM orders ORDER BY o',
  );
  t.deepEqual(rows, [
    { id: x.order_id, version: 1, status: 'PLACED', o: 0 },
    { id: y.order_id, version: 3, status: 'SHIPPED', o: 2 },
  ]);
  const dead = await readDeadLetters(pool, { groupId, limit: 10 });
  t.deepEqual(
    dead.map((d) => [d.offset, d.sqlState]),
    [
      ['1', '23514'],
      ['3', '22021'],
    ],
  );
});

/** Messages of three keys: versions out of order, equal versions, refusals, tombstones (one refused). */
function trickyOrders(): SinkMessage[] {
  const ids = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b2'];
  const c = '00000000-0000-4000-8000-0000000000c3';
  const at = (offset: number, id: string, version: number, status = 'PAID') =>
    rowMessage(orders, offset, order({ order_id: id, version, status }));
  const refused = (offset: number, id: string, version: number) =>
    rowMessage(orders, offset, order({ order_id: id, version, status: 'LOST' }), { raw: true });
  return [
    at(0, ids[0]!, 2),
    refused(1, ids[0]!, 5),
    at(2, ids[0]!, 2, 'SHIPPED'),
    at(3, ids[1]!, 4),
    tombstoneMessage(orders, 4, ids[1]!),
    refused(5, ids[1]!, 1),
    at(6, c, 1),
    refused(7, ids[0]!, 9),
    at(8, ids[1]!, 0, 'PLACED'),
    at(9, c, 3),
    tombstoneMessage(orders, 10, c),
    { ...tombstoneMessage(orders, 11, 'not-a-uuid') },
    at(12, c, 1, 'PLACED'),
    refused(13, c, 7),
    at(14, ids[0]!, 1, 'CANCELLED'),
  ];
}

const TABLE_STATE =
  'SELECT order_id::text AS id, version, status, _kafka_offset::int AS o FROM orders ORDER BY id';

test('where batches are cut never changes the upsert table: one batch, one message per batch, a budget cut (was: refusals and equal versions depended on batching)', async (t) => {
  const [one, single, budgeted] = await Promise.all([
    migratedSchema(t, 'cut1'),
    migratedSchema(t, 'cut2'),
    migratedSchema(t, 'cut3'),
  ]);
  const messages = trickyOrders();
  t.like(await writePartitionBatch(one.pool, { groupId, entry: orders, messages }), {
    nextOffset: '15',
    deadLettered: 5,
  });
  for (const message of messages) {
    await writePartitionBatch(single.pool, { groupId, entry: orders, messages: [message] });
  }
  let rest = messages;
  let transactions = 0;
  while (rest.length > 0) {
    const result = await writePartitionBatch(budgeted.pool, {
      groupId,
      entry: orders,
      messages: rest,
      bisectBudget: 1,
    });
    transactions++;
    rest = rest.filter((m) => BigInt(m.offset) >= BigInt(result.nextOffset!));
  }
  t.true(transactions > 1, 'the budget did cut');
  const expected = [
    { id: '00000000-0000-4000-8000-0000000000a1', version: 2, status: 'SHIPPED', o: 2 },
    { id: '00000000-0000-4000-8000-0000000000b2', version: 0, status: 'PLACED', o: 8 },
    { id: '00000000-0000-4000-8000-0000000000c3', version: 1, status: 'PLACED', o: 12 },
  ];
  for (const { pool } of [one, single, budgeted]) {
    t.deepEqual((await pool.query(TABLE_STATE)).rows, expected);
    const dead = await pool.query<{ offset: string }>('SELECT "offset" FROM dead_letters ORDER BY id');
    t.deepEqual(
      dead.rows.map((r) => Number(r.offset)),
      [1, 5, 7, 11, 13],
    );
    t.deepEqual(await readNextOffsets(pool, groupId, orders.topic), new Map([[0, '15']]));
  }
});

test('a chunk where every row is refused commits in transactions of bounded work; the offset only covers settled messages (was: about 2n savepoints under the offsets lock)', async (t) => {
  const { pool } = await migratedSchema(t);
  const size = 120;
  const messages = Array.from({ length: size }, (_, offset) =>
    rowMessage(pageViews, offset, pageView(offset % 40 === 39 ? {} : { url: `nul\u0000${offset}` })),
  );
  let rest = messages;
  let stored = 0n;
  let transactions = 0;
  while (rest.length > 0) {
    const result = await writePartitionBatch(pool, {
      groupId,
      entry: pageViews,
      messages: rest,
      bisectBudget: 16,
    });
    transactions++;
    const next = BigInt(result.nextOffset!);
    t.true(next > stored, 'every transaction settles something');
    stored = next;
    // What is committed is exactly the messages below the stored offset: each a row or a dead letter.
    const { rows } = await pool.query<{ rows: number; dead: number; below: number }>(
      `SELECT (SELECT count(*)::int FROM page_views) AS rows, (SELECT count(*)::int FROM dead_letters) AS dead,
              (SELECT count(*)::int FROM dead_letters WHERE "offset" >= $1) AS below`,
      [String(next)],
    );
    t.is(rows[0]!.rows + rows[0]!.dead, Number(next));
    t.is(rows[0]!.below, 0, 'no dead letter beyond the stored offset');
    t.true(result.written + result.deadLettered <= 16, 'at most one settled message per attempt');
    rest = rest.filter((m) => BigInt(m.offset) >= next);
  }
  t.true(transactions >= size / 16, `${transactions} transactions`);
  const landed = await pool.query('SELECT _kafka_offset::int AS o FROM page_views ORDER BY 1');
  t.deepEqual(
    landed.rows.map((r) => r.o),
    [39, 79, 119],
  );
  t.deepEqual(await readNextOffsets(pool, groupId, pageViews.topic), new Map([[0, String(size)]]));
});

test('measured: how long the offsets lock is held for a 2,000-row chunk PostgreSQL refuses whole', async (t) => {
  const { pool } = await migratedSchema(t);
  const size = 2000;
  const refusedChunk = (partition: number) =>
    Array.from({ length: size }, (_, offset) =>
      rowMessage(pageViews, offset, pageView({ url: `nul\u0000${offset}` }), { partition }),
    );
  let started = performance.now();
  const whole = await writePartitionBatch(pool, {
    groupId,
    entry: pageViews,
    messages: refusedChunk(0),
    bisectBudget: Number.POSITIVE_INFINITY,
  });
  const unbounded = performance.now() - started;
  t.like(whole, { deadLettered: size, nextOffset: String(size) });
  let rest = refusedChunk(1);
  let longest = 0;
  let transactions = 0;
  started = performance.now();
  while (rest.length > 0) {
    const begun = performance.now();
    const result = await writePartitionBatch(pool, { groupId, entry: pageViews, messages: rest });
    longest = Math.max(longest, performance.now() - begun);
    transactions++;
    rest = rest.filter((m) => BigInt(m.offset) >= BigInt(result.nextOffset!));
  }
  const total = performance.now() - started;
  t.log(`unbounded: one transaction of ${Math.round(unbounded)} ms`);
  t.log(
    `default budget: ${transactions} transactions, the longest ${Math.round(longest)} ms, ${Math.round(total)} ms in all`,
  );
  const dead = await pool.query('SELECT count(*)::int AS n FROM dead_letters');
  t.is(dead.rows[0]!.n, 2 * size);
  t.true(transactions > 1);
});

/** A deterministic pseudo-random source (mulberry32), so that a failure reproduces. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test('property: random upsert streams with refusals and tombstones give the same table however they are batched, and the table of one message at a time', async (t) => {
  const { pool } = await migratedSchema(t);
  const keys = ['a', 'b', 'c'].map((k) => `00000000-0000-4000-8000-00000000000${k}`);
  const next = seeded(20261129);
  const reset = () => pool.query('TRUNCATE orders, dead_letters, pipeline_offsets');
  const state = async () => (await pool.query(TABLE_STATE)).rows;
  for (let run = 0; run < 8; run++) {
    const messages: SinkMessage[] = [];
    // The model: one message at a time, refused ones skipped, a row replaces a lower (version, offset).
    const model = new Map<string, { id: string; version: number; status: string; o: number }>();
    for (let offset = 0; offset < 24; offset++) {
      const id = keys[Math.floor(next() * keys.length)]!;
      const refused = next() < 0.3;
      if (next() < 0.15) {
        // A refused tombstone: a key PostgreSQL cannot read as a uuid.
        messages.push(tombstoneMessage(orders, offset, refused ? `${id}-x` : id));
        if (!refused) model.delete(id);
        continue;
      }
      const version = Math.floor(next() * 4);
      const status = refused ? 'LOST' : (['PLACED', 'PAID', 'SHIPPED'] as const)[offset % 3]!;
      messages.push(rowMessage(orders, offset, order({ order_id: id, version, status }), { raw: refused }));
      const there = model.get(id);
      if (!refused && (there === undefined || there.version < version || there.version === version)) {
        model.set(id, { id, version, status, o: offset });
      }
    }
    const expected = [...model.values()].sort((x, y) => (x.id < y.id ? -1 : 1));

    await reset();
    await writePartitionBatch(pool, { groupId, entry: orders, messages });
    t.deepEqual(await state(), expected, `one batch, run ${run}`);

    await reset();
    let start = 0;
    while (start < messages.length) {
      const end = start + 1 + Math.floor(next() * 6);
      await writePartitionBatch(pool, { groupId, entry: orders, messages: messages.slice(start, end) });
      start = end;
    }
    t.deepEqual(await state(), expected, `random batches, run ${run}`);

    await reset();
    let rest = messages;
    while (rest.length > 0) {
      const result = await writePartitionBatch(pool, {
        groupId,
        entry: orders,
        messages: rest,
        bisectBudget: Math.floor(next() * 3),
      });
      rest = rest.filter((m) => BigInt(m.offset) >= BigInt(result.nextOffset!));
    }
    t.deepEqual(await state(), expected, `budget cuts, run ${run}`);
    const dead = await pool.query(
      'SELECT count(*)::int AS n, count(DISTINCT "offset")::int AS d FROM dead_letters',
    );
    t.is(dead.rows[0]!.n, dead.rows[0]!.d, 'no offset dead-lettered twice');
  }
});

/** The all-types table, created from the mapper's own columns (the mapping under test is column-types.ts). */
async function allTypesTable(pool: import('pg').Pool): Promise<void> {
  const mapper = createRowMapper(allTypesEntry());
  const columns = mapper.columns.map(
    (c) => `${quoteIdentifier(c.name)} ${c.pgType}${c.nullable ? '' : ' NOT NULL'}`,
  );
  await pool.query(
    `CREATE TABLE all_types (${columns.join(', ')}, _ingested_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (_kafka_partition, _kafka_offset))`,
  );
}

const BASE = {
  id: '0b3f2a51-2f6c-4c4e-9a57-4d3c4ab1e001',
  flag: false,
  small: 0,
  big: 0,
  single: 0,
  double: 0,
  label: 'x',
  colour: 'RED',
  raw: Buffer.from([]),
  four: Buffer.from('abcd'),
  amount: '0.000',
  fixed_amount: '0',
  at_ms: new Date(0),
  at_us: 0n,
  day: '1970-01-01',
  nested: { when_us: 0n, when_ms: new Date(0), price: '0.00', blob: Buffer.from([]) },
  list: [],
  tags: {},
  maybe_text: null,
  maybe_day: null,
  maybe_amount: null,
  text_or_long: null,
  text_or_number: 'x',
  maybe_us_last: null,
  time_ms: '12:00:00.000',
  time_us: '12:00:00.000001',
  local_ms: '2026-01-01T00:00:00.000',
  local_us: '2026-01-01T00:00:00.000001',
  either_record: { 'test.Left': { l: 0.5 } },
  deep: { d2: { d3: { at: '2026-01-01T00:00:00.000000', time: '12:00:00.500', x: 0.1 } } },
};

/** [field, value, what PostgreSQL reads back as text (UTC, ISO)]: the limits of each type, written by hand. */
const LIMITS: Array<[string, unknown, string, string?]> = [
  ['day', '+5874897-12-31', '5874897-12-31'],
  ['day', '-004713-11-24', '4714-11-24 BC'],
  ['day', '+010000-01-01', '10000-01-01'],
  ['day', '0000-01-01', '0001-01-01 BC'],
  ['maybe_day', '-000001-12-31', '0002-12-31 BC'],
  ['at_us', 2n ** 63n - 1n, '294247-01-10 04:00:54.775807+00'],
  ['at_us', -210_866_803_200_000_000n, '4714-11-24 00:00:00+00 BC'],
  ['at_us', 253_402_300_800_000_000n, '10000-01-01 00:00:00+00'],
  ['maybe_us_last', -62_135_596_800_000_001n, '0001-12-31 23:59:59.999999+00 BC'],
  ['at_ms', new Date(8.64e15), '275760-09-13 00:00:00+00'],
  ['at_ms', new Date(-210_866_803_200_000), '4714-11-24 00:00:00+00 BC'],
  ['big', 2n ** 63n - 1n, '9223372036854775807'],
  ['big', -(2n ** 63n), '-9223372036854775808'],
  ['double', -0, '-0'],
  ['double', Number.NaN, 'NaN'],
  ['double', Number.NEGATIVE_INFINITY, '-Infinity'],
  ['double', 5e-324, '5e-324'],
  ['double', 1.7976931348623157e308, '1.7976931348623157e+308'],
  ['single', -0, '-0'],
  ['single', 3.4028234663852886e38, '3.4028235e+38'],
  ['amount', '9999999.999', '9999999.999'],
  ['amount', '-0.001', '-0.001'],
  ['label', '', ''],
  ['label', 'ü\u2028🎉\\N\t', 'ü\u2028🎉\\N\t'],
  ['list', [2n ** 63n - 1n, -(2n ** 63n), 0], '[9223372036854775807, -9223372036854775808, 0]'],
  [
    'nested',
    { when_us: 2n ** 63n - 1n, when_ms: new Date(8.64e15), price: '-9999.99', blob: Buffer.from([0]) },
    '9223372036854775807 +275760-09-13T00:00:00.000Z -9999.99 \\x00',
    "nested->>'when_us' || ' ' || (nested->>'when_ms') || ' ' || (nested->>'price') || ' ' || (nested->>'blob')",
  ],
  ['text_or_long', 2n ** 62n, '4611686018427387904'],
];

const limitsRoundTrip = test.macro({
  async exec(t, way: Way) {
    const { pool } = await migratedSchema(t);
    await allTypesTable(pool);
    const entry = allTypesEntry();
    const { copyFormat } = wayOf(way);
    const messages = LIMITS.map(([field, value], i) =>
      rowMessage(entry, i, { ...BASE, [field]: value }, { copyFormat }),
    );
    t.true(messages.every((m) => m.outcome.kind === 'row'));
    const result = await writePartitionBatch(pool, { groupId, entry, messages, ...wayOf(way) });
    t.like(result, { written: LIMITS.length, deadLettered: 0 });
    const client = await pool.connect();
    try {
      await client.query("SET TIME ZONE 'UTC'");
      for (const [i, [field, , expected, expression]] of LIMITS.entries()) {
        const { rows } = await client.query(
          `SELECT (${expression ?? `${quoteIdentifier(field)}::text`}) AS v FROM all_types WHERE _kafka_offset = $1`,
          [i],
        );
        t.is(rows[0]?.v, expected, `${field} #${i}`);
      }
    } finally {
      client.release();
    }
  },
  title: (_, way) =>
    `values at PostgreSQL's limits read back exactly, ${way} (was: 22009 for years past 9999, "outside any calendar", TypeError on nested bigints)`,
});
test(limitsRoundTrip, 'copy');
test(limitsRoundTrip, 'copy, text');
test(limitsRoundTrip, 'unnest');

test('the fast path lands the same all-types rows as the reference path: random values, limits, awkward text, binary COPY, COPY text and unnest', async (t) => {
  const entry = allTypesEntry();
  const values: Record<string, unknown>[] = [
    ...(createFakeEvents(entry, { seed: 5, now: new Date('2026-01-01T00:00:00Z') }).take(400) as Record<
      string,
      unknown
    >[]),
    ...LIMITS.map(([field, value]) => ({ ...BASE, [field]: value })),
    ...['', '\\N', 'tab\there\nnew\rcr \\ back', 'ü\u2028🎉', '\uFFFD', 'x\u0001y'].map((label) => ({
      ...BASE,
      label,
      tags: { [label]: label },
      maybe_text: label,
    })),
  ];
  const tables: string[][] = [];
  for (const [fastPath, way] of [
    [true, 'copy'],
    [false, 'copy'],
    [true, 'unnest'],
    [true, 'copy, text'],
    [false, 'copy, text'],
  ] as const) {
    const { pool } = await migratedSchema(t, fastPath ? 'fast' : 'reference');
    await allTypesTable(pool);
    const { copyFormat, writeStrategy: strategy } = wayOf(way);
    const messages = values.map((v, i) => rowMessage(entry, i, v, { fastPath, copyFormat }));
    const fast = messages.filter((m) => m.outcome.kind === 'row' && m.outcome.copy !== undefined).length;
    // Most bodies take the fast path; the limits beyond it (years past 9999, longs past 2^53) do not.
    if (fastPath) t.true(fast > 400, `${fast} of ${messages.length} on the fast path`);
    else t.is(fast, 0);
    const result = await writePartitionBatch(pool, {
      groupId,
      entry,
      messages,
      writeStrategy: strategy,
      copyFormat,
    });
    t.like(result, { written: values.length, deadLettered: 0 });
    const { rows } = await pool.query<{ row: string }>(
      `SELECT (to_jsonb(a) - '_ingested_at')::text AS row FROM all_types a ORDER BY _kafka_offset`,
    );
    tables.push(rows.map((r) => r.row));
  }
  t.is(tables[0]!.length, values.length);
  t.deepEqual(tables[0], tables[1], 'fast binary COPY = reference, binary');
  t.deepEqual(tables[2], tables[1], 'fast rows through unnest = reference');
  t.deepEqual(tables[3], tables[1], 'fast COPY text = reference, binary');
  t.deepEqual(tables[4], tables[1], 'reference, COPY text = reference, binary');
});

test('insert batches of several partitions written at once each keep their own COPY buffer; a batch refused and retried lands whole', async (t) => {
  const { pool } = await migratedSchema(t);
  const batches = [0, 1, 2, 3].map((partition) =>
    Array.from({ length: 300 }, (_, offset) =>
      rowMessage(
        pageViews,
        offset,
        pageView({ url: `https://p${partition}.example/${offset}\t${'x'.repeat(offset % 50)}` }),
        {
          partition,
        },
      ),
    ),
  );
  // A batch whose transaction fails (a table that is not there yet) gives its buffer back; the others, written
  // at the same time, must not see their lines overwritten by it or by one another.
  await pool.query('ALTER TABLE page_views RENAME TO page_views_away');
  await t.throwsAsync(writePartitionBatch(pool, { groupId, entry: pageViews, messages: batches[3]! }));
  await pool.query('ALTER TABLE page_views_away RENAME TO page_views');
  const results = await Promise.all(
    batches.map((messages) => writePartitionBatch(pool, { groupId, entry: pageViews, messages })),
  );
  for (const result of results) t.like(result, { written: 300, deadLettered: 0, nextOffset: '300' });
  const { rows } = await pool.query<{ p: number; o: string; url: string }>(
    'SELECT _kafka_partition AS p, _kafka_offset::text AS o, url FROM page_views ORDER BY 1, _kafka_offset',
  );
  t.deepEqual(
    rows.map((r) => `${r.p}:${r.o}:${r.url}`),
    batches
      .flat()
      .map(
        (m) => `${m.partition}:${m.offset}:${m.outcome.kind === 'row' ? String(m.outcome.value.url) : ''}`,
      ),
  );
});

test('dead-letter headers keep every value\'s bytes, repeated keys and null values (was: UTF-8 text, repeats joined with ",", NUL as text)', async (t) => {
  const { pool } = await migratedSchema(t);
  const headers = [
    { key: Buffer.from('trace'), value: Buffer.from([0xff, 0xfe, 0x00, 0xed, 0xa0, 0x80]) },
    { key: Buffer.from('trace'), value: Buffer.from('second, with a comma') },
    { key: Buffer.from('nul\u0000key'), value: null },
    { key: Buffer.from('empty'), value: Buffer.alloc(0) },
    { key: Buffer.from('é'), value: Buffer.from('\u0000') },
  ];
  const message = {
    ...poisonMessage(
      pageViews,
      5,
      Buffer.from([1, 2, 3]),
      new PoisonMessageError('PAYLOAD_UNDECODABLE', 'x'),
    ),
    headers,
  };
  const result = await writePartitionBatch(pool, { groupId, entry: pageViews, messages: [message] });
  t.like(result, { deadLettered: 1 });
  const [letter] = await readDeadLetters(pool, { groupId, limit: 10 });
  t.deepEqual(letter!.headers, headers);
  const none = { ...tombstoneMessage(pageViews, 6, ''), key: null, headers: [] };
  await writePartitionBatch(pool, { groupId, entry: pageViews, messages: [none] });
  const letters = await readDeadLetters(pool, { groupId, limit: 10 });
  t.deepEqual(letters[1]?.headers, [], 'no headers: an empty list');
});
