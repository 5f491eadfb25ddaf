/**
 * PostgreSQL's binary COPY format, from a row's column texts: the reference of the binary write path. A row
 * the row mapper made (its columns' text, as COPY text carries them) becomes a binary tuple, so that
 * PostgreSQL receives int8/uuid/timestamptz/numeric/jsonb without parsing their text. The compiled
 * transcoder writes the same bytes straight from Avro (test/unit/transcoder-fuzz.test.ts holds it to these),
 * and the fields it does not compile are written by these encoders from their text.
 *
 * Each encoder reads exactly the texts the row mapper writes (src/sink/row-mapper.ts, pg-text.ts) and
 * writes what PostgreSQL would have made of that text in COPY text (test/integration/copy-binary.test.ts
 * loads both and compares); any other text is a defect upstream (INVARIANT_BROKEN), never guessed at.
 *
 * Format (PostgreSQL docs, "COPY … Binary Format"): the signature `PGCOPY\n\377\r\n\0`, a flags int32 and a
 * header-extension length int32 (both 0); per tuple an int16 field count, then per field an int32 length (-1:
 * NULL) and the type's `*_send` bytes; the trailer int16 -1. All integers are big-endian.
 */
import { daysFromCivil } from '../contracts/civil-date.ts';
import { PipelineError, PoisonMessageError } from '../errors.ts';
import { CopyBuffer, type CopySlice } from './copy-buffer.ts';
import type { SqlText } from './row-mapper.ts';

/** The binary encodings of the column types the sink creates (src/sink/column-types.ts). */
export type BinaryColumnType =
  | 'bool'
  | 'int2'
  | 'int4'
  | 'int8'
  | 'float4'
  | 'float8'
  | 'text'
  | 'bytea'
  | 'uuid'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'numeric'
  | 'json'
  | 'jsonb';

const BY_PG_TYPE: Record<string, BinaryColumnType> = {
  boolean: 'bool',
  smallint: 'int2',
  integer: 'int4',
  bigint: 'int8',
  real: 'float4',
  'double precision': 'float8',
  text: 'text',
  bytea: 'bytea',
  uuid: 'uuid',
  date: 'date',
  'time without time zone': 'time',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  json: 'json',
  jsonb: 'jsonb',
};

/** The binary encoding of a column from its `format_type()` spelling (`numeric(14,2)` → numeric). */
export function binaryColumnType(pgType: string): BinaryColumnType {
  if (pgType === 'numeric' || pgType.startsWith('numeric(')) return 'numeric';
  const type = BY_PG_TYPE[pgType];
  if (type === undefined) {
    throw new PipelineError('CONTRACT_MISMATCH', `no binary COPY encoder for the column type "${pgType}"`, {
      details: { pgType },
    });
  }
  return type;
}

export const COPY_BINARY_HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** PostgreSQL's epoch for dates and timestamps, 2000-01-01, in days after 1970-01-01. */
export const PG_EPOCH_DAYS = 10_957;

/**
 * A value outside what the column's type holds, which PostgreSQL would refuse in COPY text too (a decoded value
 * avsc's checks let through, or one handed over as decoded): the message's row is refused, as the row
 * mapper refuses a date PostgreSQL cannot hold, so it becomes a dead letter rather than stopping the batch.
 */
function outOfRange(what: string, text: string): never {
  throw new PoisonMessageError(
    'ROW_REJECTED',
    `${JSON.stringify(text.slice(0, 60))} is not ${what} (binary COPY refuses it as PostgreSQL would)`,
  );
}

/** A text the row mapper never makes: a defect of this module or of the mapper, never of the message. */
function unreadable(what: string, text: string): never {
  throw new PipelineError(
    'INVARIANT_BROKEN',
    `binary COPY: ${JSON.stringify(text.slice(0, 60))} is not ${what} as the row mapper writes one`,
  );
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 2000-01-01 of a shown year (`bc`: year 1 BC is year 0), month, day; unreadable unless a real day. */
function civilDays(shown: number, month: number, day: number, bc: boolean, text: string): number {
  const year = bc ? 1 - shown : shown;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (
    !(shown >= 1 && month >= 1 && month <= 12 && day >= 1) ||
    day > (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!)
  ) {
    unreadable('a date', text);
  }
  return daysFromCivil({ year, month, day }) - PG_EPOCH_DAYS;
}

// The days and instants PostgreSQL holds (its date_in/timestamp_in refuse the rest; so does the mapper).
/** 4714-11-24 BC and 5874897-12-31, in days since 2000-01-01. */
const PG_FIRST_DAY = -2_451_545;
const PG_LAST_DAY = 2_145_031_948;
/** 294277-01-01, the day after the last instant timestamptz holds, in days since 2000-01-01. */
const PG_END_TIMESTAMP_DAY = 106_751_983;

// dateText: `YYYY-MM-DD` (years 1–9999), else at least four digits and ` BC` before year 1 (pgDateText).
const DATE = /^(\d{4,7})-(\d{2})-(\d{2})( BC)?$/;
// time-millis / time-micros: `HH:MM:SS.mmm` / `HH:MM:SS.ffffff`.
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
// timestamptz: `YYYY-MM-DDTHH:MM:SS.fffZ` or `.ffffffZ` (epochMillisText, usualMicrosText) in the years
// 1–9999, else `YYYY[YY]-MM-DD HH:MM:SS.ffffff+00[ BC]` (utcText); timestamp: the local-timestamp logical
// types' `YYYY-MM-DDTHH:MM:SS.fff` / `.ffffff`, no zone.
const TIMESTAMP = /^(\d{4,6})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|\+00)?( BC)?$/;

