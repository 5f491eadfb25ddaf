/**
 * Random Avro values that the row mapper accepts, drawn often from the limits of what each type and the
 * PostgreSQL column it maps to hold: days and instants at 4714-11-24 BC, years 1, 9999, 10000, 294276 and
 * 5874897, longs at ±2^63 and around 2^53, every float bit pattern (NaN, -0, subnormals), decimals of their
 * full precision, strings of escapes and non-ASCII. Values are raw (what `rawWriterSchema` encodes: logical
 * types as their underlying types), so that the real decoder and its logical types make the values the
 * mapper sees. (The mapper and transcoder fuzz tests draw invalid values on purpose; this draws valid ones.)
 */
import type avro from 'avsc';
import type { Random } from './seeded-random.ts';

/** The writer of a reader schema: logical types as their underlying types, names kept (so it resolves). */
export function rawWriterSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rawWriterSchema);
  if (typeof node !== 'object' || node === null) return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'logicalType' || key === 'precision' || key === 'scale') continue;
    copy[key] = key === 'name' || key === 'symbols' || key === 'default' ? value : rawWriterSchema(value);
  }
  return copy;
}

/** Two's complement big-endian bytes of an unscaled decimal, in as few bytes as hold its sign (or `size`). */
export function twosComplement(unscaled: bigint, size?: number): Buffer {
  const bytes: number[] = [];
  let rest = unscaled;
  do {
    bytes.unshift(Number(rest & 0xffn));
    rest >>= 8n;
  } while (!((rest === 0n && (bytes[0]! & 0x80) === 0) || (rest === -1n && (bytes[0]! & 0x80) !== 0)));
  if (size !== undefined) {
    const fill = (bytes[0]! & 0x80) !== 0 ? 0xff : 0;
    while (bytes.length < size) bytes.unshift(fill);
  }
  return Buffer.from(bytes);
}

/** A uniform integer in [lo, hi] (inclusive) of any size. */
export function bigintBetween(r: Random, lo: bigint, hi: bigint): bigint {
  let draw = 0n;
  for (let i = 0; i < 3; i++) draw = (draw << 32n) | BigInt(r.int(2 ** 32));
  return lo + (draw % (hi - lo + 1n));
}

/** A number when it is exact as one (what the exact long decodes to), else the bigint. */
function long(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

// The limits, as days since 1970-01-01, ms and µs since its midnight UTC.
/** 4714-11-24 BC and 5874897-12-31: the first and last day of PostgreSQL's date. */
const FIRST_DAY = -2_440_588;
const LAST_DAY = 2_145_042_905;
const DAYS = [
  FIRST_DAY,
  LAST_DAY,
  -719_162,
  -719_163,
  -719_528,
  -719_529,
  2_932_896,
  2_932_897,
  0,
  -1,
  10_957,
];
/** timestamptz's first instant (4714-11-24 BC) and the last one a Date holds (275760-09-13). */
const FIRST_MS = -210_866_803_200_000n;
const LAST_DATE_MS = 8_640_000_000_000_000n;
const YEAR_1_MS = -62_135_596_800_000n;
const YEAR_10000_MS = 253_402_300_800_000n;
const MILLIS = [
  FIRST_MS,
  LAST_DATE_MS,
  YEAR_1_MS,
  YEAR_1_MS - 1n,
  YEAR_10000_MS,
  YEAR_10000_MS - 1n,
  0n,
  -1n,
];
/**
 * timestamptz's first instant, and the last µs an Avro long holds (294247-01-10 04:00:54.775807 UTC: short of
 * timestamptz's last, 294276-12-31, which no Avro timestamp reaches).
 */
const FIRST_US = FIRST_MS * 1000n;
const LAST_US = 2n ** 63n - 1n;
const MICROS = [
  FIRST_US,
  LAST_US,
  YEAR_1_MS * 1000n,
  YEAR_1_MS * 1000n - 1n,
  YEAR_10000_MS * 1000n,
  YEAR_10000_MS * 1000n - 1n,
  2n ** 53n + 1n,
  -(2n ** 53n) - 1n,
  0n,
  -1n,
];
const LONGS = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 0n, -1n, 1n];
const INTS = [2 ** 31 - 1, -(2 ** 31), 0, -1, 1];

// biome-ignore format: one piece per entry
const PIECES = ['', 'a', 'é', '😀', 'ünï', '\t', '\n', '\r', '\\', '\\N', '"', "'", ' ', '\u2028', '\u007f', '\u0001', '{}', 'NULL', 'x'.repeat(300)];

function text(r: Random): string {
  let s = '';
  for (let i = r.int(5); i > 0; i--) s += r.pick(PIECES);
  return s;
}

function bits32(r: Random): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, r.int(2 ** 32));
  return view.getFloat32(0);
}

function bits64(r: Random): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, r.int(2 ** 32));
  view.setUint32(4, r.int(2 ** 32));
  return view.getFloat64(0);
}

const FLOATS = [
  0,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1.401298464324817e-45,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  0.10000000149011612,
];
const DOUBLES = [
  0,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  5e-324,
  1.7976931348623157e308,
  -1.7976931348623157e308,
  0.1,
  1e21,
  2 ** 53 + 2,
];

