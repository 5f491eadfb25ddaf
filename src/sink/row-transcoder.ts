/**
 * The fast path: an Avro body written with one writer schema → the row's PostgreSQL text per column, in
 * one pass over the bytes, with the reader schema's projection compiled in (fields the reader dropped are
 * skipped, fields the writer lacks get their default's text, computed once, promotions and enum defaults
 * are tables). No JS object per record, no resolver walk, no BigInt for a long that fits a double.
 *
 * It is an optimisation of the reference path (decodeStrict → RowMapper.toRow), never a second opinion:
 * whatever is unusual (a string with U+FFFD, a long past 2^53, a timestamp outside the years 1–9999, a
 * UUID that is not one, a null in a required column, truncation, trailing bytes, a union branch or enum
 * index out of range) makes it answer `undefined`, and that message takes the reference path, which gives
 * the verdict and the cause. Fields whose types it has no compiled reader for (unions beyond [null, X],
 * floats or bytes inside jsonb, types the writer and reader spell differently) are read by avsc's own
 * resolver for that field and converted by the row mapper's own converter. The differential fuzz test
 * (test/unit/transcoder-fuzz.test.ts) holds it to the same text as the reference, and to never accept what
 * the reference refuses.
 */
import type avro from 'avsc';
import { type AvscTap, StrictTap } from '../codec/strict-decode.ts';
import type { CatalogEntry } from '../contracts/catalog.ts';
import { civilFromDays, isoDateText } from '../contracts/civil-date.ts';
import { collectInvalidValues } from '../contracts/logical-types.ts';
import { fieldColumns } from './column-types.ts';
import {
  type BinaryFieldEncoder,
  binaryColumnType,
  binaryFieldEncoder,
  PG_EPOCH_DAYS,
} from './copy-binary.ts';
import {
  appendTimestamptzMillis,
  CopyBuffer,
  type CopyFormat,
  type CopySlice,
  copyFieldBytes,
} from './copy-buffer.ts';
import { epochMillisText, ISO_MAX_MS, ISO_MIN_MS, usualMicrosText } from './pg-text.ts';
import { createRowMapper, type RowMapper, type SqlText, versionValue } from './row-mapper.ts';

/** Turns one body into the row's field texts (meta columns left for RowMapper.withMeta), or undefined. */
export interface RowTranscoder {
  /**
   * The row (length: the mapper's columns) or undefined: take the reference path for this message. The
   * body is `buffer` from `start` to its end (a framed Kafka value is read in place).
   */
  transcode(buffer: Buffer, start?: number): SqlText[] | undefined;
  /**
   * Insert mode: the row's fields as COPY text bytes, each followed by a tab (appendCopyLine adds the
   * `_kafka_*` columns and the newline), appended to the transcoder's own buffer; or undefined: take the
   * reference path. The bytes are those of `copyTextLine` of the reference row, encoded as UTF-8.
   */
  transcodeCopy(buffer: Buffer, start?: number): CopySlice | undefined;
  /**
   * Insert and upsert modes with binary COPY: the row's fields as binary COPY fields (each an int32 length
   * and the type's `*_send` bytes; appendBinaryLine adds the field count and the `_kafka_*` columns), or
   * undefined: take the reference path. The bytes are those copy-binary.ts's encoders make of the reference
   * row's texts.
   */
  transcodeBinary(buffer: Buffer, start?: number): CopySlice | undefined;
  /** The upsert version of the last row transcode or transcodeCopy returned (null without a version field). */
  readonly version: bigint | null;
}

/** Thrown inside a transcode when the message must take the reference path; never escapes. */
const FALLBACK = Symbol('fallback');

type FastTap = AvscTap & { buf: FastBuffer; bad: unknown[] };

interface State {
  tap: FastTap;
  row: SqlText[];
  version: bigint | null;
  out: CopyBuffer;
}

type Step = (s: State) => void;
/** Reads one value and appends its COPY field bytes to `s.out`. */
type ByteWriter = (s: State) => void;
/** Reads one value and returns its column text. */
type TextReader = (s: State) => SqlText;

/** Node's unchecked slicers (what avsc itself calls): no argument checks, unlike toString. */
type FastBuffer = AvscTap['buf'] & {
  hexSlice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
};

interface Readable {
  _read(tap: AvscTap): unknown;
  _skip(tap: AvscTap): void;
  _fromValue(value: unknown): unknown;
}

/** |ms| a Date holds. */
const DATE_LIMIT_MS = 8.64e15;
/** Days of 0001-01-01 and 9999-12-31: in between, the ISO day is PostgreSQL's date text as it is. */
const ISO_MIN_DAY = -719_162;
const ISO_MAX_DAY = 2_932_896;

/** 1: a lower-case hex digit, 2: an upper-case one, 0: neither. */
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdef') HEX[c.charCodeAt(0)] = 1;
for (const c of 'ABCDEF') HEX[c.charCodeAt(0)] = 2;

/**
 * Whether the bytes are a UUID as isUuid reads one (8-4-4-4-12 hex digits, either case), by a loop
 * over the bytes rather than a regular expression on a string: true when it has an upper-case digit.
 * Anything else takes the reference path.
 */
function uuidBytes(buf: Buffer, start: number, end: number): boolean {
  if (end - start !== 36) fallback();
  let kinds = 0;
  for (let i = 0; i < 36; i++) {
    const b = buf[start + i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (b !== 0x2d) fallback();
    } else {
      const kind = HEX[b]!;
      if (kind === 0) fallback();
      kinds |= kind;
    }
  }
  return (kinds & 2) !== 0;
}

function fallback(): never {
  throw FALLBACK;
}

/**
 * A zig-zag varint as avsc reads it, while it is exact in a double: at most 8 bytes and below 2^53 before
 * the zig-zag (|value| ≤ 2^52, today's timestamp-micros included). Each 7-bit term is exact, so the sum is
 * exact when it stays below 2^53; a larger one rounds to at least 2^53 and is caught. Longer encodings,
 * larger values and any read at the end take the reference path (exact, with BigInt).
 */
function readLong(tap: FastTap): number {
  const buf = tap.buf;
  let pos = tap.pos;
  if (pos >= buf.length) fallback();
  let b = buf[pos++]!;
  let n = b & 0x7f;
  let scale = 128;
  while (b & 0x80) {
    if (pos >= buf.length || scale > 2 ** 49) fallback();
    b = buf[pos++]!;
    n += (b & 0x7f) * scale;
    scale *= 128;
  }
  if (n >= 2 ** 53) fallback();
  tap.pos = pos;
  return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
}

/** The bounds of a length-prefixed value (string, bytes), past which the tap has moved. */
function span(tap: FastTap): number {
  const length = readLong(tap);
  const start = tap.pos;
  if (length < 0 || start + length > tap.buf.length) fallback();
  tap.pos = start + length;
  return start;
}

