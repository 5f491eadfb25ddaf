import { isDeepStrictEqual } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import type avro from 'avsc';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { decodeStrict } from '../../src/codec/strict-decode.ts';
import { encodeWireFormat } from '../../src/codec/wire-format.ts';
import type { CatalogEntry } from '../../src/contracts/catalog.ts';
import { parseSchema } from '../../src/contracts/catalog.ts';
import { PoisonMessageError } from '../../src/errors.ts';
import { appendBinaryRow, binaryFieldEncoder } from '../../src/sink/copy-binary.ts';
import { appendBinaryLine, appendCopyLine, CopyBuffer, type CopyFormat } from '../../src/sink/copy-buffer.ts';
import { copyTextLine } from '../../src/sink/copy-text.ts';
import { createRowMapper, type RowMapper, type SqlText } from '../../src/sink/row-mapper.ts';
import { compileTranscoder } from '../../src/sink/row-transcoder.ts';
import { allTypesSchema } from '../support/all-types.ts';
/**
 * The differential test of the fast path (row-transcoder.ts) against the reference path (decodeStrict →
 * RowMapper.toRow): random reader schemas of every type and logical type the project maps (nested,
 * nullable), random evolved writers (fields added, dropped, renamed through aliases, reordered, promoted,
 * enum symbols the reader lacks, [null, X] read from X), random bodies with extremes, invalid UTF-8 and
 * damage. Whenever the fast path answers, the reference must have made the same row (same text per column,
 * same upsert version); whenever the reference refuses, the fast path must not answer (its message then
 * takes the reference path, so the dead letter and its cause are the reference's).
 */
import { schemaEntry } from '../support/schema-entry.ts';
import { type Random, seeded } from '../support/seeded-random.ts';

type Schema = unknown;

let names = 0;
const uniqueName = (prefix: string) => `${prefix}${++names}`;

const LOGICAL: Schema[] = [
  { type: 'string', logicalType: 'uuid' },
  { type: 'long', logicalType: 'timestamp-millis' },
  { type: 'long', logicalType: 'timestamp-micros' },
  { type: 'int', logicalType: 'date' },
  { type: 'int', logicalType: 'time-millis' },
  { type: 'long', logicalType: 'time-micros' },
  { type: 'long', logicalType: 'local-timestamp-millis' },
  { type: 'long', logicalType: 'local-timestamp-micros' },
];
const PRIMITIVES = ['boolean', 'int', 'long', 'float', 'double', 'string', 'bytes'];

/** A random reader type: scalars mostly, nested (jsonb) types sometimes. */
function randomType(r: Random, depth = 0): Schema {
  const roll = r.next();
  if (roll < 0.35) return r.pick(PRIMITIVES);
  if (roll < 0.55) return r.pick(LOGICAL);
  if (roll < 0.62) {
    const precision = 1 + r.int(20);
    return { type: 'bytes', logicalType: 'decimal', precision, scale: r.int(precision + 1) };
  }
  if (roll < 0.65) {
    return { type: 'fixed', name: uniqueName('M'), size: 4, logicalType: 'decimal', precision: 9, scale: 2 };
  }
  if (roll < 0.7) return { type: 'fixed', name: uniqueName('F'), size: 1 + r.int(6) };
  if (roll < 0.77) {
    const symbols = ['A', 'B', 'C_D'].slice(0, 1 + r.int(3));
    return {
      type: 'enum',
      name: uniqueName('E'),
      symbols,
      ...(r.next() < 0.5 ? { default: symbols[0] } : {}),
    };
  }
  if (depth > 1) return r.pick(PRIMITIVES);
  if (roll < 0.82) return { type: 'array', items: randomType(r, depth + 1) };
  if (roll < 0.86) return { type: 'map', values: randomType(r, depth + 1) };
  if (roll < 0.9)
    return r.pick([
      ['null', 'string', 'long'],
      ['string', 'double'],
    ]);
  return {
    type: 'record',
    name: uniqueName('R'),
    fields: Array.from({ length: 1 + r.int(3) }, (_, i) => ({
      name: `n${i}`,
      type: randomType(r, depth + 1),
    })),
  };
}

