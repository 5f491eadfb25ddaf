/**
 * Avro logical types as honest TypeScript values. avsc leaves logical types to the application; these
 * classes are the project's one mapping:
 *
 * | Avro                     | TypeScript             | why                                              |
 * | ------------------------ | ---------------------- | ------------------------------------------------ |
 * | bytes/fixed decimal(p,s) | `Decimal` (string)     | exact; a float would round money                 |
 * | long timestamp-millis    | `Date`                 | millisecond precision is what Date holds         |
 * | long timestamp-micros    | `bigint` (µs)          | Date would drop the microseconds                 |
 * | int date                 | `IsoDate` (YYYY-MM-DD) | a day, not an instant: no time zone to get wrong |
 * | int time-millis          | `LocalTime` (text)     | a time of day, `HH:MM:SS.mmm`; not an instant    |
 * | long time-micros         | `LocalTime` (text)     | `HH:MM:SS.ffffff`, every microsecond kept        |
 * | long local-timestamp-*   | `LocalTimestamp` (text)| `YYYY-MM-DDTHH:MM:SS.mmm` (millis) or `.ffffff`  |
 * |                          |                        | (micros): a wall-clock reading, no time zone     |
 * | string uuid              | `Uuid` (branded)       | checked once, then carried as a string           |
 *
 * Years outside 0000–9999 are written in ISO 8601's expanded form (`+010000-01-01`, `-004713-11-24`).
 *
 * Decoding never throws on a value the bytes carry but the type cannot: inside `collectInvalidValues` it
 * returns an `InvalidValue` marker naming what is wrong, so that the decoder can report the field path
 * (avsc's own errors do not say where they happened); outside, it throws as before.
 */
import avro from 'avsc';
import { PipelineError } from '../errors.ts';
import { civilFromDays, daysFromCivil, isoDateText, parseIsoDate } from './civil-date.ts';

/** A decimal number written in base 10, e.g. `"1234.50"`. Never a float. */
export type Decimal = `${number}`;
/** A calendar day, `YYYY-MM-DD`. */
export type IsoDate = `${number}-${number}-${number}`;
/** A time of day without a zone, `HH:MM:SS.mmm` (time-millis) or `HH:MM:SS.ffffff` (time-micros). */
export type LocalTime = `${number}:${number}:${number}`;
/** A date and time without a zone, `YYYY-MM-DDTHH:MM:SS.mmm` or `.ffffff`: what a wall clock showed. */
export type LocalTimestamp = `${number}-${number}-${number}T${number}:${number}:${number}`;
declare const uuidBrand: unique symbol;
/** A UUID string that passed `asUuid`. */
export type Uuid = string & { readonly [uuidBrand]: true };

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DECIMAL_PATTERN = /^(-?)(\d+)(?:\.(\d+))?$/;
const MIN_INT = -(2 ** 31);
const MAX_INT = 2 ** 31 - 1;
/** The instants a JavaScript Date holds: ±8.64e15 ms around the epoch. */
const DATE_LIMIT_MS = 8.64e15;

/** What a decoded value became when its bytes are not a value of its type (see `collectInvalidValues`). */
export class InvalidValue {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
  /** Never written anywhere by accident: JSON.stringify of a value that holds one throws. */
  toJSON(): never {
    throw new PipelineError('PAYLOAD_UNDECODABLE', this.reason);
  }
}

let collecting = false;
let made = 0;

function invalid(reason: string): InvalidValue {
  if (!collecting) throw new PipelineError('PAYLOAD_UNDECODABLE', reason);
  made++;
  return new InvalidValue(reason);
}

/**
 * Runs a synchronous decode in which the logical types return `InvalidValue` markers instead of throwing;
 * `invalid` is how many were made (0: the value holds none, no walk needed).
 */
export function collectInvalidValues<T>(decode: () => T): { value: T; invalid: number } {
  const before = made;
  collecting = true;
  try {
    const value = decode();
    return { value, invalid: made - before };
  } finally {
    collecting = false;
  }
}

