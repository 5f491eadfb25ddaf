import test from 'ava';
import avro from 'avsc';
import { parseSchema } from '../../src/contracts/catalog.ts';
import { logicalTypes } from '../../src/contracts/logical-types.ts';

// Parsed the project's one way (exact longs under timestamp-micros included).
const type = parseSchema(
  {
    type: 'record',
    name: 'AllLogical',
    fields: [
      { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 6, scale: 2 } },
      { name: 'day', type: { type: 'int', logicalType: 'date' } },
      { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
      { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'at_micros', type: { type: 'long', logicalType: 'timestamp-micros' } },
    ],
  },
  'logical-types.test',
);

const valid = {
  amount: '1234.50',
  day: '2024-02-29',
  id: '0b0e7a4c-5b8a-4d2e-9f51-3a9e2b7c1d00',
  at: new Date('2026-01-02T03:04:05.678Z'),
  at_micros: 1_767_323_045_678_901n,
};

const roundTrip = (value: object) => type.fromBuffer(type.toBuffer(value)) as Record<string, unknown>;

test('every logical type round-trips to the same TypeScript value', (t) => {
  t.deepEqual({ ...roundTrip(valid) }, valid);
});

test('decimals round-trip exactly, negative and zero included, at the precision limits', (t) => {
  for (const amount of ['-1234.56', '-0.01', '0.00', '9999.99', '-9999.99', '0.10', '-128.00', '127.99']) {
    t.is(roundTrip({ ...valid, amount }).amount, amount, amount);
  }
  // Fewer fraction digits than the scale are padded, not refused.
  t.is(roundTrip({ ...valid, amount: '-5.5' }).amount, '-5.50');
  t.is(roundTrip({ ...valid, amount: '42' }).amount, '42.00');
});

test('a decimal with too many fraction digits or digits is refused, never rounded', (t) => {
  for (const amount of ['1.234', '-0.001', '10000.00', '1e3', '1,00', ' 1.00', 'NaN', '']) {
    t.false(type.isValid({ ...valid, amount }), amount);
    t.throws(() => type.toBuffer({ ...valid, amount }), undefined, amount);
  }
});

test('a day that does not exist is refused (2026-02-30), leap days accepted', (t) => {
  t.false(type.isValid({ ...valid, day: '2026-02-30' }));
  t.false(type.isValid({ ...valid, day: '2025-02-29' }));
  t.false(type.isValid({ ...valid, day: '2026-13-01' }));
  t.false(type.isValid({ ...valid, day: '2026-1-01' }));
  t.true(type.isValid({ ...valid, day: '2028-02-29' }));
  t.is(roundTrip({ ...valid, day: '1969-12-31' }).day, '1969-12-31');
});

test('uuids are checked; timestamps need a valid Date and a bigint', (t) => {
  t.false(type.isValid({ ...valid, id: 'not-a-uuid' }));
  t.false(type.isValid({ ...valid, at: new Date(Number.NaN) }));
  t.false(type.isValid({ ...valid, at: valid.at.getTime() }));
  t.false(type.isValid({ ...valid, at_micros: 5 }));
  t.true(type.isValid({ ...valid, at_micros: 2n ** 60n }), 'exact beyond 2^53 µs');
  t.false(type.isValid({ ...valid, at_micros: 2n ** 63n }), 'beyond 64 bits');
});

test('a decimal on a fixed fills exactly its size, sign-extended (was: encoding refused short values)', (t) => {
  const type = avro.Type.forSchema(
    { type: 'fixed', name: 'Money', size: 8, logicalType: 'decimal', precision: 18, scale: 2 },
    { logicalTypes, assertLogicalTypes: true },
  );
  for (const value of ['0.00', '1.50', '-1.50', '-9999999999999999.99', '9999999999999999.99']) {
    const buffer = type.toBuffer(value);
    t.is(buffer.length, 8, value);
    t.is(type.fromBuffer(buffer), value);
  }
  // 3 bytes cannot hold 10^7 (unscaled): refused, not truncated.
  const small = avro.Type.forSchema(
    { type: 'fixed', name: 'Small', size: 3, logicalType: 'decimal', precision: 9, scale: 0 },
    { logicalTypes },
  );
  t.false(small.isValid('10000000'));
  t.is(small.fromBuffer(small.toBuffer('-8388608')), '-8388608');
});

test('a decoded UUID is canonical lower case; a string that is not one is refused (was: passed through)', (t) => {
  const uuidType = avro.Type.forSchema({ type: 'string', logicalType: 'uuid' }, { logicalTypes });
  const plain = avro.Type.forSchema('string');
  t.is(
    uuidType.fromBuffer(plain.toBuffer('3F1C2A8E-1111-4222-8333-444455556666')),
    '3f1c2a8e-1111-4222-8333-444455556666',
  );
  t.throws(() => uuidType.fromBuffer(plain.toBuffer('{3f1c2a8e-1111-4222-8333-444455556666}')), {
    message: /not a UUID/,
  });
});