/** A nullable or plain field type; scalars may be [null, X] or [X, null]. */
function randomFieldType(r: Random): Schema {
  const type = randomType(r);
  if (Array.isArray(type) || r.next() < 0.6) return type;
  return r.next() < 0.8 ? ['null', type] : [type, 'null'];
}

interface FieldSchema {
  name: string;
  type: Schema;
  default?: unknown;
  aliases?: string[];
}

/** What a writer may have written for a reader type: the same, or a type the reader promotes. */
function writerTypeFor(r: Random, reader: Schema): Schema {
  if (r.next() < 0.7) return reader;
  if (reader === 'long') return 'int';
  if (reader === 'float') return r.pick(['int', 'long']);
  if (reader === 'double') return r.pick(['int', 'long', 'float']);
  if (Array.isArray(reader) && reader.length === 2 && reader.includes('null'))
    return reader.find((t) => t !== 'null');
  if (typeof reader === 'object' && reader !== null && (reader as { type: string }).type === 'enum') {
    const e = reader as { symbols: string[]; default?: string };
    if (e.default !== undefined) return { ...e, symbols: [...e.symbols, 'ZZ'] };
  }
  return reader;
}

interface Pair {
  reader: Schema;
  writer: Schema;
  versionField: string | undefined;
}

/** A reader record and a writer it can read (the writer may be the very same schema). */
function randomPair(r: Random): Pair {
  const fields: FieldSchema[] = [{ name: 'id', type: 'string' }];
  const upsert = r.next() < 0.3;
  if (upsert) fields.push({ name: 'ver', type: r.pick(['int', 'long', LOGICAL[1], LOGICAL[2], LOGICAL[3]]) });
  for (let i = 1 + r.int(7); i > 0; i--) fields.push({ name: uniqueName('f'), type: randomFieldType(r) });
  const record = uniqueName('Rec');
  const reader = { type: 'record', name: record, namespace: 'fuzz', fields };
  if (r.next() < 0.3) return { reader, writer: reader, versionField: upsert ? 'ver' : undefined };

  // Reader fields with defaults the writer may lack, writer fields the reader drops, renames, reordering.
  const readerFields: FieldSchema[] = fields.map((f) => ({ ...f }));
  for (let i = r.int(3); i > 0; i--) {
    readerFields.push(
      r.pick<FieldSchema>([
        { name: uniqueName('d'), type: ['null', 'string'], default: null },
        { name: uniqueName('d'), type: 'int', default: 42 },
        { name: uniqueName('d'), type: 'string', default: 'tab\there' },
        { name: uniqueName('d'), type: LOGICAL[3], default: 19_000 },
      ]),
    );
  }
  const writerFields: FieldSchema[] = [];
  for (const f of readerFields) {
    if (f.default !== undefined && r.next() < 0.7) continue; // the writer lacks it: the reader's default
    let name = f.name;
    if (f.name !== 'id' && f.name !== 'ver' && r.next() < 0.15) {
      name = uniqueName('old');
      f.aliases = [name];
    }
    writerFields.push({ name, type: f.name === 'ver' ? f.type : writerTypeFor(r, f.type) });
  }
  for (let i = r.int(3); i > 0; i--)
    writerFields.push({ name: uniqueName('gone'), type: randomFieldType(r) });
  // Half the writers keep the reader's order (defaults and dropped fields in between): the transcoder then
  // writes COPY bytes in one pass; the others are reordered (bytes from the row's texts).
  const shuffle = r.next() < 0.5;
  for (let i = shuffle ? writerFields.length - 1 : 0; i > 0; i--) {
    const j = r.int(i + 1);
    [writerFields[i], writerFields[j]] = [writerFields[j]!, writerFields[i]!];
  }
  return {
    reader: { ...reader, fields: readerFields },
    writer: { type: 'record', name: record, namespace: 'fuzz', fields: writerFields },
    versionField: upsert ? 'ver' : undefined,
  };
}

function entryOf(reader: Schema, versionField: string | undefined): CatalogEntry {
  return schemaEntry(reader, { topic: 'fuzz', table: 'fuzz', versionField });
}