/** Microseconds since midnight of `HH:MM:SS` and a fraction of up to 6 digits (the text for errors). */
function microsOfDay(
  hours: number,
  minutes: number,
  seconds: number,
  fraction: string,
  text: string,
): number {
  if (!(hours <= 23 && minutes <= 59 && seconds <= 59)) outOfRange('a time of day', text);
  return (hours * 3600 + minutes * 60 + seconds) * 1_000_000 + Number(fraction.padEnd(6, '0'));
}

function pgDays(text: string): number {
  const m = DATE.exec(text);
  if (m === null) unreadable('a date', text);
  const days = civilDays(Number(m[1]), Number(m[2]), Number(m[3]), m[4] !== undefined, text);
  if (days < PG_FIRST_DAY || days > PG_LAST_DAY) outOfRange('a date PostgreSQL holds', text);
  return days;
}

/** The number of `count` decimal digits at `from`, or NaN when one is not a digit. */
function digitsAt(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (!(d >= 0 && d <= 9)) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Writes µs since 2000-01-01 00:00 of a timestamp text as a big-endian int64 (timestamptz: the text is in
 * UTC; timestamp: as written). The usual `YYYY-MM-DDTHH:MM:SS.fff[fff][Z]` is read by position; the rest
 * (utcText's five- and six-digit years and ` BC`) by the pattern.
 */
function writeTimestamp(b: Buffer, at: number, text: string, zoned: boolean): void {
  let days: number;
  let ofDay: number;
  const n = text.length - (zoned ? 1 : 0);
  if (
    (n === 23 || n === 26) &&
    text.charCodeAt(10) === 0x54 &&
    text.charCodeAt(19) === 0x2e &&
    (zoned ? text.charCodeAt(n) === 0x5a : text.charCodeAt(n - 1) !== 0x5a) &&
    text.charCodeAt(4) === 0x2d &&
    text.charCodeAt(7) === 0x2d &&
    text.charCodeAt(13) === 0x3a &&
    text.charCodeAt(16) === 0x3a
  ) {
    days = civilDays(digitsAt(text, 0, 4), digitsAt(text, 5, 2), digitsAt(text, 8, 2), false, text);
    const fraction = digitsAt(text, 20, n - 20);
    const hours = digitsAt(text, 11, 2);
    const minutes = digitsAt(text, 14, 2);
    const seconds = digitsAt(text, 17, 2);
    if (!(fraction >= 0 && hours <= 23 && minutes <= 59 && seconds <= 59)) outOfRange('a timestamp', text);
    ofDay = (hours * 3600 + minutes * 60 + seconds) * 1_000_000 + (n === 23 ? fraction * 1000 : fraction);
  } else {
    const m = TIMESTAMP.exec(text);
    if (m === null || (zoned && m[8] === undefined) || (!zoned && m[8] !== undefined)) {
      unreadable(zoned ? 'a UTC timestamptz' : 'a timestamp', text);
    }
    days = civilDays(Number(m[1]), Number(m[2]), Number(m[3]), m[9] !== undefined, text);
    ofDay = microsOfDay(Number(m[4]), Number(m[5]), Number(m[6]), m[7] ?? '', text);
  }
  if (days < PG_FIRST_DAY || days >= PG_END_TIMESTAMP_DAY) outOfRange('an instant PostgreSQL holds', text);
  writeMicros(b, at, days, ofDay);
}

/**
 * days · 86 400 000 000 + ofDay as a big-endian int64, exact in Numbers: 86 400 000 000 is 21 093 750 · 2^12,
 * so days · 21 093 750 (under 2^53) is split at 2^20 and the rest added below 2^32.
 */
function writeMicros(b: Buffer, at: number, days: number, ofDay: number): void {
  const scaled = days * 21_093_750;
  const high = Math.floor(scaled / 0x100000);
  const low = (scaled - high * 0x100000) * 4096 + ofDay;
  const carry = Math.floor(low / 0x100000000);
  b.writeInt32BE(high + carry, at);
  b.writeUInt32BE(low - carry * 0x100000000, at + 4);
}

/** A-F, a-f, 0-9 → their value; anything else -1. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  NIBBLE['0123456789abcdef'.charCodeAt(i)] = i;
  NIBBLE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** uuid_send: the 16 bytes of `8-4-4-4-12` hex digits (either case). */
function writeUuid(b: Buffer, at: number, text: string): void {
  if (text.length !== 36) unreadable('a UUID', text);
  let p = at;
  for (let i = 0; i < 36; ) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (text.charCodeAt(i) !== 0x2d) unreadable('a UUID', text);
      i++;
      continue;
    }
    const high = NIBBLE[text.charCodeAt(i)] ?? -1;
    const low = NIBBLE[text.charCodeAt(i + 1)] ?? -1;
    if (high < 0 || low < 0) unreadable('a UUID', text);
    b[p++] = high * 16 + low;
    i += 2;
  }
}

