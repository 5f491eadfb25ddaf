import test from 'ava';
import { PipelineError, PoisonMessageError, TransientError } from '../../src/errors.ts';
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

const PAGE_VIEWS_READBACK = `
  SELECT view_id::text, session_id, customer_id::text, url, referrer, duration_ms, is_bounce,
         (extract(epoch FROM viewed_at) * 1000000)::bigint::text AS viewed_us, attributes,
         _kafka_partition, _kafka_offset::text
    FROM page_views WHERE _kafka_partition = $1 ORDER BY _kafka_offset`;

const insertRoundTrip = test.macro({
  async exec(t, strategy: WriteStrategy) {
    const { pool } = await migratedSchema(t);
    const awkward =
      'tab\there, new\nline, cr\r, backslash \\ and \\N, "quotes", \'single\', ünïcødé 🎉, comma,';
    const values = [
      pageView(),
      pageView({ customer_id: 42, referrer: '', url: awkward, attributes: { k: awkward, '': 'empty key' } }),
      pageView({ referrer: '\\N', viewed_at: -1n, is_bounce: true, duration_ms: -2_147_483_648 }),
      pageView({ viewed_at: 1n, session_id: '', attributes: { a: '1', b: '2' } }),
    ];
    const messages = values.map((v, i) => rowMessage(pageViews, i, v, { partition: 1 }));
    const result = await writePartitionBatch(pool, {
      groupId,
      entry: pageViews,
      messages,
      writeStrategy: strategy,
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
  title: (_, strategy) => `every page_views field reads back equal, insert with ${strategy}`,
});
test(insertRoundTrip, 'copy');
test(insertRoundTrip, 'unnest');

const refusedRows = test.macro({
  async exec(t, strategy: WriteStrategy) {
    const { pool } = await migratedSchema(t);
    const messages: SinkMessage[] = [];
    for (let offset = 0; offset < 40; offset++) {
      const bad = offset === 3 ? { url: 'nul\u0000byte' } : offset === 31 ? { session_id: 'x\u0000' } : {};
      messages.push(
        rowMessage(pageViews, offset, pageView(bad), { headers: textHeaders([['n', String(offset)]]) }),
      );
    }
    const result = await writePartitionBatch(pool, {
      groupId,
      entry: pageViews,
      messages,
      writeStrategy: strategy,
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
  title: (_, strategy) => `rows PostgreSQL refuses are dead-lettered, the rest land (${strategy})`,
});
test(refusedRows, 'copy');
test(refusedRows, 'unnest');

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

test('upserts out of order end with the newest version; equal versions keep the existing row', async (t) => {
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
  t.like(await write([rowMessage(orders, 5, at(5, 'REFUNDED'))]), { written: 0, superseded: 1 });
  t.deepEqual(
    await read(),
    [{ version: 5, status: 'DELIVERED', o: 3 }],
    'equal version: the existing row stays',
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
    messages: [tombstoneMessage(pageViews, 3, String(view.view_id))],
  });
  t.like(result, { deleted: 2, nextOffset: '4' });
  const left = await pool.query('SELECT count(*)::int AS n FROM page_views');
  t.is(left.rows[0]!.n, 1);
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
  const pool = createPool({ connectionString: url.toString(), schema: uniqueName('nowhere') });
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
  async exec(t, strategy: WriteStrategy) {
    const { pool } = await migratedSchema(t);
    await allTypesTable(pool);
    const entry = allTypesEntry();
    const messages = LIMITS.map(([field, value], i) => rowMessage(entry, i, { ...BASE, [field]: value }));
    t.true(messages.every((m) => m.outcome.kind === 'row'));
    const result = await writePartitionBatch(pool, { groupId, entry, messages, writeStrategy: strategy });
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
  title: (_, strategy) =>
    `values at PostgreSQL's limits read back exactly, ${strategy} (was: 22009 for years past 9999, "outside any calendar", TypeError on nested bigints)`,
});
test(limitsRoundTrip, 'copy');
test(limitsRoundTrip, 'unnest');

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
