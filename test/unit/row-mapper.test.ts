import test from 'ava';
import { PoisonMessageError } from '../../src/errors.ts';
import { byteaText, jsonText, microsText, millisText } from '../../src/sink/pg-text.ts';
import { createRowMapper } from '../../src/sink/row-mapper.ts';
import { allTypesEntry } from '../support/all-types.ts';

const entry = allTypesEntry();
const meta = { partition: 2, offset: '41', timestamp: '1767225600123' };

function sample(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '0b3f2a51-2f6c-4c4e-9a57-4d3c4ab1e001',
    flag: true,
    small: -7,
    big: 4_503_599_627_370_496,
    single: 0.5,
    double: -1.25e-10,
    label: 'tab\there\nnew line \\ backslash',
    colour: 'GREEN',
    raw: Buffer.from([0, 1, 254, 255]),
    four: Buffer.from('abcd'),
    amount: '-1234567.891',
    fixed_amount: '123456789',
    at_ms: new Date('2026-01-01T00:00:00.123Z'),
    at_us: 1_767_225_600_123_456n,
    day: '2026-02-28',
    nested: {
      when_us: 1_767_225_600_000_001n,
      when_ms: new Date('2020-05-06T07:08:09.010Z'),
      price: '12.50',
      blob: Buffer.from([1, 2]),
    },
    list: [1, 2, 3],
    tags: { a: 'x', 'b"c': 'y' },
    maybe_text: null,
    maybe_day: '1969-12-31',
    maybe_amount: '0.001',
    text_or_long: 42,
    text_or_number: 'text',
    maybe_us_last: null,
    time_ms: '23:59:59.999',
    time_us: '00:00:00.000001',
    local_ms: '0001-01-01T00:00:00.000',
    local_us: '9999-12-31T23:59:59.999999',
    either_record: { 'test.Right': { r: Buffer.from([0xff]) } },
    deep: { d2: { d3: { at: '1969-12-31T23:59:59.999999', time: '12:00:00.500', x: 0.1 } } },
    ...overrides,
  };
}

/** Through avsc and back: the values the consumer's decoder hands over (unions unwrapped by default). */
function decoded(value: Record<string, unknown>): Record<string, unknown> {
  const type = entry.reader.type;
  return type.fromBuffer(type.toBuffer(value)) as Record<string, unknown>;
}

test('a decoded value becomes PostgreSQL text per column, metadata last', (t) => {
  const mapper = createRowMapper(entry);
  const row = mapper.toRow(decoded(sample()), meta);
  const byName = Object.fromEntries(mapper.columns.map((c, i) => [c.name, row[i]]));
  t.deepEqual(byName, {
    id: '0b3f2a51-2f6c-4c4e-9a57-4d3c4ab1e001',
    flag: 't',
    small: '-7',
    big: '4503599627370496',
    single: '0.5',
    double: '-1.25e-10',
    label: 'tab\there\nnew line \\ backslash',
    colour: 'GREEN',
    raw: '\\x0001feff',
    four: '\\x61626364',
    amount: '-1234567.891',
    fixed_amount: '123456789',
    at_ms: '2026-01-01T00:00:00.123Z',
    at_us: '2026-01-01T00:00:00.123456Z',
    day: '2026-02-28',
    nested:
      '{"when_us":1767225600000001,"when_ms":"2020-05-06T07:08:09.010Z","price":"12.50","blob":"\\\\x0102"}',
    list: '[1,2,3]',
    tags: '{"a":"x","b\\"c":"y"}',
    maybe_text: null,
    maybe_day: '1969-12-31',
    maybe_amount: '0.001',
    text_or_long: '42',
    text_or_number: '"text"',
    maybe_us_last: null,
    time_ms: '23:59:59.999',
    time_us: '00:00:00.000001',
    local_ms: '0001-01-01T00:00:00.000',
    local_us: '9999-12-31T23:59:59.999999',
    either_record: '{"test.Right":{"r":"\\\\xff"}}',
    deep: '{"d2":{"d3":{"at":"1969-12-31T23:59:59.999999","time":"12:00:00.500","x":0.1}}}',
    _kafka_partition: '2',
    _kafka_offset: '41',
    _kafka_timestamp: '2026-01-01T00:00:00.123Z',
  });
});

test('avsc unwraps [null, X] unions by default: the mapper sees the bare value or null', (t) => {
  const value = decoded(sample({ maybe_text: 'here', maybe_us_last: 1n }));
  t.is(value.maybe_text, 'here');
  t.is(value.maybe_us_last, 1n);
  const mapper = createRowMapper(entry);
  const row = mapper.toRow(value, meta);
  t.is(row[mapper.columns.findIndex((c) => c.name === 'maybe_text')], 'here');
  t.is(row[mapper.columns.findIndex((c) => c.name === 'maybe_us_last')], '1970-01-01T00:00:00.000001Z');
});