/** An unscaled decimal of at most `precision` digits: all of them often, nines, zero, one digit. */
function unscaled(r: Random, precision: number): bigint {
  const roll = r.next();
  if (roll < 0.1) return 0n;
  const digits = roll < 0.4 ? precision : 1 + r.int(precision);
  let value = 0n;
  const nines = r.next() < 0.2;
  for (let i = 0; i < digits; i++)
    value = value * 10n + BigInt(nines ? 9 : i === 0 ? 1 + r.int(9) : r.int(10));
  return r.next() < 0.5 ? -value : value;
}

/** A raw value of a reader type (for its `rawWriterSchema`), extreme one time in three. */
export function rawValueOf(type: avro.Type, r: Random, depth = 0): unknown {
  const extreme = r.next() < 0.35;
  switch (type.typeName) {
    case 'null':
      return null;
    case 'boolean':
      return r.next() < 0.5;
    case 'int':
      return extreme ? r.pick(INTS) : r.int(2 ** 32) - 2 ** 31;
    case 'long':
    case 'abstract:long':
      return long(extreme ? r.pick(LONGS) : bigintBetween(r, -(2n ** 63n), 2n ** 63n - 1n));
    case 'float':
      return extreme ? r.pick(FLOATS) : bits32(r);
    case 'double':
      return extreme ? r.pick(DOUBLES) : bits64(r);
    case 'string':
      return text(r);
    case 'bytes':
      return Buffer.from(Array.from({ length: r.int(extreme ? 600 : 20) }, () => r.int(256)));
    case 'fixed':
      return Buffer.from(Array.from({ length: (type as avro.types.FixedType).size }, () => r.int(256)));
    case 'enum':
      return r.pick((type as avro.types.EnumType).symbols);
    case 'array':
      return Array.from({ length: depth > 2 ? 0 : r.int(4) }, () =>
        rawValueOf((type as avro.types.ArrayType).itemsType, r, depth + 1),
      );
    case 'map': {
      const map: Record<string, unknown> = {};
      for (let i = depth > 2 ? 0 : r.int(4); i > 0; i--)
        map[text(r)] = rawValueOf((type as avro.types.MapType).valuesType, r, depth + 1);
      return map;
    }
    case 'record':
    case 'error': {
      const record: Record<string, unknown> = {};
      for (const field of (type as avro.types.RecordType).fields)
        record[field.name] = rawValueOf(field.type, r, depth + 1);
      return record;
    }
    case 'logical:uuid': {
      const hex = Array.from({ length: 32 }, () => '0123456789abcdef'[r.int(16)]).join('');
      const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      return r.next() < 0.5 ? uuid.toUpperCase() : uuid;
    }
    case 'logical:decimal': {
      const { precision } = type as unknown as { precision: number };
      const underlying = (type as avro.types.LogicalType).underlyingType;
      const size = underlying.typeName === 'fixed' ? (underlying as avro.types.FixedType).size : undefined;
      return twosComplement(unscaled(r, precision), size);
    }
    case 'logical:date':
      return extreme ? r.pick(DAYS) : FIRST_DAY + r.int(LAST_DAY - FIRST_DAY + 1);
    case 'logical:timestamp-millis':
      return Number(extreme ? r.pick(MILLIS) : bigintBetween(r, FIRST_MS, LAST_DATE_MS));
    case 'logical:timestamp-micros':
      return long(extreme ? r.pick(MICROS) : bigintBetween(r, FIRST_US, LAST_US));
    case 'logical:time-millis':
      return extreme ? r.pick([0, 86_399_999, 1]) : r.int(86_400_000);
    case 'logical:time-micros':
      return extreme ? r.pick([0, 86_399_999_999, 1]) : r.int(86_400_000) * 1000 + r.int(1000);
    case 'logical:local-timestamp-millis':
      return Number(
        extreme
          ? r.pick([YEAR_1_MS, YEAR_10000_MS - 1n, 0n, -1n])
          : bigintBetween(r, YEAR_1_MS, YEAR_10000_MS - 1n),
      );
    case 'logical:local-timestamp-micros':
      return long(
        extreme
          ? r.pick([YEAR_1_MS * 1000n, YEAR_10000_MS * 1000n - 1n, 0n, -1n])
          : bigintBetween(r, YEAR_1_MS * 1000n, YEAR_10000_MS * 1000n - 1n),
      );
    default: {
      if (type.typeName.startsWith('logical:'))
        return rawValueOf((type as avro.types.LogicalType).underlyingType, r, depth);
      if (!type.typeName.startsWith('union')) throw new Error(`no random values of ${type.typeName}`);
      const branch = r.pick((type as avro.types.UnwrappedUnionType).types);
      const value = rawValueOf(branch, r, depth);
      // avsc cannot tell which branch of an unwrapped union a bigint is: there a long stays within 2^53.
      if (typeof value === 'bigint' && type.typeName === 'union:unwrapped')
        return value < 0n ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
      if (type.typeName === 'union:wrapped' && branch.typeName !== 'null')
        return { [branch.branchName!]: value };
      return value;
    }
  }
}