function floatText(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

function isLogical(type: avro.Type): boolean {
  return type.typeName.startsWith('logical:');
}

function baseName(type: avro.Type): string {
  return type.typeName === 'abstract:long' ? 'long' : type.typeName;
}

/** Reads a long-like writer value (int or long) as a number. */
function numberReader(writer: avro.Type): ((tap: FastTap) => number) | undefined {
  const name = baseName(writer);
  if (name === 'int' || name === 'long') return readLong;
  return undefined;
}

/** The [null, X] / [X, null] shape: X and where null is; undefined for any other type. */
function nullableBranch(type: avro.Type): { present: avro.Type; nullIndex: number } | undefined {
  if (type.typeName !== 'union:unwrapped') return undefined;
  const types: avro.Type[] = (type as avro.types.UnwrappedUnionType).types;
  if (types.length !== 2) return undefined;
  const nullIndex = types.findIndex((t) => t.typeName === 'null');
  if (nullIndex < 0 || types[1 - nullIndex]!.typeName === 'null') return undefined;
  return { present: types[1 - nullIndex]!, nullIndex };
}

function sameLogical(reader: avro.Type, writer: avro.Type): boolean {
  if (reader.typeName !== writer.typeName) return false;
  const r = reader as unknown as { precision?: number; scale?: number; underlyingType: avro.Type };
  const w = writer as unknown as { precision?: number; scale?: number; underlyingType: avro.Type };
  if (r.precision !== w.precision || r.scale !== w.scale) return false;
  const ru = r.underlyingType;
  const wu = w.underlyingType;
  if (baseName(ru) !== baseName(wu)) return false;
  if (ru.typeName === 'fixed') return (ru as avro.types.FixedType).size === (wu as avro.types.FixedType).size;
  return true;
}

/**
 * A compiled reader for a non-union reader type read from a non-union writer type, or undefined (the
 * field then takes avsc's resolver). `onVersion` receives the raw value of the upsert version field.
 */
function scalarReader(
  reader: avro.Type,
  writer: avro.Type,
  onVersion: ((s: State, raw: number) => void) | undefined,
): TextReader | undefined {
  if (isLogical(reader) || isLogical(writer)) {
    if (!sameLogical(reader, writer)) return undefined;
    const logical = writer as unknown as Readable;
    const underlying = (writer as avro.types.LogicalType).underlyingType;
    switch (reader.typeName) {
      case 'logical:uuid':
        if (underlying.typeName !== 'string') return undefined;
        return (s) => {
          const tap = s.tap;
          const start = span(tap);
          // A UUID is ASCII: Latin-1 of its bytes is the text; anything else is not a UUID (reference says so).
          const upper = uuidBytes(tap.buf, start, tap.pos);
          const text = tap.buf.latin1Slice(start, tap.pos);
          return upper ? text.toLowerCase() : text;
        };
      case 'logical:timestamp-millis':
        return (s) => {
          const ms = readLong(s.tap);
          if (!(Math.abs(ms) <= DATE_LIMIT_MS)) fallback();
          if (onVersion !== undefined) onVersion(s, ms);
          return epochMillisText(ms);
        };
      case 'logical:timestamp-micros':
        return (s) => {
          const us = readLong(s.tap);
          const text = usualMicrosText(us);
          if (text === undefined) fallback();
          if (onVersion !== undefined) onVersion(s, us);
          return text;
        };
      case 'logical:date':
        return (s) => {
          const days = readLong(s.tap);
          if (days < ISO_MIN_DAY || days > ISO_MAX_DAY) fallback();
          if (onVersion !== undefined) onVersion(s, days * 86_400_000);
          return isoDateText(civilFromDays(days));
        };
      case 'logical:decimal':
        return underlying.typeName === 'fixed'
          ? fixedLogical(logical, (underlying as avro.types.FixedType).size)
          : (s) => {
              const tap = s.tap;
              const start = span(tap);
              return decimalText(logical, tap.buf, start, tap.pos);
            };
      case 'logical:time-millis':
      case 'logical:time-micros':
      case 'logical:local-timestamp-millis':
      case 'logical:local-timestamp-micros':
        // Outside collectInvalidValues, a value the type cannot hold throws: the reference path then says why.
        return (s) => logical._fromValue(readLong(s.tap)) as string;
      default:
        return undefined;
    }
  }
  const r = baseName(reader);
  const w = baseName(writer);
  switch (r) {
    case 'map':
    case 'array':
      return w === r ? jsonCollectionReader(reader, writer) : undefined;
    case 'boolean':
      if (w !== 'boolean') return undefined;
      return (s) => {
        const tap = s.tap;
        if (tap.pos >= tap.buf.length) fallback();
        return tap.buf[tap.pos++] !== 0 ? 't' : 'f';
      };
    case 'int':
    case 'long': {
      if (w !== 'int' && !(w === 'long' && r === 'long')) return undefined;
      return (s) => {
        const n = readLong(s.tap);
        if (onVersion !== undefined) onVersion(s, n);
        return String(n);
      };
    }
    case 'float':
    case 'double': {
      const read = numberReader(writer);
      if (read !== undefined) return (s) => String(read(s.tap));
      if (w === 'float')
        return (s) => {
          const tap = s.tap;
          if (tap.pos + 4 > tap.buf.length) fallback();
          const v = tap.buf.readFloatLE(tap.pos);
          tap.pos += 4;
          return floatText(v);
        };
      if (w === 'double' && r === 'double')
        return (s) => {
          const tap = s.tap;
          if (tap.pos + 8 > tap.buf.length) fallback();
          const v = tap.buf.readDoubleLE(tap.pos);
          tap.pos += 8;
          return floatText(v);
        };
      return undefined;
    }
    case 'string':
      if (w !== 'string') return undefined;
      return (s) => {
        const tap = s.tap;
        const start = span(tap);
        const text = tap.buf.utf8Slice(start, tap.pos);
        // Possibly not UTF-8 (or a genuine U+FFFD): the reference path checks the bytes.
        if (text.includes('\uFFFD')) fallback();
        return text;
      };
    case 'bytes':
      if (w !== 'bytes') return undefined;
      return (s) => {
        const tap = s.tap;
        const start = span(tap);
        return `\\x${tap.buf.hexSlice(start, tap.pos)}`;
      };
    case 'fixed': {
      const size = (reader as avro.types.FixedType).size;
      if (w !== 'fixed' || (writer as avro.types.FixedType).size !== size) return undefined;
      return (s) => {
        const tap = s.tap;
        const start = tap.pos;
        if (start + size > tap.buf.length) fallback();
        tap.pos = start + size;
        return `\\x${tap.buf.hexSlice(start, tap.pos)}`;
      };
    }
    case 'enum': {
      if (w !== 'enum') return undefined;
      const readerSymbols = (reader as avro.types.EnumType).symbols;
      const readerDefault = (reader as unknown as { default?: string }).default;
      // The resolver's table: the writer's index → the reader's symbol (its default for a symbol it lacks).
      const symbols = (writer as avro.types.EnumType).symbols.map((sym) =>
        readerSymbols.includes(sym) ? sym : readerDefault,
      );
      return (s) => {
        const index = readLong(s.tap);
        const symbol = symbols[index];
        if (symbol === undefined) fallback();
        return symbol;
      };
    }
    default:
      return undefined;
  }
}

/**
 * JSON text of one nested value of a plain type, as JSON.stringify writes the decoded value (what the row
 * mapper does for these types): strings, ints, longs, booleans, decimals, and records, arrays and maps of
 * them, spelt the same by writer and reader (anything else: undefined, the field takes avsc's resolver).
 */
function jsonItemReader(reader: avro.Type, writer: avro.Type): ((s: State) => string) | undefined {
  const name = baseName(reader);
  if (name !== baseName(writer)) return undefined;
  switch (name) {
    case 'logical:decimal': {
      if (!sameLogical(reader, writer)) return undefined;
      const logical = writer as unknown as Readable;
      const underlying = (writer as avro.types.LogicalType).underlyingType;
      const read =
        underlying.typeName === 'fixed'
          ? fixedLogical(logical, (underlying as avro.types.FixedType).size)
          : (s: State) => {
              const tap = s.tap;
              const start = span(tap);
              return decimalText(logical, tap.buf, start, tap.pos);
            };
      return (s) => `"${read(s)}"`;
    }
    case 'record': {
      const rFields = (reader as avro.types.RecordType).fields;
      const wFields = (writer as avro.types.RecordType).fields;
      if (rFields.length !== wFields.length || rFields.length === 0) return undefined;
      const items: Array<(s: State) => string> = [];
      const prefixes: string[] = [];
      for (let i = 0; i < rFields.length; i++) {
        if (rFields[i]!.name !== wFields[i]!.name) return undefined;
        const item = jsonItemReader(rFields[i]!.type, wFields[i]!.type);
        if (item === undefined) return undefined;
        items.push(item);
        prefixes.push(`${i === 0 ? '{' : ','}${JSON.stringify(rFields[i]!.name)}:`);
      }
      return (s) => {
        let text = '';
        for (let i = 0; i < items.length; i++) text += prefixes[i]! + items[i]!(s);
        return `${text}}`;
      };
    }
    case 'map':
    case 'array': {
      const collection = jsonCollectionReader(reader, writer);
      return collection === undefined ? undefined : (s) => collection(s) as string;
    }
    case 'string':
      return (s) => {
        const tap = s.tap;
        const start = span(tap);
        const text = tap.buf.utf8Slice(start, tap.pos);
        if (text.includes('\uFFFD')) fallback();
        return JSON.stringify(text);
      };
    case 'int':
    case 'long':
      return (s) => String(readLong(s.tap));
    case 'boolean':
      return (s) => {
        const tap = s.tap;
        if (tap.pos >= tap.buf.length) fallback();
        return tap.buf[tap.pos++] !== 0 ? 'true' : 'false';
      };
    default:
      return undefined;
  }
}

/** Keys a JS object would not keep in insertion order (array indices) or would not keep at all. */
const UNORDERED_KEY = /^(?:0|[1-9]\d*)$|^__proto__$/;

/**
 * jsonb text of a map or array of strings, ints, longs or booleans, as the reference writes it: the decoded
 * value through JSON.stringify. A map is a JS object there, so a key that is an array index (JS puts those
 * first), `__proto__` or a key met twice (the later value in the earlier place) takes the reference path.
 */
function jsonCollectionReader(reader: avro.Type, writer: avro.Type): TextReader | undefined {
  const isMap = reader.typeName === 'map';
  const item = isMap
    ? jsonItemReader((reader as avro.types.MapType).valuesType, (writer as avro.types.MapType).valuesType)
    : jsonItemReader((reader as avro.types.ArrayType).itemsType, (writer as avro.types.ArrayType).itemsType);
  if (item === undefined) return undefined;
  return (s) => {
    const tap = s.tap;
    let text = isMap ? '{' : '[';
    let first = true;
    const keys: string[] | undefined = isMap ? [] : undefined;
    for (;;) {
      let n = readLong(tap);
      if (n === 0) break;
      if (n < 0) {
        n = -n;
        readLong(tap); // the block's size in bytes
      }
      for (; n > 0; n--) {
        if (!first) text += ',';
        first = false;
        if (keys !== undefined) {
          const start = span(tap);
          const key = tap.buf.utf8Slice(start, tap.pos);
          if (key.includes('\uFFFD') || UNORDERED_KEY.test(key) || keys.includes(key)) fallback();
          keys.push(key);
          text += `${JSON.stringify(key)}:`;
        }
        text += item(s);
      }
    }
    return `${text}${isMap ? '}' : ']'}`;
  };
}

/**
 * The text DecimalType._fromValue makes of these bytes, without BigInt for up to 6 bytes (|unscaled| < 2^47,
 * exact in a double); longer or empty ones through DecimalType itself, which throws on too many digits.
 */
function decimalText(logical: Readable, buf: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length === 0 || length > 6) return logical._fromValue(buf.subarray(start, end)) as string;
  const { precision, scale } = logical as unknown as { precision: number; scale: number };
  const unscaled = buf.readIntBE(start, length);
  const negative = unscaled < 0;
  const significant = String(negative ? -unscaled : unscaled);
  if (unscaled !== 0 && significant.length > precision) fallback();
  if (scale === 0) return negative ? `-${significant}` : significant;
  const digits = significant.length > scale ? significant : significant.padStart(scale + 1, '0');
  const point = digits.length - scale;
  return `${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function fixedLogical(logical: Readable, size: number): TextReader {
  return (s) => {
    const tap = s.tap;
    const start = tap.pos;
    if (start + size > tap.buf.length) fallback();
    tap.pos = start + size;
    return decimalText(logical, tap.buf, start, tap.pos);
  };
}

/** A reader for one reader field from its writer field, compiled where it can be, else avsc's resolver. */
function fieldReader(
  reader: avro.Type,
  writer: avro.Type,
  nullable: boolean,
  convert: (value: unknown) => SqlText,
  onVersion: ((s: State, raw: number) => void) | undefined,
  isVersion: boolean,
): TextReader {
  const readerBranch = nullableBranch(reader);
  const writerBranch = nullableBranch(writer);
  if (readerBranch !== undefined && writerBranch !== undefined) {
    const present = scalarReader(readerBranch.present, writerBranch.present, onVersion);
    if (present !== undefined) {
      const nullIndex = writerBranch.nullIndex;
      return (s) => {
        const branch = readLong(s.tap);
        if (branch === nullIndex) {
          // A required column (a non-null default union is still nullable here), or a null version.
          if (!nullable || isVersion) fallback();
          return null;
        }
        if (branch !== 1 - nullIndex) fallback();
        return present(s);
      };
    }
  } else if (writerBranch === undefined && writer.typeName.startsWith('union') === false) {
    const target = readerBranch === undefined ? reader : readerBranch.present;
    const present = scalarReader(target, writer, onVersion);
    if (present !== undefined) return present;
  }
  // avsc's resolver for this field alone, and the row mapper's converter: the reference, field by field.
  const resolver = reader.createResolver(writer) as unknown as Readable;
  return (s) => {
    const tap = s.tap;
    const { value, invalid } = collectInvalidValues(() => resolver._read(tap));
    if (invalid > 0 || s.tap.bad.length > 0 || tap.pos > tap.buf.length) fallback();
    // The converter throws (ROW_REJECTED) on what the reference refuses: the reference then says so.
    const text = convert(value);
    if (isVersion) s.version = versionValue(value);
    return text;
  };
}

/**
 * A compiled writer of COPY bytes for a non-union reader type read from a non-union writer type, for the
 * types where writing bytes straight from the Avro bytes pays (strings, UUIDs, numbers, timestamps, bytes,
 * enums); undefined for the others, which write their text (scalarReader, avsc's resolver) as bytes.
 */
function scalarWriter(
  reader: avro.Type,
  writer: avro.Type,
  onVersion: ((s: State, raw: number) => void) | undefined,
): ByteWriter | undefined {
  if (isLogical(reader) || isLogical(writer)) {
    if (!sameLogical(reader, writer)) return undefined;
    const underlying = (writer as avro.types.LogicalType).underlyingType;
    switch (reader.typeName) {
      case 'logical:uuid':
        if (underlying.typeName !== 'string') return undefined;
        return (s) => {
          const tap = s.tap;
          const start = span(tap);
          if (tap.pos - start !== 36) fallback();
          const out = s.out;
          out.ensure(36);
          const src = tap.buf;
          const buf = out.buf;
          const p = out.pos;
          // Checked as uuidBytes checks and written in one pass, lower case: each of a UUID's characters
          // (hex digits, '-') has bit 0x20 set once lower-cased.
          for (let i = 0; i < 36; i++) {
            const b = src[start + i]!;
            if (i === 8 || i === 13 || i === 18 || i === 23) {
              if (b !== 0x2d) fallback();
            } else if (HEX[b] === 0) fallback();
            buf[p + i] = b | 0x20;
          }
          out.pos = p + 36;
        };
      case 'logical:timestamp-millis':
        return (s) => {
          const ms = readLong(s.tap);
          if (!(Math.abs(ms) <= DATE_LIMIT_MS)) fallback();
          if (onVersion !== undefined) onVersion(s, ms);
          if (!s.out.epochMillis(ms)) s.out.text(epochMillisText(ms));
        };
      case 'logical:timestamp-micros':
        return (s) => {
          const us = readLong(s.tap);
          if (!s.out.epochMicros(us)) fallback();
          if (onVersion !== undefined) onVersion(s, us);
        };
      case 'logical:date':
        return (s) => {
          const days = readLong(s.tap);
          if (days < ISO_MIN_DAY || days > ISO_MAX_DAY) fallback();
          if (onVersion !== undefined) onVersion(s, days * 86_400_000);
          s.out.isoDate(days);
        };
      default:
        return undefined;
    }
  }
  const r = baseName(reader);
  const w = baseName(writer);
  switch (r) {
    case 'map':
    case 'array':
      return w === r ? jsonCollectionWriter(reader, writer) : undefined;
    case 'boolean':
      if (w !== 'boolean') return undefined;
      return (s) => {
        const tap = s.tap;
        if (tap.pos >= tap.buf.length) fallback();
        s.out.byte(tap.buf[tap.pos++] !== 0 ? 0x74 : 0x66);
      };
    case 'int':
    case 'long':
      if (w !== 'int' && !(w === 'long' && r === 'long')) return undefined;
      return (s) => {
        const n = readLong(s.tap);
        if (onVersion !== undefined) onVersion(s, n);
        s.out.integer(n);
      };
    case 'float':
    case 'double':
      // An int or long promoted: String(n) of an integer below 2^53 is its digits.
      if (numberReader(writer) === undefined) return undefined;
      return (s) => s.out.integer(readLong(s.tap));
    case 'string':
      if (w !== 'string') return undefined;
      return (s) => {
        const tap = s.tap;
        const start = span(tap);
        if (!s.out.utf8Field(tap.buf, start, tap.pos)) fallback();
      };
    case 'bytes':
      if (w !== 'bytes') return undefined;
      return (s) => {
        const tap = s.tap;
        const start = span(tap);
        s.out.hex(tap.buf, start, tap.pos);
      };
    case 'fixed': {
      const size = (reader as avro.types.FixedType).size;
      if (w !== 'fixed' || (writer as avro.types.FixedType).size !== size) return undefined;
      return (s) => {
        const tap = s.tap;
        const start = tap.pos;
        if (start + size > tap.buf.length) fallback();
        tap.pos = start + size;
        s.out.hex(tap.buf, start, tap.pos);
      };
    }
    case 'enum': {
      if (w !== 'enum') return undefined;
      const readerSymbols = (reader as avro.types.EnumType).symbols;
      const readerDefault = (reader as unknown as { default?: string }).default;
      // As scalarReader's table, each symbol's field bytes computed once.
      const symbols = (writer as avro.types.EnumType).symbols.map((sym) => {
        const symbol = readerSymbols.includes(sym) ? sym : readerDefault;
        return symbol === undefined ? undefined : copyFieldBytes(symbol);
      });
      return (s) => {
        const bytes = symbols[readLong(s.tap)];
        if (bytes === undefined) fallback();
        s.out.raw(bytes);
      };
    }
    default:
      return undefined;
  }
}

const JSON_TRUE = Buffer.from('true');
const JSON_FALSE = Buffer.from('false');

/** JSON bytes of a map value or array item of a plain type, as jsonItemReader's text; else undefined. */
function jsonItemWriter(reader: avro.Type, writer: avro.Type, binary: boolean): ByteWriter | undefined {
  const name = baseName(reader);
  if (name !== baseName(writer)) return undefined;
  switch (name) {
    case 'string':
      return binary
        ? (s) => {
            const tap = s.tap;
            const start = span(tap);
            if (!s.out.jsonStringRaw(tap.buf, start, tap.pos)) fallback();
          }
        : (s) => {
            const tap = s.tap;
            const start = span(tap);
            if (!s.out.jsonString(tap.buf, start, tap.pos)) fallback();
          };
    case 'int':
    case 'long':
      return (s) => s.out.integer(readLong(s.tap));
    case 'boolean':
      return (s) => {
        const tap = s.tap;
        if (tap.pos >= tap.buf.length) fallback();
        s.out.raw(tap.buf[tap.pos++] !== 0 ? JSON_TRUE : JSON_FALSE);
      };
    case 'logical:decimal': {
      // As jsonItemReader: the decimal's text in quotes (digits, '-' and '.': nothing to escape).
      const read = jsonItemReader(reader, writer);
      if (read === undefined) return undefined;
      return (s) => s.out.text(read(s));
    }
    case 'record': {
      // As jsonItemReader: the same fields in the same order, each `"name":value`.
      const rFields = (reader as avro.types.RecordType).fields;
      const wFields = (writer as avro.types.RecordType).fields;
      if (rFields.length !== wFields.length || rFields.length === 0) return undefined;
      const items: ByteWriter[] = [];
      const prefixes: Buffer[] = [];
      for (let i = 0; i < rFields.length; i++) {
        if (rFields[i]!.name !== wFields[i]!.name) return undefined;
        const item = jsonItemWriter(rFields[i]!.type, wFields[i]!.type, binary);
        if (item === undefined) return undefined;
        items.push(item);
        // Avro names are [A-Za-z_][A-Za-z0-9_]*: nothing for JSON or COPY to escape.
        prefixes.push(Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(rFields[i]!.name)}:`));
      }
      return (s) => {
        for (let i = 0; i < items.length; i++) {
          s.out.raw(prefixes[i]!);
          items[i]!(s);
        }
        s.out.byte(0x7d);
      };
    }
    default:
      return undefined;
  }
}