function shown(value: unknown): string {
  return typeof value === 'bigint'
    ? `${value}`
    : typeof value === 'string'
      ? JSON.stringify(value.slice(0, 60))
      : String(value);
}

export function isUuid(value: unknown): value is Uuid {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/** Narrows a string to `Uuid`; returns undefined when it is not one. */
export function asUuid(value: string): Uuid | undefined {
  return isUuid(value) ? value : undefined;
}

type LogicalSchema = avro.Schema & { precision?: number; scale?: number; logicalType?: string };

/**
 * Resolution when reading data written with `writer`: same logical type → the value is already converted;
 * the bare underlying type → convert it; anything else → not resolvable (avsc then reports the mismatch).
 */
function resolveFrom(self: avro.types.LogicalType, writer: avro.Type, same: (w: avro.Type) => boolean) {
  if (
    avro.Type.isType(writer, `logical:${(self as unknown as { _logicalTypeName: string })._logicalTypeName}`)
  ) {
    return same(writer) ? (value: unknown) => value : undefined;
  }
  if (writer.typeName === self.underlyingType.typeName) {
    return (value: unknown) => (self as unknown as { _fromValue(v: unknown): unknown })._fromValue(value);
  }
  return undefined;
}

export class DecimalType extends avro.types.LogicalType {
  readonly precision: number;
  readonly scale: number;

  constructor(schema: LogicalSchema, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    const precision = schema.precision;
    const scale = schema.scale ?? 0;
    if (!Number.isInteger(precision) || (precision as number) < 1) {
      throw new PipelineError(
        'SCHEMA_INVALID',
        `decimal needs a positive integer precision, got ${JSON.stringify(precision)}`,
      );
    }
    if (!Number.isInteger(scale) || scale < 0 || scale > (precision as number)) {
      throw new PipelineError(
        'SCHEMA_INVALID',
        `decimal scale must be from 0 to precision (${precision}), got ${JSON.stringify(scale)}`,
      );
    }
    this.precision = precision as number;
    this.scale = scale;
  }

  override _fromValue(buffer: Buffer): Decimal | InvalidValue {
    if (!Buffer.isBuffer(buffer)) return invalid(`decimal(${this.precision},${this.scale}): no bytes`);
    let unscaled = 0n;
    for (const byte of buffer) unscaled = (unscaled << 8n) | BigInt(byte);
    if (buffer.length > 0 && (buffer[0]! & 0x80) !== 0) unscaled -= 1n << BigInt(buffer.length * 8);
    const negative = unscaled < 0n;
    const significant = (negative ? -unscaled : unscaled).toString();
    // The bytes may hold more digits than declared; a numeric(p,s) column refuses them, and so must a
    // decimal nested in jsonb, which PostgreSQL would store whatever its length.
    if (unscaled !== 0n && significant.length > this.precision) {
      return invalid(
        `decimal(${this.precision},${this.scale}) holds at most ${this.precision} digits, got ${significant.length} (${negative ? '-' : ''}${significant.slice(0, 40)}${significant.length > 40 ? '…' : ''} unscaled)`,
      );
    }
    const digits = significant.padStart(this.scale + 1, '0');
    const whole = digits.slice(0, digits.length - this.scale);
    const fraction = digits.slice(digits.length - this.scale);
    return `${negative ? '-' : ''}${whole}${this.scale > 0 ? `.${fraction}` : ''}` as Decimal;
  }

  /** Refuses (undefined) rather than rounds: more fraction digits than the scale is invalid input. */
  override _toValue(value: unknown): Buffer | undefined {
    if (typeof value !== 'string') return undefined;
    const match = DECIMAL_PATTERN.exec(value);
    if (!match) return undefined;
    const [, sign, whole = '', fraction = ''] = match;
    if (fraction.length > this.scale) return undefined;
    const digits = `${whole}${fraction.padEnd(this.scale, '0')}`.replace(/^0+(?=\d)/, '');
    if (digits.length > this.precision) return undefined;
    let unscaled = BigInt(digits) * (sign === '-' ? -1n : 1n);
    // Two's complement, big-endian, in as few bytes as hold the sign.
    const bytes: number[] = [];
    do {
      bytes.unshift(Number(unscaled & 0xffn));
      unscaled >>= 8n;
    } while (
      !((unscaled === 0n && (bytes[0]! & 0x80) === 0) || (unscaled === -1n && (bytes[0]! & 0x80) !== 0))
    );
    // On a fixed, the two's complement fills exactly `size` bytes: sign-extend, or refuse what does not fit.
    const size = (this.underlyingType as { size?: number }).size;
    if (this.underlyingType.typeName === 'fixed' && size !== undefined) {
      if (bytes.length > size) return undefined;
      const fill = (bytes[0]! & 0x80) !== 0 ? 0xff : 0x00;
      while (bytes.length < size) bytes.unshift(fill);
    }
    return Buffer.from(bytes);
  }

  override _resolve(writer: avro.Type) {
    return resolveFrom(this, writer, (w) => {
      const other = w as unknown as DecimalType;
      return other.scale === this.scale && other.precision <= this.precision;
    });
  }

  override _export(schema: LogicalSchema): void {
    schema.precision = this.precision;
    schema.scale = this.scale;
  }
}

export class TimestampMillisType extends avro.types.LogicalType {
  override _fromValue(value: number | bigint): Date | InvalidValue {
    // An exact long beyond 2^53 is a bigint: far beyond what a Date holds, like a number past ±8.64e15.
    if (typeof value !== 'number' || !(Math.abs(value) <= DATE_LIMIT_MS)) {
      return invalid(
        `timestamp-millis ${shown(value)} is outside what a JavaScript Date holds (±8.64e15 ms, years -271821 to 275760)`,
      );
    }
    return new Date(value);
  }
  override _toValue(value: unknown): number | undefined {
    return value instanceof Date && !Number.isNaN(value.getTime()) ? value.getTime() : undefined;
  }
  override _resolve(writer: avro.Type) {
    return resolveFrom(this, writer, () => true);
  }
}

export class TimestampMicrosType extends avro.types.LogicalType {
  override _fromValue(value: number | bigint): bigint | InvalidValue {
    if (typeof value === 'bigint') return value;
    return Number.isSafeInteger(value)
      ? BigInt(value)
      : invalid(`timestamp-micros: not a long (${shown(value)})`);
  }
  override _toValue(value: unknown): bigint | undefined {
    // The underlying long is exactLongType's: a bigint is written as it is.
    return typeof value === 'bigint' && value >= MIN_LONG && value <= MAX_LONG ? value : undefined;
  }
  override _resolve(writer: avro.Type) {
    return resolveFrom(this, writer, () => true);
  }
}

export class DateType extends avro.types.LogicalType {
  /** Every int is a day (±5.8 million years): exact, whatever Date could hold. */
  override _fromValue(days: number): IsoDate | InvalidValue {
    if (!Number.isInteger(days)) return invalid(`date: not an int (${shown(days)})`);
    return isoDateText(civilFromDays(days)) as IsoDate;
  }
  override _toValue(value: unknown): number | undefined {
    if (typeof value !== 'string') return undefined;
    const date = parseIsoDate(value);
    if (date === undefined) return undefined;
    const days = daysFromCivil(date);
    // Only the canonical spelling: 2026-02-30 (no such day) or +002026-01-01 (should be 2026-01-01).
    return days >= MIN_INT && days <= MAX_INT && isoDateText(date) === value ? days : undefined;
  }
  override _resolve(writer: avro.Type) {
    return resolveFrom(this, writer, () => true);
  }
}

const TIME_PATTERN = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const LOCAL_TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const MICROS_PER_DAY = 86_400_000_000;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `HH:MM:SS` plus `digits` fraction digits of a time of day in microseconds (0 ≤ micros < a day). */
function timeText(micros: number, digits: 3 | 6): string {
  const seconds = Math.floor(micros / 1_000_000);
  const fraction = micros - seconds * 1_000_000;
  const shown = digits === 3 ? pad(fraction / 1000, 3) : pad(fraction, 6);
  return `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}.${shown}`;
}

/** Microseconds since midnight of `HH:MM:SS[.f]`, or undefined (no such time, or more digits than kept). */
function parseTime(value: unknown, digits: 3 | 6): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TIME_PATTERN.exec(value);
  if (!match) return undefined;
  const [, h, m, s, fraction = ''] = match;
  if (fraction.length > digits || Number(h) > 23 || Number(m) > 59 || Number(s) > 59) return undefined;
  return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1_000_000 + Number(fraction.padEnd(6, '0'));
}