/** The writer schema as bytes on the wire: logical types as their underlying types, strings as any bytes. */
function rawSchema(node: unknown, stringsAsBytes = true): unknown {
  if (node === 'string' && stringsAsBytes) return 'bytes';
  if (Array.isArray(node)) return node.map((n) => rawSchema(n, stringsAsBytes));
  if (typeof node !== 'object' || node === null) return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'default' || key === 'aliases') continue;
    copy[key] = key === 'name' || key === 'symbols' ? value : rawSchema(value, stringsAsBytes);
  }
  delete copy.logicalType;
  delete copy.precision;
  delete copy.scale;
  return copy;
}

const INTS = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), -719_162, -719_163, 2_932_896, 2_932_897, -2_440_589];
const LONGS: Array<number | bigint> = [
  0,
  -1,
  2 ** 48 - 1,
  2 ** 48,
  -(2 ** 48),
  Number.MAX_SAFE_INTEGER,
  2n ** 53n + 1n,
  -(2n ** 63n),
  2n ** 63n - 1n,
  8_640_000_000_000_000,
  -210_866_803_200_000_001n,
  253_402_300_800_000,
  253_402_300_799_999,
  -62_135_596_800_000,
  -62_135_596_800_001,
  86_399_999_999,
  86_400_000_000,
];
const FLOATS = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, 5e-324, 0.1, -1e-10, 3.4028234663852886e38];
// biome-ignore format: one piece per entry
const VALID = [[], [0x61], [0xef, 0xbf, 0xbd], [0xc3, 0xa9], [0xf0, 0x9f, 0x98, 0x80], [0x5c, 0x09, 0x0a, 0x0d], [0x22], [0x01, 0x1f, 0x7f], [0x08, 0x0c, 0x22], [0xe2, 0x80, 0xa8], [0x5c, 0x4e]];
// biome-ignore format: as above
const INVALID = [[0xed, 0xa0, 0x80], [0xff, 0xfe], [0xc0, 0x80], [0x80]];
const UUIDS = ['0b3f2a51-2f6c-4c4e-9a57-4d3c4ab1e001', '0B3F2A51-2F6C-4C4E-9A57-4D3C4AB1E001', 'x', ''];

function randomBytes(r: Random): Buffer {
  if (r.next() < 0.3) return Buffer.from(r.pick(UUIDS));
  const parts: number[] = [];
  for (let i = r.int(4); i > 0; i--) parts.push(...r.pick(r.next() < 0.05 ? INVALID : VALID));
  return Buffer.from(parts);
}