/** Keys of one map compared for duplicates, at most; a larger map takes the text path. */
const MAX_KEYS = 32;

/**
 * jsonb bytes of a map or array of strings, ints, longs or booleans, as jsonCollectionReader's text. A map
 * key that is not plain ASCII, that a JS object would put first or not keep (digits only, `__proto__`), met
 * twice, or one too many, rewinds the tap and the buffer and takes the text path for the field. With
 * `binary` (the jsonb column's encoder), the field is binary COPY's: its length, jsonb's version byte 1, then
 * the JSON without COPY text's escaping.
 */
function jsonCollectionWriter(
  reader: avro.Type,
  writer: avro.Type,
  binary?: BinaryFieldEncoder,
): ByteWriter | undefined {
  const isMap = reader.typeName === 'map';
  const item = isMap
    ? jsonItemWriter(
        (reader as avro.types.MapType).valuesType,
        (writer as avro.types.MapType).valuesType,
        binary !== undefined,
      )
    : jsonItemWriter(
        (reader as avro.types.ArrayType).itemsType,
        (writer as avro.types.ArrayType).itemsType,
        binary !== undefined,
      );
  const text = jsonCollectionReader(reader, writer);
  if (item === undefined || text === undefined) return undefined;
  const keyStarts = new Int32Array(MAX_KEYS);
  const keyEnds = new Int32Array(MAX_KEYS);
  const write = (s: State): boolean => {
    const tap = s.tap;
    const out = s.out;
    out.byte(isMap ? 0x7b : 0x5b);
    let count = 0;
    for (;;) {
      let n = readLong(tap);
      if (n === 0) break;
      if (n < 0) {
        n = -n;
        readLong(tap); // the block's size in bytes
      }
      for (; n > 0; n--) {
        if (count > 0) out.byte(0x2c);
        if (isMap) {
          if (count === MAX_KEYS) return false;
          const start = span(tap);
          const end = tap.pos;
          if (!plainKey(tap.buf, start, end)) return false;
          for (let k = 0; k < count; k++)
            if (sameBytes(tap.buf, keyStarts[k]!, keyEnds[k]!, start, end)) return false;
          keyStarts[count] = start;
          keyEnds[count] = end;
          if (binary === undefined) out.jsonString(tap.buf, start, end);
          else out.jsonStringRaw(tap.buf, start, end);
          out.byte(0x3a);
        }
        count++;
        item(s);
      }
    }
    out.byte(isMap ? 0x7d : 0x5d);
    return true;
  };
  if (binary !== undefined)
    return (s) => {
      const from = s.tap.pos;
      const out = s.out;
      const mark = out.mark();
      out.int32(0); // the length, once known
      out.byte(1);
      if (write(s)) {
        out.patchInt32(mark, out.mark() - mark - 4);
        return;
      }
      s.tap.pos = from;
      out.rewind(mark);
      binary(out, text(s));
    };
  return (s) => {
    const from = s.tap.pos;
    const mark = s.out.mark();
    if (write(s)) return;
    s.tap.pos = from;
    s.out.rewind(mark);
    s.out.text(text(s));
  };
}