/**
 * Avro time-millis (int) and time-micros (long): a time of day, so PostgreSQL `time`. Text rather than a
 * number so that a value reads as what it is and reaches the database exactly.
 */
abstract class TimeOfDayType extends avro.types.LogicalType {
  protected abstract readonly unit: 1000 | 1;
  protected abstract readonly digits: 3 | 6;

  override _fromValue(value: number | bigint): LocalTime | InvalidValue {
    const micros = Number(value) * this.unit;
    if (!Number.isSafeInteger(micros) || micros < 0 || micros >= MICROS_PER_DAY) {
      return invalid(
        `time of day out of range: ${value} (${this.digits === 3 ? 'ms' : 'µs'} after midnight)`,
      );
    }
    return timeText(micros, this.digits) as LocalTime;
  }
  override _toValue(value: unknown): number | undefined {
    const micros = parseTime(value, this.digits);
    return micros === undefined ? undefined : micros / this.unit;
  }
  override _resolve(writer: avro.Type) {
    return resolveFrom(this, writer, () => true);
  }
}

export class TimeMillisType extends TimeOfDayType {
  protected readonly unit = 1000;
  protected readonly digits = 3;
}

export class TimeMicrosType extends TimeOfDayType {
  protected readonly unit = 1;
  protected readonly digits = 6;
}