test('timestamp-micros keeps every microsecond, before 1970 and far from it too', (t) => {
  t.is(microsText(0n), '1970-01-01T00:00:00.000000Z');
  t.is(microsText(1n), '1970-01-01T00:00:00.000001Z');
  t.is(microsText(-1n), '1969-12-31T23:59:59.999999Z');
  t.is(microsText(1_767_225_600_123_456n), '2026-01-01T00:00:00.123456Z');
  t.is(microsText(9_007_199_254_740_991n), '2255-06-05T23:47:34.740991Z', '2^53 - 1 µs');
  t.is(microsText(253_402_300_800_000_000n), '10000-01-01 00:00:00.000000+00');
  t.is(microsText(-62_135_596_800_000_001n), '0001-12-31 23:59:59.999999+00 BC');
  t.is(millisText(new Date(-1)), '1969-12-31T23:59:59.999Z');
  t.is(millisText(new Date(-62_135_596_800_001)), '0001-12-31 23:59:59.999000+00 BC');
  t.is(microsText(1_767_225_600_999_999n), '2026-01-01T00:00:00.999999Z', 'the cached second is reused');
  t.is(microsText(1_767_225_601_000_000n), '2026-01-01T00:00:01.000000Z', 'and replaced at the next second');
  t.throws(() => millisText(new Date(Number.NaN)), { instanceOf: PoisonMessageError });
});

test('nested JSON never throws on bigint and keeps its digits; Dates become ISO strings', (t) => {
  t.is(jsonText({ big: 12_345_678_901_234_567_890n }), '{"big":12345678901234567890}');
  t.is(jsonText([new Date(0), null, undefined, true]), '["1970-01-01T00:00:00.000Z",null,null,true]');
  t.is(jsonText({ skip: undefined, n: Number.NaN, inf: -Infinity }), '{"n":"NaN","inf":"-Infinity"}');
  t.is(jsonText('quote " and \u2028'), JSON.stringify('quote " and \u2028'));
  t.deepEqual(JSON.parse(jsonText({ a: [{ b: 1n }] })), { a: [{ b: 1 }] });
  t.is(byteaText(new Uint8Array([255, 0])), '\\xff00');
});

test('values that cannot be a row are PoisonMessageError naming the field', (t) => {
  const mapper = createRowMapper(entry);
  const missing = t.throws(() => mapper.toRow(sample({ label: null }), meta), {
    instanceOf: PoisonMessageError,
  });
  t.is(missing.code, 'ROW_REJECTED');
  t.regex(missing.message, /field label is required/);
  const wrong = t.throws(() => mapper.toRow(sample({ at_us: 5 }), meta), { instanceOf: PoisonMessageError });
  t.regex(wrong.message, /field at_us: expected a bigint of microseconds, got number/);
  t.throws(() => mapper.toRow(sample({ small: 1.5 }), meta), { message: /field small: expected an integer/ });
});

test('keys and versions for the in-batch dedupe', (t) => {
  const mapper = createRowMapper(allTypesEntry('upsert'));
  const row = mapper.toRow(sample({ id: '0B3F2A51-2F6C-4C4E-9A57-4D3C4AB1E001' }), meta);
  t.is(mapper.keyOf(row), '0b3f2a51-2f6c-4c4e-9a57-4d3c4ab1e001', 'uuid keys compare case-insensitively');
  t.is(mapper.keyFromMessageKey(Buffer.from('0B3F2A51-2F6C-4C4E-9A57-4D3C4AB1E001')), mapper.keyOf(row));
  t.is(mapper.versionOf(sample({ big: 17 })), 17n);
});