test('longs beyond 2^53 round-trip exactly as bigint, smaller ones stay numbers (was: avsc threw)', (t) => {
  const record = parseSchema(
    {
      type: 'record',
      name: 'Longs',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'ids', type: { type: 'array', items: { type: 'long' } } },
        { name: 'far', type: { type: 'long', logicalType: 'timestamp-micros' } },
      ],
    },
    'longs',
  );
  const value = {
    id: 2n ** 62n + 1n,
    ids: [1, -(2n ** 63n), 2n ** 63n - 1n],
    far: 9_000_000_000_000_000_000n,
  };
  t.deepEqual({ ...(record.fromBuffer(record.toBuffer(value)) as object) }, value);
  t.deepEqual((record.fromBuffer(record.toBuffer({ ...value, id: 42 })) as { id: unknown }).id, 42);
  t.false(record.isValid({ ...value, id: 2n ** 63n }), 'beyond 64 bits');
  t.false(record.isValid({ ...value, id: 2 ** 60 }), 'an inexact number');
});

const times = parseSchema(
  {
    type: 'record',
    name: 'Times',
    fields: [
      { name: 'ms', type: { type: 'int', logicalType: 'time-millis' } },
      { name: 'us', type: { type: 'long', logicalType: 'time-micros' } },
      { name: 'local_ms', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
      { name: 'local_us', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
    ],
  },
  'times',
);
const someTimes = {
  ms: '13:14:15.016',
  us: '13:14:15.016017',
  local_ms: '2026-03-29T02:30:00.001',
  local_us: '2026-03-29T02:30:00.000001',
};
const timesRoundTrip = (value: object) =>
  ({ ...(times.fromBuffer(times.toBuffer(value)) as object) }) as Record<string, unknown>;

test('times of day and local timestamps round-trip as zone-less text, every digit kept', (t) => {
  t.deepEqual(timesRoundTrip(someTimes), someTimes, 'a wall-clock time that a DST gap skips is still kept');
  for (const [ms, us] of [
    ['00:00:00.000', '00:00:00.000000'],
    ['23:59:59.999', '23:59:59.999999'],
  ]) {
    t.like(timesRoundTrip({ ...someTimes, ms, us }), { ms, us });
  }
  // Fewer fraction digits are padded, as decimals are.
  t.like(timesRoundTrip({ ...someTimes, ms: '01:02:03', us: '01:02:03.5' }), {
    ms: '01:02:03.000',
    us: '01:02:03.500000',
  });
  for (const [local_ms, local_us] of [
    ['0001-01-01T00:00:00.000', '0001-01-01T00:00:00.000000'],
    ['9999-12-31T23:59:59.999', '9999-12-31T23:59:59.999999'],
    ['1969-12-31T23:59:59.999', '1969-12-31T23:59:59.999999'],
    ['0050-06-15T12:00:00.000', '0099-02-28T00:00:00.000001'],
  ]) {
    t.like(timesRoundTrip({ ...someTimes, local_ms, local_us }), { local_ms, local_us }, local_us);
  }
  // The encoded values are what the Avro spec says: units since midnight, and since 1970-01-01T00:00 local.
  const encoded = parseSchema(
    {
      type: 'record',
      name: 'Times',
      fields: [
        { name: 'ms', type: 'int' },
        { name: 'us', type: 'long' },
        { name: 'local_ms', type: 'long' },
        { name: 'local_us', type: 'long' },
      ],
    },
    'plain',
  ).fromBuffer(
    times.toBuffer({
      ms: '00:00:01.002',
      us: '00:00:00.000003',
      local_ms: '1970-01-01T00:00:00.004',
      local_us: '1969-12-31T23:59:59.999999',
    }),
  ) as Record<string, unknown>;
  t.deepEqual({ ...encoded }, { ms: 1002, us: 3, local_ms: 4, local_us: -1 });
});

test('times and local timestamps that do not exist, or need rounding, are refused', (t) => {
  for (const ms of ['24:00:00.000', '12:60:00', '12:00:60', '1:00:00', '12:00:00.0001', '12:00', 12]) {
    t.false(times.isValid({ ...someTimes, ms }), String(ms));
  }
  t.false(times.isValid({ ...someTimes, us: '12:00:00.0000001' }));
  for (const local_ms of [
    '2026-02-29T00:00:00',
    '0000-01-01T00:00:00',
    '2026-01-01 00:00:00',
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00.0001',
    '10000-01-01T00:00:00',
  ]) {
    t.false(times.isValid({ ...someTimes, local_ms }), local_ms);
  }
});

test('a time of day or local timestamp out of range does not decode (a dead letter, never a wrong row)', (t) => {
  const plain = (type: string, value: number | bigint) =>
    avro.Type.forSchema(type as avro.Schema).toBuffer(value as never);
  const timeMillis = avro.Type.forSchema({ type: 'int', logicalType: 'time-millis' }, { logicalTypes });
  t.throws(() => timeMillis.fromBuffer(plain('int', 86_400_000)), { message: /out of range/ });
  t.throws(() => timeMillis.fromBuffer(plain('int', -1)), { message: /out of range/ });
  const local = parseSchema(
    {
      type: 'record',
      name: 'L',
      fields: [{ name: 'at', type: { type: 'long', logicalType: 'local-timestamp-millis' } }],
    },
    'l',
  );
  const far = parseSchema({ type: 'record', name: 'L', fields: [{ name: 'at', type: 'long' }] }, 'far');
  t.throws(() => local.fromBuffer(far.toBuffer({ at: 253_402_300_800_000 })), { message: /years 1–9999/ });
});
