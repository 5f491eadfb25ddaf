/**
 * The reference binary COPY encoder (src/sink/copy-binary.ts), byte for byte: every text form the row mapper
 * writes for each column kind (pg-text.ts, logical-types.ts), with the bytes PostgreSQL's own `*_send`
 * returns for the same text; what the mapper never writes is INVARIANT_BROKEN, never guessed at.
 */
import test from 'ava';
import { PipelineError, PoisonMessageError } from '../../src/errors.ts';
import {
  appendBinaryRow,
  type BinaryColumnType,
  binaryColumnType,
  binaryFieldEncoder,
  COPY_BINARY_HEADER,
  COPY_BINARY_TRAILER,
  encodeBinaryValue,
} from '../../src/sink/copy-binary.ts';
import { CopyBuffer } from '../../src/sink/copy-buffer.ts';
import { epochMillisText, microsText } from '../../src/sink/pg-text.ts';
import { seeded } from '../support/seeded-random.ts';

const hex = (b: Buffer) => b.toString('hex');

/**
 * Text as the row mapper writes it → `encode(<type>_send('<text>'::<type>), 'hex')` in PostgreSQL 18 (the
 * session time zone set to Asia/Kolkata, so that a zone read from the session would show).
 */
const SEND: [BinaryColumnType, string, string][] = [
  ['bool', 't', '01'],
  ['bool', 'f', '00'],
  ['int4', '0', '00000000'],
  ['int4', '-1', 'ffffffff'],
  ['int4', '2147483647', '7fffffff'],
  ['int4', '-2147483648', '80000000'],
  ['int8', '9223372036854775807', '7fffffffffffffff'],
  ['int8', '-9223372036854775808', '8000000000000000'],
  ['int8', '9007199254740993', '0020000000000001'],
  ['float4', '1.5', '3fc00000'],
  ['float4', '-0', '80000000'],
  ['float4', '0', '00000000'],
  ['float4', 'NaN', '7fc00000'],
  ['float4', 'Infinity', '7f800000'],
  ['float4', '-Infinity', 'ff800000'],
  ['float4', '0.10000000149011612', '3dcccccd'],
  ['float4', '3.4028234663852886e+38', '7f7fffff'],
  ['float4', '1.401298464324817e-45', '00000001'],
  ['float4', '-3.4028234663852886e+38', 'ff7fffff'],
  ['float4', '18014399583223810', '5a800001'],
  ['float4', '18014406025674750', '5a800003'],
  ['float4', '-18014399583223810', 'da800001'],
  ['float4', '16777217', '4b800000'],
  // Halfway doubles whose decimal is not: float4in rounds the decimal (Math.fround would give 1, Infinity).
  ['float4', '1.0000000596046448', '3f800001'],
  ['float4', '-1.0000000596046448', 'bf800001'],
  ['float4', '3.4028235677973366e+38', '7f7fffff'],
  ['float4', '3.4028235677973362e+38', '7f7fffff'],
  ['float4', '7.006492321624087e-46', '00000001'],
  ['float4', '1152921573326323700', '5d800000'],
  ['float4', '9223372036854776000', '5f000000'],
  ['float8', '-0', '8000000000000000'],
  ['float8', '5e-324', '0000000000000001'],
  ['float8', '1.7976931348623157e+308', '7fefffffffffffff'],
  ['float8', '0.1', '3fb999999999999a'],
  ['float8', 'NaN', '7ff8000000000000'],
  ['float8', '-Infinity', 'fff0000000000000'],
  ['float8', '1e+21', '444b1ae4d6e2ef50'],
  ['float8', '-1.5e-7', 'be8421f5f40d8376'],
  ['text', '', ''],
  ['text', 'é😀\t', 'c3a9f09f988009'],
  ['bytea', '\\x', ''],
  ['bytea', '\\x00ff7f80', '00ff7f80'],
  ['uuid', '56ed8d24-0506-4130-a0ee-eca43b3f3ef1', '56ed8d2405064130a0eeeca43b3f3ef1'],
  ['uuid', '0B3F2A51-2F6C-4C4E-9A57-4D3C4AB1E001', '0b3f2a512f6c4c4e9a574d3c4ab1e001'],
  ['numeric', '0.000', '0000000000000003'],
  ['numeric', '0', '0000000000000000'],
  ['numeric', '-0.01', '0001ffff400000020064'],
  ['numeric', '12345.6789', '0003000100000004000109291a85'],
  ['numeric', '-1234.50', '000200004000000204d21388'],
  ['numeric', '10000', '00010001000000000001'],
  [
    'numeric',
    '99999999999999999999999999999999999999',
    '000a0009000000000063270f270f270f270f270f270f270f270f270f',
  ],
  ['numeric', '-0.00001', '0001fffe4000000503e8'],
  ['numeric', 'NaN', '00000000c0000000'],
  ['numeric', '100000000.00000001', '000500020000000800010000000000000001'],
  ['numeric', '-99990000', '0001000140000000270f'],
  ['date', '2000-01-01', '00000000'],
  ['date', '0001-01-01', 'fff4dbf9'],
  ['date', '0001-12-31 BC', 'fff4dbf8'],
  ['date', '4714-11-24 BC', 'ffda97a7'],
  ['date', '5874897-12-31', '7fda970c'],
  ['date', '10000-01-01', '002c95d4'],
  ['date', '2024-02-29', '00002279'],
  ['date', '1999-12-31', 'ffffffff'],
  ['time', '00:00:00.000', '0000000000000000'],
  ['time', '23:59:59.999999', '000000141dd75fff'],
  ['time', '12:34:56.789', '0000000a8be62608'],
  ['timestamp', '0001-01-01T00:00:00.000', 'ff1fe2ffc59c6000'],
  ['timestamp', '9999-12-31T23:59:59.999999', '0380e70b913b7fff'],
  ['timestamp', '1969-12-31T23:59:59.999', 'fffca2fec4c81c18'],
  ['timestamp', '0099-03-01T12:00:00.000', 'ff2ae46120f7f000'],
  ['timestamptz', '2026-11-05T07:21:11.245294Z', '000302811bd705ee'],
  ['timestamptz', '2000-01-01T00:00:00.000Z', '0000000000000000'],
  ['timestamptz', '0001-01-01T00:00:00.000Z', 'ff1fe2ffc59c6000'],
  ['timestamptz', '9999-12-31T23:59:59.999999Z', '0380e70b913b7fff'],
  ['timestamptz', '4714-11-24 00:00:00.000000+00 BC', 'fd0f7cc1411fa000'],
  ['timestamptz', '0001-12-31 23:59:59.999999+00 BC', 'ff1fe2ffc59c5fff'],
  ['timestamptz', '10000-01-01 00:00:00.000000+00', '0380e70b913b8000'],
  ['timestamptz', '294276-12-31 23:59:59.999999+00', '7fffff5bb3b29fff'],
  ['timestamptz', '0050-06-15T01:02:03.004Z', 'ff256e52153c2860'],
];