function decimalBytes(r: Random): Buffer {
  const digits = r.pick([0, 1, 2, 5, 9, 12, 25]);
  let unscaled = 0n;
  for (let i = 0; i < digits; i++) unscaled = unscaled * 10n + BigInt(1 + r.int(9));
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

const WILD = 0.02;

/**
 * A raw value (what the logical-free raw writer encodes) for a writer type: valid for its logical type
 * mostly, an extreme or arbitrary bytes with probability WILD per value, so that whole records are often
 * clean and often not.
 */
function randomValue(type: avro.Type, r: Random, depth = 0): unknown {
  const wild = r.next() < WILD;
  switch (type.typeName) {
    case 'null':
      return null;
    case 'boolean':
      return r.next() < 0.5;
    case 'int':
      return wild || r.next() < 0.1 ? r.pick(INTS) : r.int(40_000) - 20_000;
    case 'long':
    case 'abstract:long':
      return wild || r.next() < 0.1
        ? r.pick(LONGS)
        : (r.next() < 0.5 ? -1 : 1) * r.int(2 ** 31) * r.pick([1, 1000, 1_000_000]);
    case 'float':
    case 'double':
      return wild || r.next() < 0.2 ? r.pick(FLOATS) : (r.next() - 0.5) * 10 ** r.int(20);
    case 'string':
      return wild
        ? randomBytes(r)
        : Buffer.from(
            r.pick([
              '',
              'plain',
              'tab\tnew\nline',
              'back\\slash',
              'é😀',
              '\u0000',
              '\uFFFD',
              'ctl\u0001\b\f"q\u007f',
            ]),
          );
    case 'bytes':
      return wild ? decimalBytes(r) : randomBytes(r);
    case 'fixed': {
      const size = (type as avro.types.FixedType).size;
      return Buffer.from(Array.from({ length: size }, () => r.pick([0, 0x7f, 0x80, 0xff, r.int(256)])));
    }
    case 'enum':
      return r.pick((type as avro.types.EnumType).symbols);
    case 'array':
      return Array.from({ length: depth > 2 ? 0 : r.int(3) }, () =>
        randomValue((type as avro.types.ArrayType).itemsType, r, depth + 1),
      );
    case 'map': {
      const map: Record<string, unknown> = {};
      for (let i = depth > 2 ? 0 : r.int(3); i > 0; i--)
        map[r.pick(['', 'k', 'a"b', 'é', '1', '01', '4294967295'])] = randomValue(
          (type as avro.types.MapType).valuesType,
          r,
          depth + 1,
        );
      return map;
    }
    case 'record': {
      const record: Record<string, unknown> = {};
      for (const field of (type as avro.types.RecordType).fields)
        record[field.name] = randomValue(field.type, r, depth + 1);
      return record;
    }
    case 'logical:uuid':
      return wild ? randomBytes(r) : Buffer.from(r.pick(UUIDS.slice(0, 2)));
    case 'logical:decimal': {
      const { precision, scale } = type as unknown as { precision: number; scale: number };
      const underlying = (type as avro.types.LogicalType).underlyingType;
      if (underlying.typeName === 'fixed') return randomValue(underlying, r, depth);
      if (wild) return decimalBytes(r);
      return decimalBytesOf(
        BigInt(r.int(10 ** Math.min(precision, 15))) * (r.next() < 0.5 ? -1n : 1n),
        scale,
      );
    }
    case 'logical:timestamp-millis':
    case 'logical:local-timestamp-millis':
      return wild ? r.pick(LONGS) : 1_767_225_600_000 + r.int(2 ** 31) * (r.next() < 0.5 ? -1 : 1);
    case 'logical:timestamp-micros':
    case 'logical:local-timestamp-micros':
      return wild ? r.pick(LONGS) : 1_767_225_600_000_000 + r.int(2 ** 31) * r.pick([-1000, 1, 999]);
    case 'logical:date':
      return wild ? r.pick(INTS) : 20_000 + r.int(2000) - 1000;
    case 'logical:time-millis':
      return wild ? r.pick(INTS) : r.int(86_400_000);
    case 'logical:time-micros':
      return wild ? r.pick(LONGS) : r.int(86_400_000) * 1000 + r.int(1000);
    default: {
      if (!type.typeName.startsWith('union')) throw new Error(`the fuzzer does not know ${type.typeName}`);
      const branch = r.pick((type as avro.types.UnwrappedUnionType).types);
      const value = randomValue(branch, r, depth);
      if (type.typeName === 'union:wrapped' && branch.typeName !== 'null')
        return { [branch.branchName!]: value };
      return value;
    }
  }
}

/** Two's complement bytes of an unscaled decimal (the scale only documents what the digits mean). */
function decimalBytesOf(unscaled: bigint, _scale: number): Buffer {
  const bytes: number[] = [];
  let rest = unscaled;
  do {
    bytes.unshift(Number(rest & 0xffn));
    rest >>= 8n;
  } while (!((rest === 0n && (bytes[0]! & 0x80) === 0) || (rest === -1n && (bytes[0]! & 0x80) !== 0)));
  return Buffer.from(bytes);
}

const meta = { partition: 2, offset: '41', timestamp: '1767225600000' };

interface Tally {
  pairs: number;
  bodies: number;
  fast: number;
  fellBack: number;
  refused: number;
  /** Rows whose COPY bytes came from transcodeCopy (insert mode's fast path). */
  copyFast: number;
  /** Rows whose binary COPY tuple came from transcodeBinary. */
  binaryFast: number;
}

const lines = new CopyBuffer(1024);

/** The whole COPY line of a transcodeCopy slice, meta columns and newline included, as its own buffer. */
function copyLineOf(mapper: RowMapper, slice: { buffer: Buffer; start: number; end: number }): Buffer {
  const line = appendCopyLine(lines, slice, meta, mapper.kafkaTimestampText);
  return Buffer.from(line.buffer.subarray(line.start, line.end));
}

/** The whole binary tuple of a transcodeBinary slice, meta columns included, as its own buffer. */
function binaryLineOf(mapper: RowMapper, slice: { buffer: Buffer; start: number; end: number }): Buffer {
  const line = appendBinaryLine(
    lines,
    slice,
    mapper.columns.length - 3,
    meta,
    mapper.kafkaTimestampText,
    binaryFieldEncoder('timestamp with time zone'),
  );
  return Buffer.from(line.buffer.subarray(line.start, line.end));
}

/** The reference row as a binary tuple, by copy-binary.ts's encoders of its texts. */
function binaryRowOf(mapper: RowMapper, row: readonly SqlText[]): Buffer {
  const line = appendBinaryRow(
    lines,
    mapper.columns.map((c) => binaryFieldEncoder(c.pgType)),
    row,
  );
  return Buffer.from(line.buffer.subarray(line.start, line.end));
}

/** Runs bodies of one writer through both paths; fails on any difference. */
function compare(
  t: ExecutionContext,
  entry: CatalogEntry,
  writerSchema: Schema,
  r: Random,
  bodies: number,
  tally: Tally,
): boolean {
  const writer = parseSchema(writerSchema, 'fuzz writer');
  const raw = parseSchema(rawSchema(writerSchema), 'fuzz raw writer');
  let resolver: avro.Resolver;
  try {
    resolver = entry.reader.type.createResolver(writer);
  } catch {
    return true; // a pair the registry's rules would refuse anyway
  }
  const mapper = createRowMapper(entry);
  const transcoder = compileTranscoder(entry, writer);
  tally.pairs++;
  for (let i = 0; i < bodies; i++) {
    let body: Buffer;
    try {
      body = raw.toBuffer(randomValue(writer, r));
    } catch {
      continue; // a value the writer cannot encode (a double past float32 in a float field)
    }
    const damage = r.next();
    if (damage < 0.08 && body.length > 0) body = body.subarray(0, r.int(body.length));
    else if (damage < 0.12 && body.length > 0) body[r.int(body.length)] = r.int(256);
    else if (damage < 0.14) body = Buffer.concat([body, Buffer.from([0])]);
    tally.bodies++;

    let reference: { row: SqlText[]; version: bigint | null } | PoisonMessageError;
    try {
      const value = decodeStrict(body, resolver, 'fuzz', writer) as Record<string, unknown>;
      reference = { row: mapper.toRow(value, meta), version: mapper.versionOf(value) };
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) {
        t.fail(`reference threw ${(error as Error).message}`);
        return false;
      }
      reference = error;
    }
    const where = `writer ${JSON.stringify(writerSchema)}\nreader ${JSON.stringify(entry.reader.schema)}\nbody ${body.toString('hex')}`;
    // Insert mode's fast path: the line's bytes must be the reference row's line, encoded, byte for byte.
    const copy = transcoder?.transcodeCopy(body);
    if (copy !== undefined) {
      if (reference instanceof PoisonMessageError) {
        t.fail(`transcodeCopy accepted what the reference refuses (${reference.message})\n${where}`);
        return false;
      }
      const expected = Buffer.from(copyTextLine(reference.row));
      const actual = copyLineOf(mapper, copy);
      if (!actual.equals(expected) || transcoder!.version !== reference.version) {
        t.is(
          actual.toString('hex'),
          expected.toString('hex'),
          `${JSON.stringify(actual.toString())}\n${where}`,
        );
        t.is(transcoder!.version, reference.version, where);
        return false;
      }
      tally.copyFast++;
    }
    // Binary COPY's fast path: the tuple must be what the reference encoders make of the reference row.
    const binary = transcoder?.transcodeBinary(body);
    if (binary !== undefined) {
      if (reference instanceof PoisonMessageError) {
        t.fail(`transcodeBinary accepted what the reference refuses (${reference.message})\n${where}`);
        return false;
      }
      const expected = binaryRowOf(mapper, reference.row);
      const actual = binaryLineOf(mapper, binary);
      if (!actual.equals(expected) || transcoder!.version !== reference.version) {
        t.is(actual.toString('hex'), expected.toString('hex'), `${JSON.stringify(reference.row)}\n${where}`);
        t.is(transcoder!.version, reference.version, where);
        return false;
      }
      tally.binaryFast++;
    }
    const fields = transcoder?.transcode(body);
    if (fields === undefined) {
      if (reference instanceof PoisonMessageError) tally.refused++;
      else tally.fellBack++;
      continue;
    }
    if (reference instanceof PoisonMessageError) {
      t.fail(`the fast path accepted what the reference refuses (${reference.message})\n${where}`);
      return false;
    }
    const row = mapper.withMeta(fields, meta);
    // isDeepStrictEqual, not JSON: JSON.stringify writes undefined and null in an array alike.
    if (!isDeepStrictEqual(row, reference.row) || transcoder!.version !== reference.version) {
      t.deepEqual(row, reference.row, where);
      t.is(transcoder!.version, reference.version, where);
      return false;
    }
    tally.fast++;
  }
  return true;
}