function sameBytes(buf: Buffer, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (buf[aStart + i] !== buf[bStart + i]) return false;
  return true;
}

/** ASCII, not only digits (a JS object puts array indices first), not `__proto__`. */
function plainKey(buf: Buffer, start: number, end: number): boolean {
  let digits = true;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return false;
    if (b < 0x30 || b > 0x39) digits = false;
  }
  if (digits && end > start) return false;
  return !(end - start === 9 && (buf as FastBuffer).latin1Slice(start, end) === '__proto__');
}

/** How one COPY format writes a field: a compiled scalar where there is one, NULL, and a field from its text. */
interface FieldFormat {
  scalar(
    reader: avro.Type,
    writer: avro.Type,
    onVersion: ((s: State, raw: number) => void) | undefined,
  ): ByteWriter | undefined;
  writeNull(s: State): void;
  writeText(s: State, text: SqlText): void;
}

/**
 * The COPY bytes of one reader field from its writer field, in `format`: compiled bytes where they pay (a
 * scalar, or `[null, X]` of one), else the field's text (fieldReader) written by the format.
 */
function fieldWriter(
  reader: avro.Type,
  writer: avro.Type,
  nullable: boolean,
  convert: (value: unknown) => SqlText,
  onVersion: ((s: State, raw: number) => void) | undefined,
  isVersion: boolean,
  format: FieldFormat,
): ByteWriter {
  const readerBranch = nullableBranch(reader);
  const writerBranch = nullableBranch(writer);
  if (readerBranch !== undefined && writerBranch !== undefined) {
    const present = format.scalar(readerBranch.present, writerBranch.present, onVersion);
    if (present !== undefined) {
      const nullIndex = writerBranch.nullIndex;
      const writeNull = format.writeNull;
      return (s) => {
        const branch = readLong(s.tap);
        if (branch === nullIndex) {
          // A required column (a non-null default union is still nullable here), or a null version.
          if (!nullable || isVersion) fallback();
          writeNull(s);
          return;
        }
        if (branch !== 1 - nullIndex) fallback();
        present(s);
      };
    }
  } else if (writerBranch === undefined && writer.typeName.startsWith('union') === false) {
    const present = format.scalar(
      readerBranch === undefined ? reader : readerBranch.present,
      writer,
      onVersion,
    );
    if (present !== undefined) return present;
  }
  const text = fieldReader(reader, writer, nullable, convert, onVersion, isVersion);
  const writeText = format.writeText;
  return (s) => writeText(s, text(s));
}