for (const [type, text, expected] of SEND) {
  test(`${type} ${JSON.stringify(text)} is PostgreSQL's ${type}_send of that text`, (t) => {
    t.is(hex(encodeBinaryValue(type, text)), expected);
  });
}

test('numeric of a thousand digits: 250 base-10000 digits, weight and display scale as numeric_send writes them', (t) => {
  const nines = encodeBinaryValue('numeric', '9'.repeat(1000));
  t.is(hex(nines.subarray(0, 8)), '00fa00f900000000');
  t.is(hex(nines.subarray(8)), '270f'.repeat(250));
  // 0.000…1 with a thousand fraction digits: one digit 1000 at weight -250, dscale 1000.
  t.is(hex(encodeBinaryValue('numeric', `0.${'0'.repeat(999)}1`)), '0001ff06000003e80001');
  const mixed = encodeBinaryValue('numeric', `-${'1'.repeat(500)}.${'2'.repeat(500)}`);
  t.is(hex(mixed.subarray(0, 8)), '00fa007c400001f4');
  t.is(hex(mixed.subarray(8)), `${'0457'.repeat(125)}${'08ae'.repeat(125)}`);
});

test('the header is PostgreSQL signature, flags 0 and no extension; the trailer is -1', (t) => {
  t.is(
    hex(COPY_BINARY_HEADER),
    `${Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1').toString('hex')}0000000000000000`,
  );
  t.is(hex(COPY_BINARY_TRAILER), 'ffff');
});