/** `YYYY-MM-DDTHH:MM:SS` of whole seconds since the (zone-less) epoch, years 1–9999 only. */
const LOCAL_MIN_SECONDS = -62_135_596_800;
const LOCAL_MAX_SECONDS = 253_402_300_799;

/**
 * Avro local-timestamp-millis / -micros: a wall-clock reading with no zone, so PostgreSQL `timestamp
 * without time zone`, never shifted by a session time zone. Text (ISO 8601 without an offset) because a Date
 * is an instant. Years 1–9999, the range ISO 8601 text and PostgreSQL both write plainly; a value outside
 * cannot be decoded (its message is a dead letter that says so).
 */
abstract class LocalTimestampType extends avro.types.LogicalType {
  protected abstract readonly perSecond: 1000n | 1_000_000n;

  override _fromValue(value: number | bigint): LocalTimestamp | InvalidValue {
    const big = BigInt(value);
    let seconds = big / this.perSecond;
    let fraction = big % this.perSecond;
    // BigInt division truncates toward zero: before 1970 needs the floor.
    if (fraction < 0n) {
      fraction += this.perSecond;
      seconds -= 1n;
    }
    if (seconds < LOCAL_MIN_SECONDS || seconds > LOCAL_MAX_SECONDS) {
      return invalid(`local timestamp ${value} is outside the years 1–9999`);
    }
    const digits = this.perSecond === 1000n ? 3 : 6;
    const date = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
    return `${date}.${fraction.toString().padStart(digits, '0')}` as LocalTimestamp;
  }
  override _toValue(value: unknown): number | bigint | undefined {
    if (typeof value !== 'string') return undefined;
    const match = LOCAL_TIMESTAMP_PATTERN.exec(value);
    if (!match) return undefined;
    const digits = this.perSecond === 1000n ? 3 : 6;
    const [, y, mo, d, h, mi, s, fraction = ''] = match;
    if (fraction.length > digits || Number(y) < 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
      return undefined;
    }
    // setUTCFullYear, unlike Date.UTC, does not read years below 100 as 19xx.
    const date = new Date(0);
    date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
    date.setUTCHours(Number(h), Number(mi), Number(s), 0);
    const ms = date.getTime();
    // A day that does not exist (2026-02-30) rolls over to the next month: refuse it.
    if (Number.isNaN(ms) || date.toISOString().slice(0, 19) !== value.slice(0, 19)) return undefined;
    const whole = BigInt(ms / 1000) * this.perSecond + BigInt(fraction.padEnd(digits, '0'));
    return this.perSecond === 1000n ? Number(whole) : whole;
  }
  override _resolve(writer: avro.Type) {
    return resolveFrom(this, writer, () => true);
  }
}

