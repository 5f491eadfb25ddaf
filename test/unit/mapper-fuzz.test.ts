/**
 * Seeded fuzzing of the decoder and the row mapper with random values of every Avro type the project maps,
 * extremes first (±2^63, NaN, -0, decimals of 0 and 40 digits, days and instants at PostgreSQL's limits and
 * past them, strings that are not UTF-8, empty, NUL). Whatever the value, the outcome is a row or a
 * PoisonMessageError naming the field: never another exception, which would stop the consumer on the same
 * offset forever (was: a nested long beyond 2^53 threw a TypeError).
 */
import test from 'ava';
import type avro from 'avsc';
import { decodeStrict } from '../../src/codec/strict-decode.ts';
import { parseSchema } from '../../src/contracts/catalog.ts';
import { PoisonMessageError } from '../../src/errors.ts';
import { createRowMapper } from '../../src/sink/row-mapper.ts';
import { allTypesEntry, allTypesSchema } from '../support/all-types.ts';
import { type Random, seeded } from '../support/seeded-random.ts';

const entry = allTypesEntry();
const mapper = createRowMapper(entry);
const meta = { partition: 0, offset: '1', timestamp: '1767225600000' };

const INTS = [
  0,
  1,
  -1,
  2 ** 31 - 1,
  -(2 ** 31),
  -2_440_588,
  -2_440_589,
  2_145_042_905,
  2_145_042_906,
  2_932_896,
  2_932_897,
  -719_529,
  -719_528,
];
const LONGS: Array<number | bigint> = [
  0,
  1,
  -1,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2n ** 53n + 1n,
  -(2n ** 53n) - 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  // timestamp-micros at timestamptz's first instant and just before; millis at a Date's limits and PostgreSQL's.
  -210_866_803_200_000_000n,
  -210_866_803_200_000_001n,
  8_640_000_000_000_000,
  8_640_000_000_000_001n,
  -210_866_803_200_000,
  -210_866_803_200_001,
  253_402_300_800_000,
  253_402_300_800_000_000n,
];
const FLOATS = [
  0,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  5e-324,
  1.7976931348623157e308,
  0.1,
  -1e-10,
  3.4028234663852886e38,
  1.401298464324817e-45,
];
// biome-ignore format: one piece per entry reads better on one line
const VALID_PIECES = [[], [0], [0x61], [0xef, 0xbf, 0xbd], [0xc3, 0xa9], [0xf0, 0x9f, 0x98, 0x80], [0x5c, 0x09, 0x0a, 0x0d], [0x22, 0x27], [0xe2, 0x80, 0xa8]];
// biome-ignore format: as above
const INVALID_PIECES = [[0xed, 0xa0, 0x80], [0xff, 0xfe], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x80]];

function randomBytes(r: Random, maxPieces = 4): Buffer {
  const parts: number[] = [];
  for (let i = r.int(maxPieces + 1); i > 0; i--)
    parts.push(...r.pick(r.next() < 0.03 ? INVALID_PIECES : VALID_PIECES));
  return Buffer.from(parts);
}

/** Two's complement bytes of 0 to 40 digits: small, exact fits and far too long decimals. */
function decimalBytes(r: Random): Buffer {
  const digits = r.next() < 0.1 ? r.pick([10, 11, 20, 40]) : r.pick([0, 1, 2, 3, 6]);
  let unscaled = 0n;
  for (let i = 0; i < digits; i++) unscaled = unscaled * 10n + BigInt(i === 0 ? 1 + r.int(9) : r.int(10));
  if (r.next() < 0.5) unscaled = -unscaled;
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(unscaled & 0xffn));
    unscaled >>= 8n;
  } while (
    !((unscaled === 0n && (bytes[0]! & 0x80) === 0) || (unscaled === -1n && (bytes[0]! & 0x80) !== 0))
  );
  return Buffer.from(bytes);
}

/** The writer's schema: strings as bytes (any byte sequence), logical types (uuid aside) as their underlying types. */
function rawSchema(node: unknown): unknown {
  if (node === 'string') return 'bytes';
  if (Array.isArray(node)) return node.map(rawSchema);
  if (typeof node !== 'object' || node === null) return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) copy[key] = key === 'name' ? value : rawSchema(value);
  const logical = copy.logicalType;
  if (logical === 'uuid') return { type: 'string', logicalType: 'uuid' };
  if (logical !== undefined) {
    delete copy.logicalType;
    delete copy.precision;
    delete copy.scale;
    copy['x-was'] = logical;
  }
  return copy;
}

const writer = parseSchema(rawSchema(allTypesSchema), 'fuzz writer');
const resolver = entry.reader.type.createResolver(writer);

/** The all-types fields that are decimals over bytes (the raw writer has plain bytes there). */
const DECIMAL_FIELDS = new Set(['amount', 'price', 'maybe_amount']);