/** COPY text: `\N` for NULL, the text escaped. */
const TEXT_FORMAT: FieldFormat = {
  scalar: scalarWriter,
  writeNull: (s) => s.out.nullField(),
  writeText: (s, text) => s.out.text(text),
};

/** Binary COPY for a column whose texts `encode` writes: length -1 for NULL. */
function binaryFormat(encode: BinaryFieldEncoder): FieldFormat {
  return {
    scalar: scalarBinaryWriter,
    writeNull: (s) => s.out.raw(BINARY_NULL),
    writeText: (s, text) => encode(s.out, text),
  };
}

/** The value of a hex digit (either case), for UUIDs written as their 16 bytes. */
const HEX_VALUE = new Uint8Array(256).fill(0xff);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** µs between 1970-01-01 and PostgreSQL's epoch, 2000-01-01 (days: copy-binary.ts's PG_EPOCH_DAYS). */
const PG_EPOCH_MICROS = 946_684_800_000_000;

/** float4send / float8send of NaN as PostgreSQL's float4in('NaN') makes it: the reference writes 'NaN'. */
const FLOAT4_NAN = Buffer.from([0, 0, 0, 4, 0x7f, 0xc0, 0, 0]);
const FLOAT8_NAN = Buffer.from([0, 0, 0, 8, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]);

