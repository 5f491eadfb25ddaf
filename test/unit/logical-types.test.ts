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