/** Fields whose writer type is a time of day or a wall-clock timestamp: mostly in range, extremes sometimes. */
const TIME_MILLIS_FIELDS = new Set(['time_ms', 'time']);
const TIME_MICROS_FIELDS = new Set(['time_us']);
const LOCAL_MILLIS_FIELDS = new Set(['local_ms']);
const LOCAL_MICROS_FIELDS = new Set(['local_us', 'at']);
// Years 1 to 9999 in milliseconds since 1970: what a local timestamp may hold.
const LOCAL_MIN_MS = -62_135_596_800_000;
const LOCAL_SPAN_MS = 253_402_300_799_999 - LOCAL_MIN_MS;

/** In-range values for the time-like fields (raw numbers), or undefined for any other field. */
function timeLikeValue(r: Random, field: string): number | bigint | undefined {
  if (r.next() < 0.1) return undefined; // the generic extremes: out of range on purpose
  if (TIME_MILLIS_FIELDS.has(field)) return r.int(86_400_000);
  if (TIME_MICROS_FIELDS.has(field)) return BigInt(r.int(86_400_000)) * 1000n + BigInt(r.int(1000));
  const ms = LOCAL_MIN_MS + Math.floor(r.next() * LOCAL_SPAN_MS);
  if (LOCAL_MILLIS_FIELDS.has(field)) return ms;
  if (LOCAL_MICROS_FIELDS.has(field)) return BigInt(ms) * 1000n + BigInt(r.int(1000));
  return undefined;
}

/** A random value of a writer type (raw underlying values, extremes often). */
function randomValue(type: avro.Type, r: Random, depth = 0, field = ''): unknown {
  switch (type.typeName) {
    case 'null':
      return null;
    case 'boolean':
      return r.next() < 0.5;
    case 'int':
      return timeLikeValue(r, field) ?? (r.next() < 0.2 ? r.pick(INTS) : r.int(200_000) - 100_000);
    case 'long':
    case 'abstract:long':
      return (
        timeLikeValue(r, field) ??
        (r.next() < 0.2 ? r.pick(LONGS) : r.int(2 ** 31) * (r.next() < 0.5 ? -1 : 1) * 1_000_000)
      );
    case 'float':
    case 'double':
      return r.next() < 0.5 ? r.pick(FLOATS) : (r.next() - 0.5) * 10 ** r.int(30);
    case 'string':
      return r.next() < 0.5
        ? '0b3f2a51-2f6c-4c4e-9a57-4d3c4ab1e001'
        : r.pick(['', 'x', '0B3F2A51-2F6C-4C4E-9A57-4D3C4AB1E001', '\u0000']);
    case 'bytes':
      return DECIMAL_FIELDS.has(field) ? decimalBytes(r) : randomBytes(r);
    case 'fixed': {
      const size = (type as avro.types.FixedType).size;
      return Buffer.from(Array.from({ length: size }, () => r.pick([0, 0x7f, 0x80, 0xff, r.int(256)])));
    }
    case 'enum':
      return r.pick((type as avro.types.EnumType).symbols);
    case 'array':
      return Array.from({ length: depth > 2 ? 0 : r.int(4) }, () =>
        randomValue((type as avro.types.ArrayType).itemsType, r, depth + 1),
      );
    case 'map': {
      const map: Record<string, unknown> = {};
      for (let i = depth > 2 ? 0 : r.int(4); i > 0; i--) {
        map[r.pick(['', 'k', 'a"b', '\u0000', 'é', String(i)])] = randomValue(
          (type as avro.types.MapType).valuesType,
          r,
          depth + 1,
        );
      }
      return map;
    }
    case 'record': {
      const record: Record<string, unknown> = {};
      for (const field of (type as avro.types.RecordType).fields)
        record[field.name] = randomValue(field.type, r, depth + 1, field.name);
      return record;
    }
    default: {
      if (type.typeName.startsWith('union')) {
        const branches = (type as avro.types.UnwrappedUnionType).types;
        const branch = r.pick(branches);
        const value = randomValue(branch, r, depth, field);
        // A union avsc cannot tell apart by value (two records) is wrapped: {"branch name": value}.
        if (type.typeName === 'union:wrapped' && branch.typeName !== 'null')
          return { [branch.branchName!]: value };
        return value;
      }
      if (type.typeName.startsWith('logical:'))
        return randomValue((type as avro.types.LogicalType).underlyingType, r, depth);
      throw new Error(`the fuzzer does not know ${type.typeName}`);
    }
  }
}