test('the fast path makes the reference path row of random evolved schemas and bodies, or leaves the message to it', (t) => {
  const r = seeded(20261129);
  const tally: Tally = { pairs: 0, bodies: 0, fast: 0, fellBack: 0, refused: 0, copyFast: 0, binaryFast: 0 };
  for (let p = 0; p < 400; p++) {
    const pair = randomPair(r);
    let entry: CatalogEntry;
    try {
      entry = entryOf(pair.reader, pair.versionField);
      createRowMapper(entry);
    } catch {
      continue;
    }
    if (!compare(t, entry, pair.writer, r, 60, tally)) return;
  }
  t.log(tally);
  // The comparison means something only if both answers are common.
  t.true(tally.pairs > 250, JSON.stringify(tally));
  t.true(tally.fast > tally.bodies / 3, JSON.stringify(tally));
  // The bytes path declines only what the text path declines, and strings with NUL (the reference decides).
  t.true(tally.copyFast > tally.fast * 0.9, JSON.stringify(tally));
  // The binary path declines a little more (strings with U+FFFD inside jsonb take their text, which declines).
  t.true(tally.binaryFast > tally.copyFast * 0.9, JSON.stringify(tally));
  t.true(tally.refused > 500, JSON.stringify(tally));
});

test('every mapped type at once (all-types record): the fast path matches the reference, same schema and raw writer', (t) => {
  const r = seeded(7);
  const tally: Tally = { pairs: 0, bodies: 0, fast: 0, fellBack: 0, refused: 0, copyFast: 0, binaryFast: 0 };
  for (const versionField of [undefined, 'big']) {
    const entry = entryOf(allTypesSchema, versionField);
    if (!compare(t, entry, allTypesSchema, r, 1500, tally)) return;
    // Logical types written as their underlying types: the reader converts them (avsc's resolver per field).
    if (!compare(t, entry, rawSchema(allTypesSchema, false), r, 500, tally)) return;
  }
  t.log(tally);
  t.is(tally.pairs, 4);
  t.true(tally.fast > 200 && tally.refused > 200, JSON.stringify(tally));
  t.true(tally.copyFast > tally.fast * 0.9, JSON.stringify(tally));
  // The binary path declines a little more (strings with U+FFFD inside jsonb take their text, which declines).
  t.true(tally.binaryFast > tally.copyFast * 0.9, JSON.stringify(tally));
});