test('jsonb is a version byte 1 before the JSON text as written, json and text its UTF-8', (t) => {
  t.is(hex(encodeBinaryValue('jsonb', '{"a":1}')), `01${Buffer.from('{"a":1}').toString('hex')}`);
  t.is(
    hex(encodeBinaryValue('jsonb', '{"é😀":"\\u0001"}')),
    `01${Buffer.from('{"é😀":"\\u0001"}').toString('hex')}`,
  );
  t.is(hex(encodeBinaryValue('json', '[]')), '5b5d');
  t.is(hex(encodeBinaryValue('text', '\\N')), '5c4e');
});

test('a field is its int32 length then its bytes, NULL the length -1; a tuple starts with its field count', (t) => {
  const out = new CopyBuffer(0);
  const encoders = ['integer', 'text', 'boolean', 'jsonb', 'numeric(5,2)'].map(binaryFieldEncoder);
  const slice = appendBinaryRow(out, encoders, ['1', null, 't', '{}', '-1.50']);
  t.is(
    hex(slice.buffer.subarray(slice.start, slice.end)),
    '0005' +
      '00000004' +
      '00000001' +
      'ffffffff' +
      '00000001' +
      '01' +
      '00000003' +
      '017b7d' +
      '0000000c' +
      '0002' +
      '0000' +
      '4000' +
      '0002' +
      '0001' +
      '1388',
  );
  // An empty text is a field of length 0, not NULL.
  const empty = appendBinaryRow(out, [binaryFieldEncoder('text')], ['']);
  t.is(hex(empty.buffer.subarray(empty.start, empty.end)), '000100000000');
});

test('rows across slabs: each tuple is whole in its slice, the ones handed out before stay as they were', (t) => {
  const out = new CopyBuffer(16);
  const encoders = [binaryFieldEncoder('text'), binaryFieldEncoder('bigint')];
  const slices = [];
  for (let i = 0; i < 200; i++) slices.push(appendBinaryRow(out, encoders, ['x'.repeat(i * 37), String(i)]));
  for (let i = 0; i < 200; i++) {
    const s = slices[i]!;
    const bytes = s.buffer.subarray(s.start, s.end);
    t.is(bytes.readInt16BE(0), 2);
    t.is(bytes.readInt32BE(2), i * 37);
    t.is(bytes.readBigInt64BE(6 + i * 37 + 4), BigInt(i));
    t.is(bytes.length, 2 + 4 + i * 37 + 4 + 8);
  }
});

test('a row that cannot be written leaves nothing of its tuple in the buffer, and names what is wrong', (t) => {
  const out = new CopyBuffer(0);
  const encoders = ['bigint', 'text', 'uuid'].map(binaryFieldEncoder);
  const before = appendBinaryRow(out, encoders, ['1', 'a', '56ed8d24-0506-4130-a0ee-eca43b3f3ef1']);
  const error = t.throws(() => appendBinaryRow(out, encoders, ['2', 'b', 'not-a-uuid']), {
    instanceOf: PipelineError,
  });
  t.is(error?.code, 'INVARIANT_BROKEN');
  t.regex(error?.message ?? '', /"not-a-uuid" is not a UUID/);
  t.is(out.pos, before.end);
  t.throws(() => appendBinaryRow(out, encoders, ['1', '2']), { message: /a row of 2 fields for 3 columns/ });
});