test('a nested long beyond 2^53 is written with all its digits (was: TypeError from the JSON fast path, the consumer stopped)', (t) => {
  const mapper = createRowMapper(entry);
  const value = decoded(sample({ list: [2n ** 63n - 1n, -(2n ** 63n), 1], text_or_long: 2n ** 60n }));
  const row = mapper.toRow(value, meta);
  const column = (name: string) => row[mapper.columns.findIndex((c) => c.name === name)];
  t.is(column('list'), '[9223372036854775807,-9223372036854775808,1]');
  t.is(column('text_or_long'), '1152921504606846976');
  const nested = { when_us: 2n ** 62n, when_ms: new Date(0), price: '1.00', blob: Buffer.from([]) };
  t.regex(column('nested') ?? '', /^\{"when_us":1767225600000001/, 'plain nested record unchanged');
  t.is(JSON.parse(jsonText(nested)).when_us, 2 ** 62);
});

test('days past 9999 and before year 1 are written as PostgreSQL reads them (was: 22009 time zone displacement out of range)', (t) => {
  const mapper = createRowMapper(entry);
  const day = (iso: string) => {
    const row = mapper.toRow(sample({ day: iso }), meta);
    return row[mapper.columns.findIndex((c) => c.name === 'day')];
  };
  t.is(day('+010000-01-01'), '10000-01-01');
  t.is(day('+5874897-12-31'), '5874897-12-31');
  t.is(day('0000-12-31'), '0001-12-31 BC');
  t.is(day('-004713-11-24'), '4714-11-24 BC');
  t.throws(() => day('+5874898-01-01'), {
    instanceOf: PoisonMessageError,
    message: /field day: date \+5874898-01-01 is outside what PostgreSQL's date holds/,
  });
  t.throws(() => day('-004713-11-23'), { instanceOf: PoisonMessageError, message: /field day: .*outside/ });
  // Every int of days decodes, exactly, to the ISO text (expanded beyond 9999).
  const dayType = (entry.reader.type as import('avsc').types.RecordType).fields.find(
    (f) => f.name === 'day',
  )!.type;
  const intType = (dayType as import('avsc').types.LogicalType).underlyingType;
  t.is(dayType.fromBuffer(intType.toBuffer(2_932_897)), '+010000-01-01');
  t.is(dayType.fromBuffer(intType.toBuffer(-719_529)), '-000001-12-31');
  t.is(dayType.fromBuffer(intType.toBuffer(2 ** 31 - 1)), '+5881580-07-11');
  t.is(dayType.fromBuffer(intType.toBuffer(-(2 ** 31))), '-5877641-06-23');
  t.is(dayType.toBuffer('+010000-01-01').compare(intType.toBuffer(2_932_897)), 0, 'and encodes back');
});

test('instants over timestamptz\'s whole range are written exactly (was: "outside any calendar" for values PostgreSQL holds)', (t) => {
  t.is(microsText(2n ** 63n - 1n), '294247-01-10 04:00:54.775807+00');
  t.is(microsText(-210_866_803_200_000_000n), '4714-11-24 00:00:00.000000+00 BC');
  t.is(microsText(8_640_000_000_000_000_001n), '275760-09-13 00:00:00.000001+00');
  t.throws(() => microsText(-210_866_803_200_000_001n), {
    instanceOf: PoisonMessageError,
    message: /outside what PostgreSQL's timestamptz holds/,
  });
  t.is(millisText(new Date(8.64e15)), '275760-09-13 00:00:00.000000+00');
  t.is(millisText(new Date(-210_866_803_200_000)), '4714-11-24 00:00:00.000000+00 BC');
  t.throws(() => millisText(new Date(-210_866_803_200_001)), { instanceOf: PoisonMessageError });
  const mapper = createRowMapper(entry);
  t.throws(() => mapper.toRow(sample({ at_us: -(2n ** 63n) }), meta), {
    message: /^field at_us: timestamp -9223372036854775808 µs since 1970 is outside/,
  });
});

test('every cause names the field and what was wrong, whatever the converter threw (was: "Cannot convert undefined to a BigInt")', (t) => {
  const mapper = createRowMapper(entry);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ nested: { bad: Symbol('s') } }, /^field nested: at \["bad"\]: a symbol cannot be written as JSON$/],
    [
      { nested: { when_us: 1n, when_ms: new Date(Number.NaN), price: '1.00', blob: Buffer.from([]) } },
      /^field nested: at \["when_ms"\]: an invalid Date cannot be written as JSON$/,
    ],
    [{ day: 'soon' }, /^field day: "soon" is not an ISO date$/],
    [{ at_ms: new Date(Number.NaN) }, /^field at_ms: timestamp is an invalid Date$/],
    [{ raw: 'text' }, /^field raw: expected bytes, got string$/],
  ];
  for (const [override, cause] of cases) {
    const error = t.throws(() => mapper.toRow(sample(override), meta), { instanceOf: PoisonMessageError });
    t.regex(error.message, cause);
    t.is(error.code, 'ROW_REJECTED');
  }
  t.throws(() => mapper.toRow(sample(), { ...meta, timestamp: 'x' }), {
    message: /^the message's Kafka timestamp: /,
    instanceOf: PoisonMessageError,
  });
  const upsert = createRowMapper(allTypesEntry('upsert'));
  t.throws(() => upsert.versionOf(sample({ big: 'x' })), {
    message: /^version field big: expected an integer/,
    instanceOf: PoisonMessageError,
  });
});

test('a negative zero keeps its sign in real and double precision columns', (t) => {
  const mapper = createRowMapper(entry);
  const row = mapper.toRow(sample({ single: -0, double: -0 }), meta);
  t.is(row[mapper.columns.findIndex((c) => c.name === 'single')], '-0');
  t.is(row[mapper.columns.findIndex((c) => c.name === 'double')], '-0');
});