/** A float as a float4 field: its float32 (the reference's text of it parses back to the same). */
function float4Field(out: CopyBuffer, v: number): void {
  if (Number.isNaN(v)) {
    out.raw(FLOAT4_NAN);
    return;
  }
  out.int32(4);
  out.ensure(4);
  out.buf.writeFloatBE(v, out.pos);
  out.pos += 4;
}

function float8Field(out: CopyBuffer, v: number): void {
  if (Number.isNaN(v)) {
    out.raw(FLOAT8_NAN);
    return;
  }
  out.int32(8);
  out.ensure(8);
  out.buf.writeDoubleBE(v, out.pos);
  out.pos += 8;
}

/**
 * A compiled writer of one binary COPY field for a non-union reader type read from a non-union writer type,
 * where the value's binary form comes straight from its Avro bytes (numbers, strings, UUIDs, timestamps,
 * dates, bytes, enums); undefined for the others, which write their text (fieldReader) through the column's
 * encoder (copy-binary.ts). It accepts exactly what scalarReader accepts, so that both paths take the
 * reference path for the same messages.
 */
function scalarBinaryWriter(
  reader: avro.Type,
  writer: avro.Type,
  onVersion: ((s: State, raw: number) => void) | undefined,
): ByteWriter | undefined {
  if (isLogical(reader) || isLogical(writer)) {
    if (!sameLogical(reader, writer)) return undefined;
    const underlying = (writer as avro.types.LogicalType).underlyingType;
    switch (reader.typeName) {
      case 'logical:uuid':
        if (underlying.typeName !== 'string') return undefined;
        return (s) => {
          const tap = s.tap;
          const start = span(tap);
          // Checked as uuidBytes checks (8-4-4-4-12 hex digits, either case) while it is decoded, one pass.
          if (tap.pos - start !== 36) fallback();
          const src = tap.buf;
          if (src[start + 8] !== 0x2d || src[start + 13] !== 0x2d) fallback();
          if (src[start + 18] !== 0x2d || src[start + 23] !== 0x2d) fallback();
          const out = s.out;
          out.int32(16);
          out.ensure(16);
          const buf = out.buf;
          let p = out.pos;
          let bad = 0;
          for (let i = start; i < start + 36; i += 2) {
            const at = i - start;
            if (at === 8 || at === 13 || at === 18 || at === 23) i++;
            const high = HEX_VALUE[src[i]!]!;
            const low = HEX_VALUE[src[i + 1]!]!;
            bad |= high | low;
            buf[p++] = (high << 4) | low;
          }
          // 0xff marks a byte that is not a hex digit: the reference path says why.
          if (bad > 0x0f) fallback();
          out.pos = p;
        };
      case 'logical:timestamp-millis':
        return (s) => {
          const ms = readLong(s.tap);
          if (!(Math.abs(ms) <= DATE_LIMIT_MS)) fallback();
          if (!appendTimestamptzMillis(s.out, ms)) fallback();
          if (onVersion !== undefined) onVersion(s, ms);
        };
      case 'logical:timestamp-micros':
        return (s) => {
          const us = readLong(s.tap);
          // Where the text path has no text of its own (usualMicrosText: years 1–9999), the reference decides.
          const ms = Math.floor(us / 1000);
          if (ms < ISO_MIN_MS || ms > ISO_MAX_MS) fallback();
          if (onVersion !== undefined) onVersion(s, us);
          const out = s.out;
          out.int32(8);
          const micros = us - PG_EPOCH_MICROS;
          if (Number.isSafeInteger(micros)) out.int64(micros);
          else {
            out.ensure(8);
            out.buf.writeBigInt64BE(BigInt(us) - BigInt(PG_EPOCH_MICROS), out.pos);
            out.pos += 8;
          }
        };
      case 'logical:date':
        return (s) => {
          const days = readLong(s.tap);
          if (days < ISO_MIN_DAY || days > ISO_MAX_DAY) fallback();
          if (onVersion !== undefined) onVersion(s, days * 86_400_000);
          s.out.int32(4);
          s.out.int32(days - PG_EPOCH_DAYS);
        };
      default:
        return undefined;
    }
  }
  const r = baseName(reader);
  const w = baseName(writer);
  switch (r) {
    case 'map':
    case 'array':
      return w === r ? jsonCollectionWriter(reader, writer, textFieldEncoder('jsonb')) : undefined;
    case 'boolean':
      if (w !== 'boolean') return undefined;
      return (s) => {
        const tap = s.tap;
        if (tap.pos >= tap.buf.length) fallback();
        s.out.int32(1);
        s.out.byte(tap.buf[tap.pos++] !== 0 ? 1 : 0);
      };
    case 'int':
      if (w !== 'int') return undefined;
      return (s) => {
        const n = readLong(s.tap);
        // avsc reads an int's varint past 32 bits; int32() would keep its low 32 (the reference refuses it).
        if (n !== (n | 0)) fallback();
        if (onVersion !== undefined) onVersion(s, n);
        s.out.int32(4);
        s.out.int32(n);
      };
    case 'long':
      if (w !== 'int' && w !== 'long') return undefined;
      return (s) => {
        const n = readLong(s.tap);
        if (onVersion !== undefined) onVersion(s, n);
        s.out.int32(8);
        s.out.int64(n);
      };
    case 'float':
    case 'double': {
      const field = r === 'float' ? float4Field : float8Field;
      if (numberReader(writer) !== undefined) return (s) => field(s.out, readLong(s.tap));
      if (w === 'float')
        return (s) => {
          const tap = s.tap;
          if (tap.pos + 4 > tap.buf.length) fallback();
          const v = tap.buf.readFloatLE(tap.pos);
          tap.pos += 4;
          field(s.out, v);
        };
      if (w === 'double' && r === 'double')
        return (s) => {
          const tap = s.tap;
          if (tap.pos + 8 > tap.buf.length) fallback();
          const v = tap.buf.readDoubleLE(tap.pos);
          tap.pos += 8;
          float8Field(s.out, v);
        };
      return undefined;
    }
    case 'string':
      if (w !== 'string') return undefined;
      return (s) => {
        const tap = s.tap;
        const start = span(tap);
        if (!s.out.binaryUtf8Field(tap.buf, start, tap.pos)) fallback();
      };
    case 'bytes':
      if (w !== 'bytes') return undefined;
      return (s) => {
        const tap = s.tap;
        const start = span(tap);
        s.out.binaryField(tap.buf, start, tap.pos);
      };
    case 'fixed': {
      const size = (reader as avro.types.FixedType).size;
      if (w !== 'fixed' || (writer as avro.types.FixedType).size !== size) return undefined;
      return (s) => {
        const tap = s.tap;
        const start = tap.pos;
        if (start + size > tap.buf.length) fallback();
        tap.pos = start + size;
        s.out.binaryField(tap.buf, start, tap.pos);
      };
    }
    case 'enum': {
      if (w !== 'enum') return undefined;
      const readerSymbols = (reader as avro.types.EnumType).symbols;
      const readerDefault = (reader as unknown as { default?: string }).default;
      const symbols = (writer as avro.types.EnumType).symbols.map((sym) => {
        const symbol = readerSymbols.includes(sym) ? sym : readerDefault;
        return symbol === undefined ? undefined : binaryFieldBytes(binaryFieldEncoder('text'), symbol);
      });
      return (s) => {
        const bytes = symbols[readLong(s.tap)];
        if (bytes === undefined) fallback();
        s.out.raw(bytes);
      };
    }
    default:
      return undefined;
  }
}