/** Texts the row mapper never writes for the type (PostgreSQL would read some of them; the mapper never writes them). */
const NEVER: [BinaryColumnType, string][] = [
  ['bool', 'true'],
  ['bool', ''],
  ['int4', ''],
  ['int4', ' 1'],
  ['int4', '1.0'],
  ['int4', '2147483648'],
  ['int4', '-2147483649'],
  ['int8', '9223372036854775808'],
  ['int8', '+1'],
  ['int8', ''],
  ['float4', '1e39'],
  ['float4', '1e-50'],
  // Halfway between 0 and the least float, below it: strtof gives 0, which float4in refuses.
  ['float4', '7.006492321624085e-46'],
  ['float4', 'nan'],
  ['float4', ''],
  ['float4', '.5'],
  ['float8', '1e400'],
  ['float8', '1e-400'],
  ['float8', 'inf'],
  ['float8', '0x10'],
  ['bytea', '\\x0'],
  ['bytea', '\\xzz'],
  ['bytea', '00ff'],
  ['uuid', '56ed8d2405064130a0eeeca43b3f3ef1'],
  ['uuid', '{56ed8d24-0506-4130-a0ee-eca43b3f3ef1}'],
  ['uuid', '56ed8d24-0506-4130-a0ee-eca43b3f3ef'],
  ['numeric', ''],
  ['numeric', '.5'],
  ['numeric', '5.'],
  ['numeric', '1e5'],
  ['numeric', '+1'],
  ['numeric', '-'],
  ['date', '2026-02-30'],
  ['date', '2025-02-29'],
  ['date', '2026-13-01'],
  ['date', '0000-01-01'],
  ['date', '4714-11-23 BC'],
  ['date', '5874898-01-01'],
  ['date', '+010000-01-01'],
  ['date', '26-01-01'],
  ['time', '24:00:00'],
  ['time', '12:60:00'],
  ['time', '12:00:00.1234567'],
  ['time', '12:00'],
  ['timestamp', '2000-01-01T00:00:00Z'],
  ['timestamp', '2000-01-01T24:00:00'],
  ['timestamp', '2000-02-30T00:00:00'],
  ['timestamptz', '2000-01-01T00:00:00'],
  ['timestamptz', '2000-01-01T00:00:00+01'],
  ['timestamptz', '2000-01-01T00:00:00-00'],
  ['timestamptz', '4714-11-23 23:59:59.999999+00 BC'],
  ['timestamptz', '294277-01-01 00:00:00.000000+00'],
  ['timestamptz', '+010000-01-01T00:00:00.000Z'],
];

/**
 * Texts of a value outside its type's range, which PostgreSQL refuses in COPY text too: a row refused
 * (ROW_REJECTED, a dead letter), not a defect (a value handed over as decoded can hold them).
 */
const OUT_OF_RANGE = new Set([
  'int4 2147483648',
  'int4 -2147483649',
  'int8 9223372036854775808',
  'float4 1e-50',
  'float4 7.006492321624085e-46',
  'float8 1e-400',
  'date 4714-11-23 BC',
  'date 5874898-01-01',
  'time 24:00:00',
  'time 12:60:00',
  'timestamp 2000-01-01T24:00:00',
  'timestamptz 4714-11-23 23:59:59.999999+00 BC',
  'timestamptz 294277-01-01 00:00:00.000000+00',
]);

test('a text the row mapper never writes is INVARIANT_BROKEN naming the text; a value outside its type is a refused row (ROW_REJECTED)', (t) => {
  for (const [type, text] of NEVER) {
    const error = t.throws(
      () => encodeBinaryValue(type, text),
      { instanceOf: PipelineError },
      `${type} ${text}`,
    );
    const range = OUT_OF_RANGE.has(`${type} ${text}`);
    t.is(error?.code, range ? 'ROW_REJECTED' : 'INVARIANT_BROKEN', `${type} ${text}`);
    t.is(error instanceof PoisonMessageError, range, `${type} ${text}`);
    t.true(error?.message.includes(JSON.stringify(text)), error?.message);
  }
});

/** The float32 nearest an exact integer, ties to even: what strtof makes of the integer's digits. */
function float32OfInteger(n: bigint): number {
  const negative = n < 0n;
  const magnitude = negative ? -n : n;
  const shift = BigInt(Math.max(0, magnitude.toString(2).length - 24));
  let kept = magnitude >> shift;
  const rest = magnitude - (kept << shift);
  const half = shift === 0n ? 0n : 1n << (shift - 1n);
  if (rest > half || (rest === half && (kept & 1n) === 1n)) kept += 1n;
  const value = Number(kept << shift);
  return negative ? -value : value;
}

test('real from an Avro long past 2^53 is the float PostgreSQL reads from the text (was: rounded twice through a double)', (t) => {
  // A long read as float decodes to the nearest double; the mapper writes String() of it, fewer digits
  // than the double when the long is past 2^53. float4in rounds those digits straight to a float;
  // Math.fround of the double rounds twice, and where the double is halfway between two floats the two
  // disagree (18014399583223810: text 0x5a800001, twice-rounded 0x5a800000).
  const r = seeded(9);
  let halfway = 0;
  let disagreedWithFround = 0;
  for (let i = 0; i < 20_000; i++) {
    const exponent = 54 + r.int(9);
    // Mostly exact halfway points between two floats, some anywhere.
    const step = 1n << BigInt(exponent - 24);
    const n =
      (1n << BigInt(exponent)) +
      (r.next() < 0.8 ? BigInt(2 * r.int(1 << 20) + 1) * step : BigInt(r.int(2 ** 30)) * 1024n);
    const signed = r.next() < 0.3 ? -n : n;
    const text = String(Number(signed));
    const expected = float32OfInteger(BigInt(text));
    const ours = encodeBinaryValue('float4', text).readFloatBE(0);
    if (!Object.is(ours, expected)) {
      t.fail(`${signed}: text ${text} → ${expected}, encoded ${ours}`);
      return;
    }
    if (Math.fround(Number(text)) !== Number(text)) halfway++;
    if (Math.fround(Number(text)) !== expected) disagreedWithFround++;
  }
  t.log(`${disagreedWithFround} of ${halfway} inexact texts would have been wrong through Math.fround`);
  t.true(disagreedWithFround > 1000, `only ${disagreedWithFround} cases where rounding twice differs`);
});