const BYTEA = /^\\x(?:[0-9a-fA-F]{2})*$/;
const INTEGER = /^-?\d+$/;
// String(number) for a finite number, and `-0` (the mapper keeps the sign of zero).
const FLOAT = /^-?\d+(?:\.\d+)?(?:e[+-]\d+)?$/;
const ZERO = /^-?0(?:\.0+)?(?:e[+-]\d+)?$/;
// String(n) of an integer n with |n| ≥ 1e21: the integer converter writes it for an Avro int avsc read so.
const LARGE_INTEGER = /^-?\d(?:\.\d+)?e\+\d+$/;
const FLOAT_SPECIAL: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

// DecimalType's text: `-?` digits, and `.` and exactly `scale` digits when the scale is not 0.
const NUMERIC = /^(-)?(\d+)(?:\.(\d+))?$/;
const NUMERIC_SPECIAL: Record<string, number> = { NaN: 0xc000, Infinity: 0xd000, '-Infinity': 0xf000 };

/** The exact sign of (the decimal `text` − `d`): compared as integers, no rounding. */
function compareExact(text: string, d: number): number {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(text)!;
  const fraction = m[3] ?? '';
  let left = BigInt(`${m[1]}${m[2]}${fraction}`);
  const leftTen = Number(m[4] ?? 0) - fraction.length;
  // d = mantissa · 2^exponent, read from its bits.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const hi = view.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  if (biased !== 0) mantissa |= 1n << 52n;
  let right = hi >>> 31 === 1 ? -mantissa : mantissa;
  const rightTwo = (biased === 0 ? 1 : biased) - 1075;
  if (leftTen >= 0) left *= 10n ** BigInt(leftTen);
  else right *= 10n ** BigInt(-leftTen);
  if (rightTwo >= 0) right <<= BigInt(rightTwo);
  else left <<= BigInt(-rightTwo);
  return left === right ? 0 : left > right ? 1 : -1;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const FLT_MAX = 3.4028234663852886e38;
/** Halfway between FLT_MAX and the next power of two: above rounds to infinity, below to FLT_MAX. */
const FLT_OVERFLOW = 3.4028235677973366e38;

/**
 * The float4 PostgreSQL reads from a decimal text: float4in rounds the decimal straight to float (strtof),
 * where Math.fround(Number(text)) rounds twice. The two differ only when the double is exactly halfway
 * between two floats and the decimal is not that double: an Avro long past 2^53 promoted to a real column
 * (String() of the double has fewer digits than the long). There the exact decimal decides the side.
 */
function float4Of(text: string): number {
  const special = FLOAT_SPECIAL[text];
  if (special !== undefined) return special;
  if (!FLOAT.test(text)) unreadable('a real', text);
  const d = Number(text);
  const f = Math.fround(d);
  let result = f;
  if (f !== d) {
    if (!Number.isFinite(f)) {
      result = d === FLT_OVERFLOW && compareExact(text, d) < 0 ? Math.sign(d) * FLT_MAX : f;
    } else {
      F32[0] = f;
      // The float on d's other side: one unit further from zero (bits are sign and magnitude) or nearer.
      U32[0] = Math.abs(d) > Math.abs(f) ? U32[0]! + 1 : U32[0]! - 1;
      const other = F32[0]!;
      if (f / 2 + other / 2 === d) {
        const side = compareExact(text, d);
        if (side !== 0) result = side > 0 === other > f ? other : f;
      }
    }
  }
  // float4in refuses what strtof rounds to zero or infinity (ERANGE): out of range for real.
  if (!Number.isFinite(result) || (result === 0 && !ZERO.test(text))) outOfRange('a real in range', text);
  return result;
}

function float8Of(text: string): number {
  const special = FLOAT_SPECIAL[text];
  if (special !== undefined) return special;
  if (!FLOAT.test(text)) unreadable('a double precision', text);
  // Both JavaScript and strtod round the decimal to the nearest double: the same double.
  const d = Number(text);
  if (!Number.isFinite(d) || (d === 0 && !ZERO.test(text))) outOfRange('a double precision in range', text);
  return d;
}

function integerOf(text: string, min: number, max: number, what: string): number {
  if (!INTEGER.test(text)) {
    // String() of an integer of 1e21 or more (an Avro int avsc read past 32 bits): int4in refuses it too.
    if (LARGE_INTEGER.test(text)) outOfRange(`${what} in range`, text);
    unreadable(what, text);
  }
  const n = Number(text);
  if (n < min || n > max) outOfRange(`${what} in range`, text);
  return n;
}

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

/** int8send of a bigint text: by Numbers while it has at most 15 digits (exact), else by BigInt. */
function writeInt8(b: Buffer, at: number, text: string): void {
  if (!INTEGER.test(text)) unreadable('a bigint', text);
  if (text.length <= 15) {
    const n = Number(text);
    const high = Math.floor(n / 0x100000000);
    b.writeInt32BE(high, at);
    b.writeUInt32BE(n - high * 0x100000000, at + 4);
    return;
  }
  const n = BigInt(text);
  if (n < INT8_MIN || n > INT8_MAX) outOfRange('a bigint in range', text);
  b.writeBigInt64BE(n, at);
}

/** numeric_send: base-10000 digits, the weight of the first, the sign, the display scale. */
function writeNumeric(out: CopyBuffer, text: string): void {
  const special = NUMERIC_SPECIAL[text];
  if (special !== undefined) {
    out.ensure(12);
    const b = out.buf;
    b.writeInt32BE(8, out.pos);
    b.writeInt32BE(0, out.pos + 4);
    b.writeUInt16BE(special, out.pos + 8);
    b.writeInt16BE(0, out.pos + 10);
    out.pos += 12;
    return;
  }
  const m = NUMERIC.exec(text);
  if (m === null) unreadable('a numeric', text);
  const integer = m[2]!.replace(/^0+/, '');
  const fraction = m[3] ?? '';
  const dscale = fraction.length;
  // Integer digits padded on the left and fraction digits on the right to whole groups of four.
  const intPadded = integer.padStart(Math.ceil(integer.length / 4) * 4, '0');
  const fracPadded = fraction.padEnd(Math.ceil(fraction.length / 4) * 4, '0');
  const digits = intPadded + fracPadded;
  let first = 0;
  let last = digits.length;
  while (first < last && digits.startsWith('0000', first)) first += 4;
  while (last > first && digits.startsWith('0000', last - 4)) last -= 4;
  const groups = (last - first) / 4;
  const weight = groups === 0 ? 0 : (intPadded.length - first) / 4 - 1;
  // numeric's header fields are int16: a text beyond them is beyond any numeric(p,s) too.
  if (dscale > 0x3fff || weight > 0x7fff || weight < -0x8000) outOfRange('a numeric in range', text);
  out.ensure(12 + groups * 2);
  const b = out.buf;
  let p = out.pos;
  b.writeInt32BE(8 + groups * 2, p);
  b.writeInt16BE(groups, p + 4);
  b.writeInt16BE(weight, p + 6);
  b.writeUInt16BE(m[1] === '-' && groups > 0 ? 0x4000 : 0, p + 8);
  b.writeInt16BE(dscale, p + 10);
  p += 12;
  for (let i = first; i < last; i += 4) {
    b.writeUInt16BE(Number(digits.slice(i, i + 4)), p);
    p += 2;
  }
  out.pos = p;
}

/** Writes one field of a tuple: its int32 length, then its bytes (NULL: length -1, no bytes). */
export type BinaryFieldEncoder = (out: CopyBuffer, text: SqlText) => void;

/** The length and `*_send` bytes of one non-null value given as its PostgreSQL text. */
type ValueWriter = (out: CopyBuffer, text: string) => void;

function fixed(size: number, write: (b: Buffer, at: number, text: string) => void): ValueWriter {
  return (out, text) => {
    out.ensure(4 + size);
    out.buf.writeInt32BE(size, out.pos);
    write(out.buf, out.pos + 4, text);
    out.pos += 4 + size;
  };
}

/** UTF-8 of the text after `prefix` bytes (jsonb's version byte). */
function utf8(prefix: readonly number[]): ValueWriter {
  return (out, text) => {
    // At most 3 bytes per UTF-16 unit (a surrogate pair: 4 for 2).
    out.ensure(4 + prefix.length + 3 * text.length);
    const b = out.buf;
    const start = out.pos + 4;
    for (let i = 0; i < prefix.length; i++) b[start + i] = prefix[i]!;
    const length = prefix.length + b.write(text, start + prefix.length, 'utf8');
    b.writeInt32BE(length, out.pos);
    out.pos = start + length;
  };
}

const WRITERS: Record<BinaryColumnType, ValueWriter> = {
  bool: fixed(1, (b, at, text) => {
    if (text !== 't' && text !== 'f') unreadable('a boolean', text);
    b[at] = text === 't' ? 1 : 0;
  }),
  int2: fixed(2, (b, at, text) => b.writeInt16BE(integerOf(text, -0x8000, 0x7fff, 'a smallint'), at)),
  int4: fixed(4, (b, at, text) => b.writeInt32BE(integerOf(text, -(2 ** 31), 2 ** 31 - 1, 'an integer'), at)),
  int8: fixed(8, writeInt8),
  float4: fixed(4, (b, at, text) => b.writeFloatBE(float4Of(text), at)),
  float8: fixed(8, (b, at, text) => b.writeDoubleBE(float8Of(text), at)),
  text: utf8([]),
  json: utf8([]),
  // jsonb_send: a version byte (1), then the JSON text.
  jsonb: utf8([1]),
  bytea: (out, text) => {
    if (!BYTEA.test(text)) unreadable('bytea in hex format (\\x…)', text);
    const length = (text.length - 2) / 2;
    out.ensure(4 + length);
    out.buf.writeInt32BE(length, out.pos);
    out.buf.write(text.slice(2), out.pos + 4, 'hex');
    out.pos += 4 + length;
  },
  uuid: fixed(16, writeUuid),
  date: fixed(4, (b, at, text) => b.writeInt32BE(pgDays(text), at)),
  time: fixed(8, (b, at, text) => {
    const m = TIME.exec(text);
    if (m === null) unreadable('a time', text);
    writeMicros(b, at, 0, microsOfDay(Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? '', text));
  }),
  timestamp: fixed(8, (b, at, text) => writeTimestamp(b, at, text, false)),
  timestamptz: fixed(8, (b, at, text) => writeTimestamp(b, at, text, true)),
  numeric: writeNumeric,
};

function writeNull(out: CopyBuffer): void {
  out.ensure(4);
  out.buf.writeInt32BE(-1, out.pos);
  out.pos += 4;
}

/** The encoder of a column's fields, by its `format_type()` spelling. */
export function binaryFieldEncoder(pgType: string): BinaryFieldEncoder {
  const write = WRITERS[binaryColumnType(pgType)];
  return (out, text) => (text === null ? writeNull(out) : write(out, text));
}

const scratch = new CopyBuffer(256);

/** The `*_send` bytes of one non-null value given as its PostgreSQL text (the bench's tuples, the tests). */
export function encodeBinaryValue(type: BinaryColumnType, text: string): Buffer {
  scratch.reset(256);
  scratch.begin();
  WRITERS[type](scratch, text);
  const { buffer, start, end } = scratch.end();
  return Buffer.from(buffer.subarray(start + 4, end));
}

/**
 * One whole tuple of a reference row: the field count, then each field (as appendTextLine for text). A
 * field that cannot be written leaves nothing of the tuple behind.
 */
export function appendBinaryRow(
  out: CopyBuffer,
  encoders: readonly BinaryFieldEncoder[],
  row: readonly SqlText[],
): CopySlice {
  if (row.length !== encoders.length) {
    throw new PipelineError(
      'INVARIANT_BROKEN',
      `binary COPY: a row of ${row.length} fields for ${encoders.length} columns`,
    );
  }
  out.begin();
  out.ensure(2);
  out.buf.writeInt16BE(encoders.length, out.pos);
  out.pos += 2;
  try {
    for (let i = 0; i < encoders.length; i++) encoders[i]!(out, row[i]!);
  } catch (error) {
    out.rollback();
    throw error;
  }
  return out.end();
}
