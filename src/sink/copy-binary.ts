/**
 * PostgreSQL's binary COPY format, from a row's column texts: the reference of the binary write path. A row
 * the row mapper made (its columns' text, as COPY text carries them) becomes a binary tuple, so that
 * PostgreSQL receives int8/uuid/timestamptz/numeric/jsonb without parsing their text. The compiled
 * transcoder writes the same bytes straight from Avro (test/unit/transcoder-fuzz.test.ts holds it to these),
 * and the fields it does not compile are written by these encoders from their text.
 *
 * Format (PostgreSQL docs, "COPY … Binary Format"): the signature `PGCOPY\n\377\r\n\0`, a flags int32 and a
 * header-extension length int32 (both 0); per tuple an int16 field count, then per field an int32 length (-1:
 * NULL) and the type's `*_send` bytes; the trailer int16 -1. All integers are big-endian.
 */
import { PipelineError } from '../errors.ts';
import type { CopyBuffer, CopySlice } from './copy-buffer.ts';
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

/** A text the row mapper never makes: a defect of this module or of the mapper, never of the message. */
function unreadable(what: string, text: string): never {
  throw new PipelineError(
    'INVARIANT_BROKEN',
    `binary COPY: ${JSON.stringify(text.slice(0, 60))} is not ${what} as the row mapper writes one`,
  );
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil): exact for any year. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DATE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const TIMESTAMP =
  /^(\d{4,})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]00(?::?00)?)?( BC)?$/;

/** The astronomical year of a shown year (`… BC`: year 1 BC is year 0). */
function yearOf(shown: string, bc: string | undefined): number {
  return bc === undefined ? Number(shown) : 1 - Number(shown);
}

function pgDays(text: string): number {
  const m = DATE.exec(text);
  if (m === null) unreadable('a date', text);
  return daysFromCivil(yearOf(m[1]!, m[4]), Number(m[2]), Number(m[3])) - PG_EPOCH_DAYS;
}

/** Microseconds since 2000-01-01 00:00 UTC (timestamptz: the text is in UTC; timestamp: as written). */
function pgMicros(text: string, zoned: boolean): bigint {
  const m = TIMESTAMP.exec(text);
  if (m === null || (zoned && m[8] === undefined) || (!zoned && m[8] !== undefined)) {
    unreadable(zoned ? 'a UTC timestamptz' : 'a timestamp', text);
  }
  const days = daysFromCivil(yearOf(m[1]!, m[9]), Number(m[2]), Number(m[3])) - PG_EPOCH_DAYS;
  const seconds = Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
  const micros = Number((m[7] ?? '').padEnd(6, '0'));
  return (BigInt(days) * 86_400n + BigInt(seconds)) * 1_000_000n + BigInt(micros);
}

/** time_send: microseconds since midnight. */
function timeMicros(text: string): bigint {
  const m = TIME.exec(text);
  if (m === null) unreadable('a time', text);
  const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return BigInt(seconds) * 1_000_000n + BigInt(Number((m[4] ?? '').padEnd(6, '0')));
}

const UUID_HEX = /^[0-9a-fA-F]{32}$/;

const NUMERIC = /^(-)?(\d*)(?:\.(\d*))?$/;
const NUMERIC_SPECIAL: Record<string, number> = { NaN: 0xc000, Infinity: 0xd000, '-Infinity': 0xf000 };