test('real of every float value the mapper writes from an Avro float is that float', (t) => {
  const r = seeded(3);
  const view = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < 20_000; i++) {
    view.setUint32(0, r.int(2 ** 32));
    const f = view.getFloat32(0);
    const text = Object.is(f, -0) ? '-0' : String(f);
    const ours = encodeBinaryValue('float4', text);
    if (Number.isNaN(f)) t.is(hex(ours), '7fc00000');
    else if (ours.readUInt32BE(0) !== view.getUint32(0)) {
      t.fail(`${text}: ${hex(ours)} for ${view.getUint32(0).toString(16)}`);
      return;
    }
  }
  t.pass();
});

test('column types map from format_type() spellings; an unknown one is refused by name', (t) => {
  t.is(binaryColumnType('numeric(14,2)'), 'numeric');
  t.is(binaryColumnType('numeric'), 'numeric');
  t.is(binaryColumnType('timestamp with time zone'), 'timestamptz');
  t.is(binaryColumnType('timestamp without time zone'), 'timestamp');
  t.is(binaryColumnType('time without time zone'), 'time');
  t.is(binaryColumnType('double precision'), 'float8');
  t.throws(() => binaryColumnType('interval'), { message: /"interval"/ });
  t.throws(() => binaryFieldEncoder('interval'), { message: /"interval"/ });
});

test('timestamptz of every microsText and epochMillisText form is the instant, µs since 2000, exactly', (t) => {
  const r = seeded(11);
  const epoch2000 = 946_684_800_000_000n;
  const first = -210_866_803_200_000_000n;
  const last = 2n ** 63n - 1n; // the last µs an Avro long holds
  const draw = (lo: bigint, hi: bigint) => {
    let n = 0n;
    for (let i = 0; i < 3; i++) n = (n << 32n) | BigInt(r.int(2 ** 32));
    return lo + (n % (hi - lo + 1n));
  };
  const forms = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const micros =
      r.next() < 0.5 ? draw(first, last) : draw(-62_135_596_800_000_000n, 253_402_300_799_999_999n);
    const text = microsText(micros);
    forms.add(text.endsWith('Z') ? 'Z' : text.endsWith(' BC') ? 'BC' : '+00');
    const ours = encodeBinaryValue('timestamptz', text).readBigInt64BE(0);
    if (ours !== micros - epoch2000) {
      t.fail(`${micros} µs: ${text} → ${ours}`);
      return;
    }
    const ms = Number(micros / 1000n);
    if (ms >= -8.64e15 && ms <= 8.64e15) {
      const millis = epochMillisText(ms);
      t.is(
        encodeBinaryValue('timestamptz', millis).readBigInt64BE(0),
        BigInt(ms) * 1000n - epoch2000,
        millis,
      );
    }
  }
  t.deepEqual([...forms].sort(), ['+00', 'BC', 'Z']);
});

test('bigint of every length is its int64, by Numbers up to 15 digits and by BigInt beyond', (t) => {
  const r = seeded(5);
  for (let i = 0; i < 5000; i++) {
    let n = 0n;
    for (let k = r.int(18) + 1; k > 0; k--) n = n * 10n + BigInt(r.int(10));
    if (r.next() < 0.5) n = -n;
    t.is(encodeBinaryValue('int8', String(n)).readBigInt64BE(0), n);
  }
  for (const n of [
    2n ** 63n - 1n,
    -(2n ** 63n),
    999_999_999_999_999n,
    -999_999_999_999_999n,
    2n ** 32n,
    -(2n ** 32n),
  ])
    t.is(encodeBinaryValue('int8', String(n)).readBigInt64BE(0), n);
});