export class LocalTimestampMillisType extends LocalTimestampType {
  protected readonly perSecond = 1000n;
}

export class LocalTimestampMicrosType extends LocalTimestampType {
  protected readonly perSecond = 1_000_000n;
}

export class UuidType extends avro.types.LogicalType {
  /**
   * Canonical (lower-case) on the way in: PostgreSQL's uuid treats `A…` and `a…` as one value, so two
   * spellings of one key must not reach one upsert as two keys. Anything that is not a UUID is refused.
   */
  override _fromValue(value: string): Uuid | InvalidValue {
    if (!isUuid(value)) return invalid(`not a UUID: ${shown(value)}`);
    return value.toLowerCase() as Uuid;
  }
  override _toValue(value: unknown): string | undefined {
    return isUuid(value) ? value : undefined;
  }
  override _resolve(writer: avro.Type) {
    return resolveFrom(this, writer, () => true);
  }
}

const MIN_LONG = -(2n ** 63n);
const MAX_LONG = 2n ** 63n - 1n;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Avro `long` without precision loss. avsc's own long is a JS number and refuses (throws on) anything beyond
 * 2^53, which a Java producer writes freely (ids, timestamp-micros far ahead): such a message would be a dead
 * letter although nothing is wrong with it. This one decodes to a number while it is exact, else to a
 * bigint, and encodes either. Pass as `registry: { long: exactLongType() }`.
 */
export function exactLongType(): avro.Type {
  return avro.types.LongType.__with({
    fromBuffer(buffer: Buffer): number | bigint {
      const value = buffer.readBigInt64LE();
      return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
    },
    toBuffer(value: number | bigint): Buffer {
      const buffer = Buffer.alloc(8);
      buffer.writeBigInt64LE(BigInt(value));
      return buffer;
    },
    fromJSON(value: unknown): number | bigint {
      const big = BigInt(value as string | number);
      return big >= MIN_SAFE && big <= MAX_SAFE ? Number(big) : big;
    },
    toJSON(value: number | bigint): number | string {
      // JSON numbers lose digits past 2^53 in most readers: the exact text instead.
      return typeof value === 'bigint' ? value.toString() : value;
    },
    isValid(value: unknown): boolean {
      if (typeof value === 'number') return Number.isSafeInteger(value);
      return typeof value === 'bigint' && value >= MIN_LONG && value <= MAX_LONG;
    },
    compare(a: number | bigint, b: number | bigint): number {
      return a < b ? -1 : a > b ? 1 : 0;
    },
  });
}

/** Pass as `logicalTypes` to `avro.Type.forSchema`. */
export const logicalTypes = {
  decimal: DecimalType,
  'timestamp-millis': TimestampMillisType,
  'timestamp-micros': TimestampMicrosType,
  date: DateType,
  uuid: UuidType,
  'time-millis': TimeMillisType,
  'time-micros': TimeMicrosType,
  'local-timestamp-millis': LocalTimestampMillisType,
  'local-timestamp-micros': LocalTimestampMicrosType,
} as const;