/** numeric_send: base-10000 digits, the weight of the first, the sign, the display scale. */
function numericBytes(text: string): Buffer {
  const special = NUMERIC_SPECIAL[text];
  if (special !== undefined) {
    const out = Buffer.alloc(8);
    out.writeUInt16BE(special, 4);
    return out;
  }
  const m = NUMERIC.exec(text);
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) unreadable('a numeric', text);
  const integer = (m[2] ?? '').replace(/^0+/, '');
  const fraction = m[3] ?? '';
  const dscale = fraction.length;
  // Integer digits padded on the left and fraction digits on the right to whole groups of four.
  const intPadded = integer.padStart(Math.ceil(integer.length / 4) * 4, '0');
  const fracPadded = fraction.padEnd(Math.ceil(fraction.length / 4) * 4, '0');
  let groups: number[] = [];
  for (let i = 0; i < intPadded.length; i += 4) groups.push(Number(intPadded.slice(i, i + 4)));
  for (let i = 0; i < fracPadded.length; i += 4) groups.push(Number(fracPadded.slice(i, i + 4)));
  let weight = intPadded.length / 4 - 1;
  let lead = 0;
  while (lead < groups.length && groups[lead] === 0) lead++;
  weight -= lead;
  groups = groups.slice(lead);
  while (groups.length > 0 && groups.at(-1) === 0) groups.pop();
  if (groups.length === 0) weight = 0;
  const out = Buffer.alloc(8 + groups.length * 2);
  out.writeInt16BE(groups.length, 0);
  out.writeInt16BE(weight, 2);
  out.writeUInt16BE(m[1] === '-' && groups.length > 0 ? 0x4000 : 0, 4);
  out.writeInt16BE(dscale, 6);
  for (let i = 0; i < groups.length; i++) out.writeUInt16BE(groups[i]!, 8 + i * 2);
  return out;
}

function fixed(size: number, write: (b: Buffer) => void): Buffer {
  const out = Buffer.alloc(size);
  write(out);
  return out;
}

/** The `*_send` bytes of one non-null value given as its PostgreSQL text. */
export function encodeBinaryValue(type: BinaryColumnType, text: string): Buffer {
  switch (type) {
    case 'bool':
      if (text !== 't' && text !== 'f') unreadable('a boolean', text);
      return Buffer.from([text === 't' ? 1 : 0]);
    case 'int2':
      return fixed(2, (b) => b.writeInt16BE(Number(text)));
    case 'int4':
      return fixed(4, (b) => b.writeInt32BE(Number(text)));
    case 'int8':
      return fixed(8, (b) => b.writeBigInt64BE(BigInt(text)));
    case 'float4':
      return fixed(4, (b) => b.writeFloatBE(Number(text)));
    case 'float8':
      return fixed(8, (b) => b.writeDoubleBE(Number(text)));
    case 'text':
    case 'json':
      return Buffer.from(text, 'utf8');
    case 'jsonb':
      // jsonb_send: a version byte (1), then the JSON text.
      return Buffer.concat([Buffer.from([1]), Buffer.from(text, 'utf8')]);
    case 'bytea':
      if (!text.startsWith('\\x')) unreadable('bytea in hex format (\\x…)', text);
      return Buffer.from(text.slice(2), 'hex');
    case 'uuid': {
      const hex = text.replaceAll('-', '');
      if (!UUID_HEX.test(hex)) unreadable('a UUID', text);
      return Buffer.from(hex, 'hex');
    }
    case 'date':
      return fixed(4, (b) => b.writeInt32BE(pgDays(text)));
    case 'time':
      return fixed(8, (b) => b.writeBigInt64BE(timeMicros(text)));
    case 'timestamp':
      return fixed(8, (b) => b.writeBigInt64BE(pgMicros(text, false)));
    case 'timestamptz':
      return fixed(8, (b) => b.writeBigInt64BE(pgMicros(text, true)));
    case 'numeric':
      return numericBytes(text);
  }
}

/** Writes one field of a tuple: its int32 length, then its bytes (NULL: length -1, no bytes). */
export type BinaryFieldEncoder = (out: CopyBuffer, text: SqlText) => void;

/** The encoder of a column's fields, by its `format_type()` spelling. */
export function binaryFieldEncoder(pgType: string): BinaryFieldEncoder {
  const type = binaryColumnType(pgType);
  return (out, text) => {
    if (text === null) {
      out.ensure(4);
      out.buf.writeInt32BE(-1, out.pos);
      out.pos += 4;
      return;
    }
    const bytes = encodeBinaryValue(type, text);
    out.ensure(4 + bytes.length);
    out.buf.writeInt32BE(bytes.length, out.pos);
    bytes.copy(out.buf, out.pos + 4);
    out.pos += 4 + bytes.length;
  };
}

/** One whole tuple of a reference row: the field count, then each field (as appendTextLine for text). */
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
  for (let i = 0; i < encoders.length; i++) encoders[i]!(out, row[i]!);
  return out.end();
}