function assertPoisonWithField(t: import('ava').ExecutionContext, error: unknown, where: string): void {
  if (!(error instanceof PoisonMessageError)) {
    t.fail(`${where}: threw ${(error as Error)?.name}: ${(error as Error)?.message}`);
    return;
  }
  if (error.code === 'ROW_REJECTED') {
    t.true(
      typeof error.details.field === 'string' && error.message.includes(String(error.details.field)),
      error.message,
    );
  } else {
    t.is(error.code, 'PAYLOAD_UNDECODABLE');
    t.true(Array.isArray(error.details.fields) || /truncated|trailing/.test(error.message), error.message);
  }
  t.notRegex(
    error.message,
    /Cannot read properties|Cannot convert|undefined|is not a function/,
    error.message,
  );
}

test('random bodies of every type decode to a row or a dead letter naming the field, never another exception', (t) => {
  const r = seeded(20261129);
  const counts = { rows: 0, undecodable: 0, rejected: 0 };
  for (let i = 0; i < 3000; i++) {
    const raw = randomValue(writer, r);
    let body: Buffer;
    try {
      body = writer.toBuffer(raw);
    } catch {
      continue; // a float beyond float32 range and such: not a body anyone can write
    }
    // One body in five damaged: a byte changed, or cut short.
    const damaged = r.next() < 0.2;
    if (damaged && r.next() < 0.5 && body.length > 0) body[r.int(body.length)] = r.int(256);
    else if (damaged) body = body.subarray(0, r.int(body.length));
    let value: Record<string, unknown>;
    try {
      value = decodeStrict(body, resolver, 'fuzz', writer) as Record<string, unknown>;
    } catch (error) {
      assertPoisonWithField(t, error, `decode #${i}`);
      counts.undecodable++;
      continue;
    }
    // A string that decoded holds exactly the bytes written (was: invalid UTF-8 became U+FFFD).
    const written = raw as Record<string, unknown>;
    if (!damaged) {
      t.true(Buffer.from(value.label as string, 'utf8').equals(written.label as Buffer), `label #${i}`);
    }
    try {
      const row = mapper.toRow(value, meta);
      counts.rows++;
      // The nested longs are written with all their digits (was: TypeError on a bigint).
      const list = row[mapper.columns.findIndex((c) => c.name === 'list')];
      t.is(list, `[${(value.list as Array<number | bigint>).map(String).join(',')}]`);
      for (const [index, column] of mapper.columns.entries()) {
        if (column.kind === 'json' && row[index] !== null) JSON.parse(row[index]!);
      }
    } catch (error) {
      assertPoisonWithField(t, error, `map #${i}`);
      counts.rejected++;
    }
  }
  t.log(counts);
  t.true(counts.rows > 100 && counts.undecodable > 100 && counts.rejected > 100, JSON.stringify(counts));
});

const ODD_VALUES: unknown[] = [
  undefined,
  null,
  0,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  1.5,
  2n ** 63n,
  -(2n ** 63n) - 1n,
  '',
  '\u0000',
  'x',
  '+010000-01-01',
  '-004713-11-24',
  '5874898-01-01',
  '2026-02-30',
  new Date(Number.NaN),
  new Date(8.64e15),
  new Date(-8.64e15),
  Buffer.from([0xff]),
  new Uint8Array([1]),
  [],
  [1n, 2n ** 64n],
  { a: 2n ** 70n },
  {
    toJSON: () => {
      throw new Error('boom');
    },
  },
  Symbol('s'),
  () => 1,
  { nested: [{ deep: new Date(Number.NaN) }] },
  Object.create(null),
];

test('any JS value in any field maps to a row or a ROW_REJECTED naming the field, never another exception', (t) => {
  const r = seeded(7);
  const names = mapper.columns.map((c) => c.name).filter((n) => !n.startsWith('_kafka'));
  let base: unknown;
  for (let seed = 1; base === undefined; seed++) {
    try {
      const value = decodeStrict(writer.toBuffer(randomValue(writer, seeded(seed))), resolver, 'base');
      mapper.toRow(value as Record<string, unknown>, meta);
      base = value;
    } catch {
      // not a mappable value: the next seed
    }
  }
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 4000; i++) {
    const value: Record<string, unknown> = { ...(base as object) };
    for (let k = 1 + r.int(3); k > 0; k--) value[r.pick(names)] = r.pick(ODD_VALUES);
    const timestamp =
      r.next() < 0.05 ? r.pick(['', 'x', '1e400', '-210866803200001', '9224318016000000']) : meta.timestamp;
    try {
      mapper.toRow(value, { ...meta, timestamp });
      mapper.versionOf(value);
      accepted++;
    } catch (error) {
      if (!(error instanceof PoisonMessageError) || error.code !== 'ROW_REJECTED') {
        t.fail(`#${i}: threw ${(error as Error)?.name}: ${(error as Error)?.message}`);
        return;
      }
      t.truthy(error.details.field, error.message);
      rejected++;
    }
  }
  // A mapper that wrote every odd value as text would pass the loop above: most of them must be refused.
  t.log(`${rejected} refused, ${accepted} mapped`);
  t.true(rejected > 2000, `only ${rejected} of 4000 odd values refused`);
  t.pass();
});
