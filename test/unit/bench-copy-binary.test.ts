import test from 'ava';
import {
  binaryColumnType,
  COPY_BINARY_HEADER,
  COPY_BINARY_TRAILER,
  copyBinaryStream,
  encodeBinaryTuple,
  encodeBinaryValue,
} from '../../bench/copy-binary.ts';

const hex = (b: Buffer) => b.toString('hex');

test('the header is PostgreSQL signature, flags 0 and no extension; the trailer is -1', (t) => {
  t.is(
    hex(COPY_BINARY_HEADER),
    `${Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1').toString('hex')}0000000000000000`,
  );
  t.is(hex(COPY_BINARY_TRAILER), 'ffff');
});

test('fixed-size types are big-endian in their send format', (t) => {
  t.is(hex(encodeBinaryValue('bool', 't')), '01');
  t.is(hex(encodeBinaryValue('bool', 'f')), '00');
  t.is(hex(encodeBinaryValue('int2', '-2')), 'fffe');
  t.is(hex(encodeBinaryValue('int4', '505794')), '0007b7c2');
  t.is(hex(encodeBinaryValue('int4', '-2147483648')), '80000000');
  t.is(hex(encodeBinaryValue('int8', '9223372036854775807')), '7fffffffffffffff');
  t.is(hex(encodeBinaryValue('int8', '-1')), 'ffffffffffffffff');
  t.is(hex(encodeBinaryValue('float8', '1.5')), '3ff8000000000000');
  t.is(hex(encodeBinaryValue('float8', '-Infinity')), 'fff0000000000000');
  t.is(hex(encodeBinaryValue('float4', '1.5')), '3fc00000');
});

test('dates and timestamps count from 2000-01-01 (days; µs), before it negative', (t) => {
  t.is(hex(encodeBinaryValue('date', '2000-01-01')), '00000000');
  t.is(hex(encodeBinaryValue('date', '2000-01-02')), '00000001');
  t.is(hex(encodeBinaryValue('date', '1999-12-31')), 'ffffffff');
  // 0001-01-01 is 730,119 days before 2000-01-01.
  t.is(encodeBinaryValue('date', '0001-01-01').readInt32BE(), -730_119);
  t.is(encodeBinaryValue('timestamptz', '2000-01-01T00:00:00Z').readBigInt64BE(), 0n);
  t.is(encodeBinaryValue('timestamptz', '2000-01-01T00:00:01.000002Z').readBigInt64BE(), 1_000_002n);
  t.is(encodeBinaryValue('timestamptz', '1999-12-31T23:59:59.999Z').readBigInt64BE(), -1000n);
  // timestamptz_send of the same value in PostgreSQL 18.
  t.is(hex(encodeBinaryValue('timestamptz', '2026-11-05T07:21:11.245294Z')), '000302811bd705ee');
  // 2026-11-05 is 9,805 days after 2000-01-01.
  t.is(
    encodeBinaryValue('timestamptz', '2026-11-05T07:21:11.245294Z').readBigInt64BE(),
    (9805n * 86_400n + 7n * 3600n + 21n * 60n + 11n) * 1_000_000n + 245_294n,
  );
  t.is(encodeBinaryValue('timestamp', '2000-01-01T00:00:00.5').readBigInt64BE(), 500_000n);
  t.is(encodeBinaryValue('time', '00:00:01.25').readBigInt64BE(), 1_250_000n);
  t.throws(() => encodeBinaryValue('timestamptz', '2000-01-01T00:00:00'), { message: /UTC timestamptz/ });
  t.throws(() => encodeBinaryValue('timestamp', '2000-01-01T00:00:00Z'), { message: /timestamp/ });
});

test('uuid is its 16 bytes, jsonb a version byte 1 before the text, text and json UTF-8', (t) => {
  t.is(
    hex(encodeBinaryValue('uuid', '56ed8d24-0506-4130-a0ee-eca43b3f3ef1')),
    '56ed8d2405064130a0eeeca43b3f3ef1',
  );
  t.throws(() => encodeBinaryValue('uuid', 'not-a-uuid'));
  t.is(hex(encodeBinaryValue('jsonb', '{"a":1}')), `01${Buffer.from('{"a":1}').toString('hex')}`);
  t.is(hex(encodeBinaryValue('json', '[]')), '5b5d');
  t.is(hex(encodeBinaryValue('text', 'é\t')), 'c3a909');
  t.is(hex(encodeBinaryValue('bytea', '\\x00ff')), '00ff');
});

test('numeric: base-10000 digits with weight, sign and display scale as numeric_send writes them', (t) => {
  // The bytes PostgreSQL 18's numeric_send returns for the same text: ndigits, weight, sign, dscale, digits.
  t.is(hex(encodeBinaryValue('numeric', '0')), '0000000000000000');
  t.is(hex(encodeBinaryValue('numeric', '0.00')), '0000000000000002');
  t.is(hex(encodeBinaryValue('numeric', '-0.01')), '0001ffff400000020064');
  t.is(hex(encodeBinaryValue('numeric', '12345.6789')), '0003000100000004000109291a85');
  t.is(hex(encodeBinaryValue('numeric', '10000')), '00010001000000000001');
  t.is(hex(encodeBinaryValue('numeric', '-1234.50')), '000200004000000204d21388');
  t.is(hex(encodeBinaryValue('numeric', 'NaN')), '00000000c0000000');
  t.throws(() => encodeBinaryValue('numeric', '1e5'), { message: /not a numeric/ });
});

test('a tuple is the field count, then each length (-1 for NULL) and value; a stream adds header and trailer', (t) => {
  const tuple = encodeBinaryTuple(['int4', 'text', 'bool'], ['1', null, 't']);
  t.is(hex(tuple), '0003' + '00000004' + '00000001' + 'ffffffff' + '00000001' + '01');
  t.is(
    hex(copyBinaryStream(['int4', 'text', 'bool'], [['1', null, 't']])),
    `${hex(COPY_BINARY_HEADER)}${hex(tuple)}ffff`,
  );
  t.throws(() => encodeBinaryTuple(['int4'], ['1', '2']), { message: /2 fields for 1 columns/ });
});

test('column types map from format_type() spellings; an unknown one is refused by name', (t) => {
  t.is(binaryColumnType('numeric(14,2)'), 'numeric');
  t.is(binaryColumnType('timestamp with time zone'), 'timestamptz');
  t.is(binaryColumnType('time without time zone'), 'time');
  t.throws(() => binaryColumnType('interval'), { message: /"interval"/ });
});