/** The bytes of one binary COPY field of a text (defaults, enum symbols: computed once). */
function binaryFieldBytes(encode: BinaryFieldEncoder, text: SqlText): Buffer {
  const out = new CopyBuffer(64);
  out.begin();
  encode(out, text);
  const slice = out.end();
  return Buffer.from(slice.buffer.subarray(slice.start, slice.end));
}

const BINARY_NULL = Buffer.from([0xff, 0xff, 0xff, 0xff]);

/**
 * The field encoder of a column for the texts of the fields the binary path does not compile: copy-binary.ts's,
 * except for the kinds that are common there (nested records and arrays as jsonb, decimals, text), which
 * CopyBuffer writes in place, byte for byte the same (the differential fuzz test compares them).
 */
function textFieldEncoder(pgType: string): BinaryFieldEncoder {
  const reference = binaryFieldEncoder(pgType);
  const type = binaryColumnType(pgType);
  switch (type) {
    case 'jsonb':
      return (out, text) => (text === null ? out.raw(BINARY_NULL) : out.binaryText(text, 1));
    case 'text':
    case 'json':
      return (out, text) => (text === null ? out.raw(BINARY_NULL) : out.binaryText(text));
    case 'numeric':
      return (out, text) => {
        if (text === null) out.raw(BINARY_NULL);
        else if (!out.numericField(text)) reference(out, text);
      };
    default:
      return reference;
  }
}

/**
 * Compiles the transcoder of one writer schema into the entry's reader schema and table, or undefined
 * when the pair has a shape it does not compile (every message then takes the reference path).
 */