test('a body the writer wrote cleanly takes the fast path for every scalar type (no silent fallback)', (t) => {
  const schema = {
    type: 'record',
    name: 'Clean',
    fields: [
      { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
      { name: 'b', type: 'boolean' },
      { name: 'i', type: 'int' },
      { name: 'l', type: 'long' },
      { name: 'f', type: 'float' },
      { name: 'd', type: 'double' },
      { name: 's', type: ['null', 'string'] },
      { name: 'e', type: { type: 'enum', name: 'E', symbols: ['X', 'Y'] } },
      { name: 'raw', type: 'bytes' },
      { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
      { name: 'ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'us', type: { type: 'long', logicalType: 'timestamp-micros' } },
      { name: 'day', type: { type: 'int', logicalType: 'date' } },
    ],
  };
  const entry = entryOf(schema, 'l');
  const type = entry.reader.type;
  const transcoder = compileTranscoder(entry, parseSchema(schema, 'writer'))!;
  const body = type.toBuffer({
    id: 'AB3F2A51-2F6C-4C4E-9A57-4D3C4AB1E001',
    b: true,
    i: -7,
    l: 2 ** 40,
    f: 0.5,
    d: -0,
    s: 'a\tb',
    e: 'Y',
    raw: Buffer.from([0, 255]),
    amount: '-12.50',
    ms: new Date('2026-01-01T00:00:00.123Z'),
    us: 1_767_225_600_123_456n,
    day: '2026-02-28',
  });
  const fields = transcoder.transcode(body);
  t.deepEqual(fields?.slice(0, 13), [
    'ab3f2a51-2f6c-4c4e-9a57-4d3c4ab1e001',
    't',
    '-7',
    String(2 ** 40),
    '0.5',
    '-0',
    'a\tb',
    'Y',
    '\\x00ff',
    '-12.50',
    '2026-01-01T00:00:00.123Z',
    '2026-01-01T00:00:00.123456Z',
    '2026-02-28',
  ]);
  t.is(transcoder.version, 2n ** 40n);
  // The same row as COPY bytes, written from the Avro bytes (no text fallback for these types either).
  const copy = transcoder.transcodeCopy(body);
  t.truthy(copy);
  t.deepEqual(
    copyLineOf(createRowMapper(entry), copy!),
    Buffer.from(copyTextLine(createRowMapper(entry).withMeta(fields!, meta))),
  );
});

/** Avro binary of a map<string> written by hand: duplicate keys and any order, which a JS object cannot hold. */
function mapBody(pairs: Array<[string, string]>, blockSize = false): Buffer {
  const zigzag = (n: number) => (n >= 0 ? 2 * n : -2 * n - 1);
  const varint = (n: number) => {
    const out: number[] = [];
    let v = zigzag(n);
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return out;
  };
  const str = (text: string) => [...varint(Buffer.byteLength(text)), ...Buffer.from(text)];
  const items = pairs.flatMap(([k, v]) => [...str(k), ...str(v)]);
  const head =
    pairs.length === 0
      ? []
      : blockSize
        ? [...varint(-pairs.length), ...varint(items.length)]
        : varint(pairs.length);
  return Buffer.from([...str('id-1'), ...head, ...items, 0]);
}

test('maps the fast path writes as JSON itself keep the reference order and values: array-index keys, duplicates, __proto__, sized blocks', (t) => {
  const schema = {
    type: 'record',
    name: 'WithMap',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'attributes', type: { type: 'map', values: 'string' } },
    ],
  };
  const entry = entryOf(schema, undefined);
  const writer = parseSchema(schema, 'writer');
  const transcoder = compileTranscoder(entry, writer)!;
  const mapper = createRowMapper(entry);
  const resolver = entry.reader.type.createResolver(writer);
  const cases: Array<[Array<[string, string]>, boolean]> = [
    [
      [
        ['b', '1'],
        ['a', '2'],
      ],
      false,
    ],
    [
      [
        ['b', '1'],
        ['a', 'x\ty'],
      ],
      true,
    ],
    [
      [
        ['b', '1'],
        ['1', 'one'],
        ['0', 'zero'],
      ],
      false,
    ],
    [
      [
        ['b', '1'],
        ['a', '2'],
        ['b', '3'],
      ],
      false,
    ],
    [
      [
        ['__proto__', 'p'],
        ['a', '2'],
      ],
      false,
    ],
    [[], false],
    [
      [
        ['q"uote', 'back\\slash "quoted" \u0001\u001f\b\f\t\n\r\u007f é \u2028'],
        ['', ''],
        ['k\tey', '\\N'],
      ],
      true,
    ],
  ];
  let fast = 0;
  let copyFast = 0;
  for (const [pairs, sized] of cases) {
    const body = mapBody(pairs, sized);
    const reference = mapper.toRow(decodeStrict(body, resolver, 'map') as Record<string, unknown>, meta);
    const copy = transcoder.transcodeCopy(body);
    if (copy !== undefined) {
      copyFast++;
      t.deepEqual(copyLineOf(mapper, copy), Buffer.from(copyTextLine(reference)), JSON.stringify(pairs));
    }
    const binary = transcoder.transcodeBinary(body);
    t.is(binary === undefined, copy === undefined, JSON.stringify(pairs));
    if (binary !== undefined)
      t.deepEqual(binaryLineOf(mapper, binary), binaryRowOf(mapper, reference), JSON.stringify(pairs));
    const fields = transcoder.transcode(body);
    if (fields === undefined) continue;
    fast++;
    t.deepEqual(mapper.withMeta(fields, meta), reference, JSON.stringify(pairs));
  }
  t.true(copyFast >= fast, `${copyFast} of ${cases.length} as COPY bytes`);
  // Plain keys (with and without a sized block, and the empty map) take the fast path; the others may not.
  t.true(fast >= 3, `${fast} of ${cases.length} on the fast path`);
});

const sameVerdicts = test.macro(async (t, versionField: string | undefined, format: CopyFormat) => {
  const entry = entryOf(allTypesSchema, versionField);
  const writer = parseSchema(allTypesSchema, 'writer');
  const source = { schemaById: async () => allTypesSchema as avro.Schema };
  const fast = new MessageDecoder(source);
  const reference = new MessageDecoder(source, { fastPath: false });
  const r = seeded(99);
  const values: Array<Buffer | null> = [
    null,
    Buffer.alloc(0),
    Buffer.from([0, 0, 0]),
    Buffer.from([1, 0, 0, 0, 1]),
  ];
  for (let i = 0; i < 400; i++) {
    const body = parseSchema(rawSchema(allTypesSchema), 'raw').toBuffer(randomValue(writer, r));
    const framed = encodeWireFormat(1, body);
    values.push(r.next() < 0.1 ? framed.subarray(0, 5 + r.int(body.length)) : framed);
  }
  const mapper = createRowMapper(entry);
  const [a, b] = [
    await fast.decodeBatch(entry, values, format),
    await reference.decodeBatch(entry, values, format),
  ];
  let rows = 0;
  for (let i = 0; i < values.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    t.is(x.kind, y.kind, `#${i}`);
    if (x.kind === 'poison' && y.kind === 'poison') {
      t.is(x.error.message, y.error.message);
      t.is(x.error.code, y.error.code);
    }
    if (x.kind === 'row' && y.kind === 'row') {
      let expected: SqlText[];
      try {
        expected = mapper.toRow(y.value, meta);
      } catch (error) {
        // The row mapper refuses it (ROW_REJECTED): the fast path must have left it to the reference.
        t.true(error instanceof PoisonMessageError);
        t.false('fields' in x, `#${i}`);
        t.is(x.copy, undefined, `#${i}`);
        continue;
      }
      // A fast row: its COPY bytes (inserts and upserts alike) and version; its decoded value on demand is
      // the reference's value.
      t.false('fields' in x, 'the decoder makes no texts: COPY bytes only');
      if (x.copy !== undefined) {
        rows++;
        t.is(x.copyFormat, format);
        if (format === 'text') t.deepEqual(copyLineOf(mapper, x.copy), Buffer.from(copyTextLine(expected)));
        else t.deepEqual(binaryLineOf(mapper, x.copy), binaryRowOf(mapper, expected));
        t.is(x.version, mapper.versionOf(y.value));
        t.deepEqual(mapper.toRow(x.value, meta), expected);
      }
    }
  }
  t.true(rows > 50, `${rows} rows on the fast path`);
});

for (const format of ['binary', 'text'] as const) {
  test(
    `decodeBatch gives the same verdict and the same row with and without the fast path: framing, tombstones, damage (upsert: COPY ${format} bytes and version)`,
    sameVerdicts,
    'big',
    format,
  );
  test(
    `decodeBatch gives the same verdict and the same COPY ${format} bytes with and without the fast path: framing, tombstones, damage (insert)`,
    sameVerdicts,
    undefined,
    format,
  );
}