export function compileTranscoder(entry: CatalogEntry, writer: avro.Type): RowTranscoder | undefined {
  if (writer.typeName !== 'record') return undefined;
  const mapper = mapperFor(entry);
  const readerFields = (entry.reader.type as avro.types.RecordType).fields;
  const writerFields = (writer as avro.types.RecordType).fields;
  const columns = fieldColumns(entry.reader.type);
  const width = mapper.columns.length;
  const versionField = entry.versionField;

  // Which reader field reads each writer field, as avsc's record resolver matches them (name or alias).
  const readerOf = new Map<string, number>();
  const defaults: Array<{ index: number; text: SqlText; version: bigint | null }> = [];
  for (let j = 0; j < readerFields.length; j++) {
    const field = readerFields[j]!;
    const names = [field.name, ...field.aliases];
    const matches = names.filter((n) => writerFields.some((w) => w.name === n));
    if (matches.length > 1) return undefined;
    if (matches.length === 1) {
      if (readerOf.has(matches[0]!)) return undefined; // two reader fields of one writer field: rare, reference
      readerOf.set(matches[0]!, j);
      continue;
    }
    const value = field.defaultValue();
    if (value === undefined) return undefined;
    try {
      const text = mapper.fieldTexts[j]!(value);
      defaults.push({
        index: j,
        text,
        version: field.name === versionField ? versionValue(value) : null,
      });
    } catch {
      // A default the column cannot hold: every message is refused, by the reference path, with its cause.
      return undefined;
    }
  }

  const steps: Step[] = writerFields.map((wField): Step => {
    const j = readerOf.get(wField.name);
    const wType = wField.type as unknown as Readable;
    if (j === undefined) return (s) => wType._skip(s.tap);
    const rField = readerFields[j]!;
    const isVersion = rField.name === versionField;
    const onVersion = isVersion
      ? (s: State, raw: number) => {
          s.version = BigInt(raw);
        }
      : undefined;
    const read = fieldReader(
      rField.type,
      wField.type,
      columns[j]!.nullable,
      mapper.fieldTexts[j]!,
      onVersion,
      isVersion,
    );
    return (s) => {
      s.row[j] = read(s);
    };
  });
  const stepCount = steps.length;
  const stepsFor = (format: CopyFormat, encoders: readonly BinaryFieldEncoder[]) =>
    copySteps(
      writerFields,
      readerOf,
      defaults,
      readerFields.length,
      (wField, j): ByteWriter => {
        const rField = readerFields[j]!;
        const isVersion = rField.name === versionField;
        const onVersion = isVersion
          ? (s: State, raw: number) => {
              s.version = BigInt(raw);
            }
          : undefined;
        const args = [
          rField.type,
          wField.type,
          columns[j]!.nullable,
          mapper.fieldTexts[j]!,
          onVersion,
          isVersion,
        ] as const;
        return fieldWriter(...args, format === 'text' ? TEXT_FORMAT : binaryFormat(encoders[j]!));
      },
      format,
      encoders,
    );
  const byteSteps = stepsFor('text', []);
  const byteStepCount = byteSteps?.length ?? 0;
  const fieldCount = columns.length;
  // Compiled on the first binary row: a consumer writes one format.
  let binary: { encoders: BinaryFieldEncoder[]; steps: Step[] | undefined } | undefined;

  const state: State = {
    tap: new StrictTap(Buffer.alloc(0)) as unknown as FastTap,
    row: [],
    version: null,
    // No slab until the first row: an entry whose bodies all fall back never needs one.
    out: new CopyBuffer(0),
  };
  const setDefaultVersion = () => {
    for (const d of defaults) if (d.version !== null) state.version = d.version;
  };
  return {
    get version() {
      return state.version;
    },
    transcodeCopy(body, start = 0) {
      const out = state.out;
      if (byteSteps === undefined) {
        // Writer fields in another order than the reader's: the row's texts, then their bytes.
        const row = this.transcode(body, start);
        if (row === undefined) return undefined;
        out.begin();
        for (let i = 0; i < fieldCount; i++) {
          out.text(row[i]!);
          out.tab();
        }
        return out.end();
      }
      const tap = state.tap;
      tap.buf = body as FastBuffer;
      tap.pos = start;
      tap.bad.length = 0;
      state.version = null;
      out.begin();
      try {
        for (let i = 0; i < byteStepCount; i++) byteSteps[i]!(state);
      } catch {
        out.rollback();
        return undefined;
      }
      if (tap.pos !== body.length || tap.bad.length > 0) {
        out.rollback();
        return undefined;
      }
      setDefaultVersion();
      return out.end();
    },
    transcodeBinary(body, start = 0) {
      if (binary === undefined) {
        const encoders = columns.map((c) => textFieldEncoder(c.pgType));
        binary = { encoders, steps: stepsFor('binary', encoders) };
      }
      const out = state.out;
      const { steps: binarySteps, encoders } = binary;
      if (binarySteps === undefined) {
        const row = this.transcode(body, start);
        if (row === undefined) return undefined;
        out.begin();
        try {
          for (let i = 0; i < fieldCount; i++) encoders[i]!(out, row[i]!);
        } catch {
          // A text the column's type refuses (an int past 32 bits): the reference path gives the verdict.
          out.rollback();
          return undefined;
        }
        return out.end();
      }
      const tap = state.tap;
      tap.buf = body as FastBuffer;
      tap.pos = start;
      tap.bad.length = 0;
      state.version = null;
      out.begin();
      try {
        for (let i = 0; i < binarySteps.length; i++) binarySteps[i]!(state);
      } catch {
        out.rollback();
        return undefined;
      }
      if (tap.pos !== body.length || tap.bad.length > 0) {
        out.rollback();
        return undefined;
      }
      setDefaultVersion();
      return out.end();
    },
    transcode(body, start = 0) {
      const row = new Array<SqlText>(width);
      const tap = state.tap;
      tap.buf = body as FastBuffer;
      tap.pos = start;
      tap.bad.length = 0;
      state.row = row;
      state.version = null;
      try {
        for (let i = 0; i < stepCount; i++) steps[i]!(state);
      } catch {
        // FALLBACK, a read past the end, a converter's refusal, avsc's "invalid union index": all unusual.
        return undefined;
      }
      if (tap.pos !== body.length || tap.bad.length > 0) return undefined;
      for (const d of defaults) {
        row[d.index] = d.text;
        if (d.version !== null) state.version = d.version;
      }
      return row;
    },
  };
}

/**
 * The steps that write a row's COPY field bytes in the reader's column order while reading the writer's
 * fields in theirs, each field followed by a tab; the reader's defaults (bytes computed once) go where their
 * columns are. Undefined when the writer has the fields the reader keeps in another order: transcodeCopy
 * then writes the texts of `transcode`.
 */
function copySteps(
  writerFields: readonly avro.types.Field[],
  readerOf: ReadonlyMap<string, number>,
  defaults: ReadonlyArray<{ index: number; text: SqlText }>,
  readerCount: number,
  writerOf: (wField: avro.types.Field, j: number) => ByteWriter,
  format: CopyFormat,
  encoders: readonly BinaryFieldEncoder[],
): Step[] | undefined {
  const defaultAt = new Map(defaults.map((d) => [d.index, d.text]));
  const between = (from: number, to: number): Buffer => {
    const parts: Buffer[] = [];
    for (let j = from; j < to; j++) {
      if (!defaultAt.has(j)) continue;
      const text = defaultAt.get(j)!;
      if (format === 'text') parts.push(copyFieldBytes(text), TAB_BYTE);
      else parts.push(binaryFieldBytes(encoders[j]!, text));
    }
    return Buffer.concat(parts);
  };
  const steps: Step[] = [];
  let last = -1;
  for (const wField of writerFields) {
    const j = readerOf.get(wField.name);
    const wType = wField.type as unknown as Readable;
    if (j === undefined) {
      steps.push((s) => wType._skip(s.tap));
      continue;
    }
    if (j < last) return undefined;
    const before = between(last + 1, j);
    if (before.length > 0) steps.push((s) => s.out.raw(before));
    const write = writerOf(wField, j);
    if (format === 'binary') steps.push(write);
    else
      steps.push((s) => {
        write(s);
        s.out.tab();
      });
    last = j;
  }
  const after = between(last + 1, readerCount);
  if (after.length > 0) steps.push((s) => s.out.raw(after));
  return steps;
}

const TAB_BYTE = Buffer.from('\t');

const mappers = new WeakMap<CatalogEntry, RowMapper>();

function mapperFor(entry: CatalogEntry): RowMapper {
  let mapper = mappers.get(entry);
  if (mapper === undefined) {
    mapper = createRowMapper(entry);
    mappers.set(entry, mapper);
  }
  return mapper;
}
