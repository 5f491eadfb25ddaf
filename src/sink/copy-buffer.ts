/**
 * COPY text written as bytes: the fast path appends each row's line straight into a slab of memory, instead
 * of a JS string per value, a string per line and an encode to UTF-8 at the socket. The bytes are the ones
 * `Buffer.from(copyTextLine(row))` makes of the reference row (the differential fuzz test holds them to it):
 * the same escaping (backslash, tab, newline, carriage return), `\N` for NULL, UTF-8.
 */
import { isUtf8 } from 'node:buffer';
import { copyTextField } from './copy-text.ts';
import { ISO_MAX_MS, ISO_MIN_MS, isoDayPrefix, PG_END_MS, PG_MIN_MS } from './pg-text.ts';
import type { MessageMeta, SqlText } from './row-mapper.ts';

/** How rows go to COPY: its text format, or its binary format (copy-binary.ts). */
export type CopyFormat = 'text' | 'binary';

/** The format the sink writes unless told otherwise (docs/performance.md: measured against text). */
export const DEFAULT_COPY_FORMAT: CopyFormat = 'binary';

/** A row's bytes: `buffer` from `start` to `end`. */
export interface CopySlice {
  readonly buffer: Buffer;
  readonly start: number;
  readonly end: number;
}

/** Node's unchecked writer (what avsc itself calls): no argument checks, unlike write. */
type FastBuffer = Buffer & { utf8Write(text: string, offset: number, length: number): number };

const BACKSLASH = 0x5c;
const TAB = 0x09;
const NEWLINE = 0x0a;
const CR = 0x0d;
/** The letter after a backslash that escapes a byte, or 0: tab → t, newline → n, carriage return → r. */
const ESCAPE_LETTER = new Uint8Array(128);
ESCAPE_LETTER[BACKSLASH] = BACKSLASH;
ESCAPE_LETTER[TAB] = 0x74;
ESCAPE_LETTER[NEWLINE] = 0x6e;
ESCAPE_LETTER[CR] = 0x72;

const QUOTE = 0x22;
/** JSON's one-letter escapes of control characters: \b \t \n \f \r. */
const JSON_ESCAPE_LETTER = new Uint8Array(32);
JSON_ESCAPE_LETTER[0x08] = 0x62;
JSON_ESCAPE_LETTER[TAB] = 0x74;
JSON_ESCAPE_LETTER[NEWLINE] = 0x6e;
JSON_ESCAPE_LETTER[0x0c] = 0x66;
JSON_ESCAPE_LETTER[CR] = 0x72;

const HEX_DIGITS = new Uint8Array(Buffer.from('0123456789abcdef', 'latin1'));

// A batch's timestamps spread over days more often than over seconds: the `YYYY-MM-DDT` of the days met
// (pg-text.ts's, as bytes) are kept (forgotten when there are a few thousand), the time of day is written
// digit by digit.
const DAY_PREFIX = 11;
const DAYS_KEPT = 4096;
const dayPrefixes = new Map<number, Uint8Array>();

function dayPrefix(day: number): Uint8Array {
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= DAYS_KEPT) dayPrefixes.clear();
    prefix = new Uint8Array(Buffer.from(isoDayPrefix(day), 'latin1'));
    dayPrefixes.set(day, prefix);
  }
  return prefix;
}

/** Instants' `YYYY-MM-DDTHH:MM:SS.`: 20 bytes. */
const PREFIX = 20;

function twoDigits(buf: Buffer, p: number, n: number): number {
  const tens = Math.floor(n / 10);
  buf[p] = 0x30 + tens;
  buf[p + 1] = 0x30 + n - tens * 10;
  return p + 2;
}

/** Decimal texts longer than this take copy-binary.ts's encoder (numeric holds up to 147,455 + 16,383 digits). */
const MAX_NUMERIC_TEXT = 400;
const NUMERIC_GROUPS = new Uint16Array(MAX_NUMERIC_TEXT / 4 + 2);

/** Bytes of fresh slabs: small enough to waste little, large enough that a slab holds hundreds of rows. */
const SLAB = 256 * 1024;

/**
 * A growing run of COPY bytes. A row is written between `begin()` and `end()`; when a slab is full the row
 * in progress moves to a new one, so the slices already handed out stay valid (they keep their slab alive).
 */
export class CopyBuffer {
  buf: FastBuffer;
  pos = 0;
  #rowStart = 0;

  /** `initialBytes`: the first slab (0: none until the first row); the next ones are SLAB bytes or more. */
  constructor(initialBytes = SLAB) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(0, initialBytes)) as FastBuffer;
  }

  /** Empty again, with room for `bytes` in one slab (the current one kept when it is large enough). */
  reset(bytes: number): void {
    if (this.buf.length < bytes) this.buf = Buffer.allocUnsafeSlow(bytes) as FastBuffer;
    this.pos = 0;
    this.#rowStart = 0;
  }

  begin(): void {
    this.#rowStart = this.pos;
  }

  /** Forgets the row in progress. */
  rollback(): void {
    this.pos = this.#rowStart;
  }

  /** The row written since begin(). */
  end(): CopySlice {
    return { buffer: this.buf, start: this.#rowStart, end: this.pos };
  }

  /** Makes room for `bytes` more bytes of the row in progress. */
  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const row = this.pos - this.#rowStart;
    const next = Buffer.allocUnsafeSlow(Math.max(SLAB, (row + bytes) * 2)) as FastBuffer;
    this.buf.copy(next, 0, this.#rowStart, this.pos);
    this.buf = next;
    this.#rowStart = 0;
    this.pos = row;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  tab(): void {
    this.ensure(1);
    this.buf[this.pos++] = TAB;
  }

  /** `\N`. */
  nullField(): void {
    this.ensure(2);
    this.buf[this.pos++] = BACKSLASH;
    this.buf[this.pos++] = 0x4e;
  }

  /** A field as copyTextField writes it, UTF-8 (a lone surrogate as U+FFFD, as Buffer.from does). */
  text(value: SqlText): void {
    if (value === null) {
      this.nullField();
      return;
    }
    const n = value.length;
    // At most 3 bytes per UTF-16 unit: an escaped ASCII character is 2, others at most 3 (a pair: 4 for 2).
    this.ensure(3 * n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        // Beyond ASCII: Node's encoder for the whole field.
        this.pos += buf.utf8Write(copyTextField(value), this.pos, buf.length - this.pos);
        return;
      }
      const letter = ESCAPE_LETTER[c]!;
      if (letter !== 0) {
        buf[p++] = BACKSLASH;
        buf[p++] = letter;
      } else buf[p++] = c;
    }
    this.pos = p;
  }

  /**
   * Avro string bytes as a COPY field: copied as they are when they are UTF-8 without NUL, escaped where
   * COPY needs it. False (nothing written) for bytes that are not UTF-8 or hold a NUL: the reference path
   * then decides, exactly as for any other message it takes.
   */
  utf8Field(src: Buffer, start: number, end: number): boolean {
    this.ensure(2 * (end - start));
    const buf = this.buf;
    let p = this.pos;
    let ascii = true;
    for (let i = start; i < end; i++) {
      const b = src[i]!;
      if (b < 0x0e) {
        if (b === 0) return false;
        const letter = ESCAPE_LETTER[b]!;
        if (letter !== 0) {
          buf[p++] = BACKSLASH;
          buf[p++] = letter;
          continue;
        }
      } else if (b === BACKSLASH) {
        buf[p++] = BACKSLASH;
        buf[p++] = BACKSLASH;
        continue;
      } else if (b >= 0x80) ascii = false;
      buf[p++] = b;
    }
    if (!ascii && !isUtf8(src.subarray(start, end))) return false;
    this.pos = p;
    return true;
  }

  /**
   * Avro string bytes as JSON.stringify writes the decoded string (quotes; `"`, backslash and control
   * characters escaped, the rest as it is), escaped for COPY; false (nothing written) for bytes that are not
   * UTF-8.
   */
  jsonString(src: Buffer, start: number, end: number): boolean {
    return this.#json(src, start, end, 2);
  }

  /** jsonString's JSON without the COPY text escaping: the bytes of a jsonb value in binary COPY. */
  jsonStringRaw(src: Buffer, start: number, end: number): boolean {
    return this.#json(src, start, end, 1);
  }

  /** `backslashes`: how many bytes a JSON backslash takes (2 once COPY text escapes it, 1 in binary COPY). */
  #json(src: Buffer, start: number, end: number, backslashes: 1 | 2): boolean {
    // At most 7 bytes per byte: a control character is `\u00XX` once COPY doubles the backslash.
    this.ensure(2 + 7 * (end - start));
    const buf = this.buf;
    let p = this.pos;
    let ascii = true;
    buf[p++] = QUOTE;
    for (let i = start; i < end; i++) {
      const b = src[i]!;
      if (b >= 0x80) {
        ascii = false;
        buf[p++] = b;
      } else if (b === QUOTE) {
        buf[p++] = BACKSLASH;
        if (backslashes === 2) buf[p++] = BACKSLASH;
        buf[p++] = QUOTE;
      } else if (b === BACKSLASH) {
        buf[p++] = BACKSLASH;
        buf[p++] = BACKSLASH;
        if (backslashes === 2) {
          buf[p++] = BACKSLASH;
          buf[p++] = BACKSLASH;
        }
      } else if (b < 0x20) {
        buf[p++] = BACKSLASH;
        if (backslashes === 2) buf[p++] = BACKSLASH;
        const letter = JSON_ESCAPE_LETTER[b]!;
        if (letter !== 0) buf[p++] = letter;
        else {
          buf[p++] = 0x75;
          buf[p++] = 0x30;
          buf[p++] = 0x30;
          buf[p++] = HEX_DIGITS[b >> 4]!;
          buf[p++] = HEX_DIGITS[b & 15]!;
        }
      } else buf[p++] = b;
    }
    buf[p++] = QUOTE;
    if (!ascii && !isUtf8(src.subarray(start, end))) return false;
    this.pos = p;
    return true;
  }

  /** Where the row in progress is, for rewind(). */
  mark(): number {
    return this.pos - this.#rowStart;
  }

  /** Overwrites 4 bytes at a mark() of the row in progress with a 32-bit integer (a length once known). */
  patchInt32(mark: number, n: number): void {
    const at = this.#rowStart + mark;
    const buf = this.buf;
    buf[at] = (n >>> 24) & 0xff;
    buf[at + 1] = (n >>> 16) & 0xff;
    buf[at + 2] = (n >>> 8) & 0xff;
    buf[at + 3] = n & 0xff;
  }

  /** Back to a mark() of the row in progress (its slab may have changed since). */
  rewind(mark: number): void {
    this.pos = this.#rowStart + mark;
  }

  /** ASCII bytes that need no escaping (enum symbols, default texts), copied. */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** An integer in a double (|n| < 2^53) as String(n) writes it. */
  integer(n: number): void {
    this.ensure(17);
    const buf = this.buf;
    let p = this.pos;
    if (n < 0) {
      buf[p++] = 0x2d;
      n = -n;
    }
    if (n < 0x80000000) {
      // The usual int: 32-bit arithmetic.
      let digits = 1;
      for (let m = n; m >= 10; m = (m / 10) | 0) digits++;
      p += digits;
      this.pos = p;
      for (let i = 1; i <= digits; i++) {
        const q = (n / 10) | 0;
        buf[p - i] = 0x30 + n - q * 10;
        n = q;
      }
      return;
    }
    let digits = 1;
    for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
    p += digits;
    this.pos = p;
    for (let i = 1; i <= digits; i++) {
      const q = Math.floor(n / 10);
      buf[p - i] = 0x30 + (n - q * 10);
      n = q;
    }
  }

  /** `\\x` and the bytes in lower-case hex: bytea as byteaText writes it, escaped for COPY. */
  hex(src: Buffer, start: number, end: number): void {
    this.ensure(3 + 2 * (end - start));
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = BACKSLASH;
    buf[p++] = BACKSLASH;
    buf[p++] = 0x78;
    for (let i = start; i < end; i++) {
      const b = src[i]!;
      buf[p++] = HEX_DIGITS[b >> 4]!;
      buf[p++] = HEX_DIGITS[b & 15]!;
    }
    this.pos = p;
  }

  /** 0–999 as three digits. */
  #three(n: number): void {
    const buf = this.buf;
    const hundreds = Math.floor(n / 100);
    const tens = Math.floor(n / 10) - hundreds * 10;
    buf[this.pos++] = 0x30 + hundreds;
    buf[this.pos++] = 0x30 + tens;
    buf[this.pos++] = 0x30 + (n - hundreds * 100 - tens * 10);
  }

  /** `YYYY-MM-DDTHH:MM:SS.` of a whole second (epoch seconds) whose year is 1–9999. */
  #secondPrefix(second: number): void {
    const day = Math.floor(second / 86_400);
    const prefix = dayPrefix(day);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < DAY_PREFIX; i++) buf[p++] = prefix[i]!;
    let rest = second - day * 86_400;
    const hours = Math.floor(rest / 3600);
    rest -= hours * 3600;
    const minutes = Math.floor(rest / 60);
    rest -= minutes * 60;
    p = twoDigits(buf, p, hours);
    buf[p++] = 0x3a;
    p = twoDigits(buf, p, minutes);
    buf[p++] = 0x3a;
    p = twoDigits(buf, p, rest);
    buf[p++] = 0x2e;
    this.pos = p;
  }

  /** `YYYY-MM-DD` of a day (days since 1970-01-01) whose year is 1–9999, as isoDateText writes it. */
  isoDate(day: number): void {
    this.ensure(10);
    const prefix = dayPrefix(day);
    const buf = this.buf;
    const p = this.pos;
    for (let i = 0; i < 10; i++) buf[p + i] = prefix[i]!;
    this.pos = p + 10;
  }

  /**
   * A timestamp in ms since the epoch as epochMillisText writes it, when it is an integer whose year is
   * 1–9999; false (nothing written) otherwise.
   */
  epochMillis(ms: number): boolean {
    if (!Number.isInteger(ms) || ms < ISO_MIN_MS || ms > ISO_MAX_MS) return false;
    this.ensure(PREFIX + 4);
    const second = Math.floor(ms / 1000);
    this.#secondPrefix(second);
    this.#three(ms - second * 1000);
    this.buf[this.pos++] = 0x5a;
    return true;
  }

  // Binary COPY (copy-binary.ts): big-endian integers, written byte by byte (no argument checks).

  /** A 16-bit integer. */
  int16(n: number): void {
    this.ensure(2);
    const buf = this.buf;
    buf[this.pos++] = (n >> 8) & 0xff;
    buf[this.pos++] = n & 0xff;
  }

  /** A 32-bit integer (signed or not: its low 32 bits). */
  int32(n: number): void {
    this.ensure(4);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = (n >>> 24) & 0xff;
    buf[p + 1] = (n >>> 16) & 0xff;
    buf[p + 2] = (n >>> 8) & 0xff;
    buf[p + 3] = n & 0xff;
    this.pos = p + 4;
  }

  /** A 64-bit integer given as a safe integer (|n| < 2^53): exact, two's complement for negatives. */
  int64(n: number): void {
    const high = Math.floor(n / 0x1_0000_0000);
    this.int32(high);
    this.int32(n - high * 0x1_0000_0000);
  }

  /**
   * A binary COPY field of a text's UTF-8 (text, json), or with `version` first (jsonb's version byte 1), as
   * copy-binary.ts's encoders write it, without a Buffer per value.
   */
  binaryText(text: string, version?: number): void {
    const prefix = version === undefined ? 0 : 1;
    this.ensure(4 + prefix + 3 * text.length);
    const at = this.pos;
    this.pos += 4;
    if (version !== undefined) this.buf[this.pos++] = version;
    this.pos += this.buf.utf8Write(text, this.pos, this.buf.length - this.pos);
    const length = this.pos - at - 4;
    const buf = this.buf;
    buf[at] = (length >>> 24) & 0xff;
    buf[at + 1] = (length >>> 16) & 0xff;
    buf[at + 2] = (length >>> 8) & 0xff;
    buf[at + 3] = length & 0xff;
  }

  /**
   * A numeric field (numeric_send: base-10000 digits, the weight of the first, the sign, the display scale)
   * of a decimal text as the row mapper writes it (`-?digits[.digits]`), without a string or Buffer per
   * value; false (nothing written) for any other text: copy-binary.ts's encoder then writes it.
   */
  numericField(text: string): boolean {
    const n = text.length;
    if (n === 0 || n > MAX_NUMERIC_TEXT) return false;
    let i = 0;
    const negative = text.charCodeAt(0) === 0x2d;
    if (negative) i = 1;
    let dot = -1;
    for (let k = i; k < n; k++) {
      const c = text.charCodeAt(k);
      if (c === 0x2e) {
        if (dot >= 0) return false;
        dot = k;
      } else if (c < 0x30 || c > 0x39) return false;
    }
    const intEnd = dot < 0 ? n : dot;
    const fracStart = dot < 0 ? n : dot + 1;
    if (intEnd === i && fracStart === n) return false;
    const groups = NUMERIC_GROUPS;
    let count = 0;
    // Integer digits in groups of four counted from the point leftwards, the first group possibly short.
    const intLength = intEnd - i;
    let group = 0;
    let inGroup = (4 - (intLength % 4)) % 4;
    for (let k = i; k < intEnd; k++) {
      group = group * 10 + (text.charCodeAt(k) - 0x30);
      if (++inGroup === 4) {
        groups[count++] = group;
        group = 0;
        inGroup = 0;
      }
    }
    let weight = count - 1;
    // Fraction digits in groups of four from the point rightwards, the last one padded with zeros.
    for (let k = fracStart; k < n; k++) {
      group = group * 10 + (text.charCodeAt(k) - 0x30);
      if (++inGroup === 4) {
        groups[count++] = group;
        group = 0;
        inGroup = 0;
      }
    }
    if (inGroup > 0) {
      for (; inGroup < 4; inGroup++) group *= 10;
      groups[count++] = group;
    }
    let first = 0;
    while (first < count && groups[first] === 0) first++;
    weight -= first;
    let last = count;
    while (last > first && groups[last - 1] === 0) last--;
    const digits = last - first;
    if (digits === 0) weight = 0;
    this.int32(8 + 2 * digits);
    this.int16(digits);
    this.int16(weight);
    this.int16(negative && digits > 0 ? 0x4000 : 0);
    this.int16(n - fracStart);
    for (let k = first; k < last; k++) this.int16(groups[k]!);
    return true;
  }

  /**
   * A binary COPY text field of Avro string bytes, copied as they are when they are UTF-8 without NUL (checked
   * in the same pass); false (nothing kept) otherwise: the reference path then decides, as utf8Field's does.
   */
  binaryUtf8Field(src: Buffer, start: number, end: number): boolean {
    const length = end - start;
    this.ensure(4 + length);
    const at = this.pos;
    this.int32(length);
    const buf = this.buf;
    let p = this.pos;
    let high = 0;
    let nul = false;
    for (let i = start; i < end; i++) {
      const b = src[i]!;
      high |= b;
      if (b === 0) nul = true;
      buf[p++] = b;
    }
    if (nul || (high >= 0x80 && !isUtf8(src.subarray(start, end)))) {
      this.pos = at;
      return false;
    }
    this.pos = p;
    return true;
  }

  /** A binary COPY field of bytes as they are: the int32 length, then the bytes. */
  binaryField(src: Buffer, start: number, end: number): void {
    const length = end - start;
    this.ensure(4 + length);
    this.int32(length);
    // A loop below a few hundred bytes: Buffer.copy makes a typed-array view per call.
    if (length < 256) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = src[i]!;
      this.pos = p;
    } else this.pos += src.copy(this.buf, this.pos, start, end);
  }

  /** A timestamp in µs as usualMicrosText writes it, when it would (a safe integer, year 1–9999); else false. */
  epochMicros(us: number): boolean {
    if (!Number.isSafeInteger(us)) return false;
    const ms = Math.floor(us / 1000);
    if (ms < ISO_MIN_MS || ms > ISO_MAX_MS) return false;
    this.ensure(PREFIX + 7);
    const second = Math.floor(ms / 1000);
    this.#secondPrefix(second);
    this.#three(ms - second * 1000);
    this.#three(us - ms * 1000);
    this.buf[this.pos++] = 0x5a;
    return true;
  }
}

/** The bytes of a field's text as copyTextField writes it (defaults, enum symbols: computed once). */
export function copyFieldBytes(value: SqlText): Buffer {
  const out = new CopyBuffer(1024);
  out.begin();
  out.text(value);
  const slice = out.end();
  return Buffer.from(slice.buffer.subarray(slice.start, slice.end));
}

/**
 * Appends one whole line: the row's field bytes (each followed by a tab, as the transcoder writes them), then
 * the `_kafka_*` columns as RowMapper.withMeta fills them, then the newline. `kafkaTimestampText` is the
 * mapper's (it throws the same refusal withMeta throws for a timestamp that is not one).
 */
export function appendCopyLine(
  out: CopyBuffer,
  fields: CopySlice,
  meta: MessageMeta,
  kafkaTimestampText: (timestamp: string) => string,
): CopySlice {
  out.begin();
  const length = fields.end - fields.start;
  out.ensure(length);
  fields.buffer.copy(out.buf, out.pos, fields.start, fields.end);
  out.pos += length;
  const { partition, offset, timestamp } = meta;
  if (Number.isSafeInteger(partition) && partition >= 0) out.integer(partition);
  else out.text(String(partition));
  out.tab();
  out.text(offset);
  out.tab();
  if (!out.epochMillis(Number(timestamp))) {
    try {
      out.text(kafkaTimestampText(timestamp));
    } catch (error) {
      out.rollback();
      throw error;
    }
  }
  out.byte(NEWLINE);
  return out.end();
}

/** ms between 1970-01-01 and PostgreSQL's epoch, 2000-01-01. */
const PG_EPOCH_MS = 946_684_800_000;

/**
 * A timestamptz field (int32 length 8, then µs since 2000-01-01) of ms since 1970, exact, when it is an
 * integer epochMillisText writes (one timestamptz holds); false (nothing written) otherwise.
 */
export function appendTimestamptzMillis(out: CopyBuffer, ms: number): boolean {
  if (!Number.isInteger(ms) || ms < PG_MIN_MS || ms >= PG_END_MS) return false;
  out.int32(8);
  const micros = (ms - PG_EPOCH_MS) * 1000;
  if (Number.isSafeInteger(micros)) out.int64(micros);
  else {
    out.ensure(8);
    out.buf.writeBigInt64BE(BigInt(ms - PG_EPOCH_MS) * 1000n, out.pos);
    out.pos += 8;
  }
  return true;
}

/**
 * Appends one whole binary COPY tuple: the field count (`fieldCount` fields, then the three `_kafka_*`
 * columns), the row's fields as the transcoder's transcodeBinary wrote them, then the `_kafka_*` columns as
 * RowMapper.withMeta fills them, in their binary forms (integer, bigint, timestamptz). `kafkaTimestampText`
 * and `timestamptz` (copy-binary.ts's encoder of that column) take the timestamps that are not integers.
 */
export function appendBinaryLine(
  out: CopyBuffer,
  fields: CopySlice,
  fieldCount: number,
  meta: MessageMeta,
  kafkaTimestampText: (timestamp: string) => string,
  timestamptz: (out: CopyBuffer, text: SqlText) => void,
): CopySlice {
  out.begin();
  const length = fields.end - fields.start;
  out.ensure(2 + length);
  out.int16(fieldCount + 3);
  fields.buffer.copy(out.buf, out.pos, fields.start, fields.end);
  out.pos += length;
  const { partition, offset, timestamp } = meta;
  out.int32(4);
  out.int32(partition);
  out.int32(8);
  const position = Number(offset);
  if (Number.isSafeInteger(position)) out.int64(position);
  else {
    out.ensure(8);
    out.buf.writeBigInt64BE(BigInt(offset), out.pos);
    out.pos += 8;
  }
  const ms = Number(timestamp);
  if (!Number.isSafeInteger(ms) || !appendTimestamptzMillis(out, ms)) {
    try {
      timestamptz(out, kafkaTimestampText(timestamp));
    } catch (error) {
      out.rollback();
      throw error;
    }
  }
  return out.end();
}

/** A reference row's line (copyTextLine), appended as bytes. */
export function appendTextLine(out: CopyBuffer, row: readonly SqlText[]): CopySlice {
  out.begin();
  for (let i = 0; i < row.length; i++) {
    if (i > 0) out.tab();
    out.text(row[i]!);
  }
  out.byte(NEWLINE);
  return out.end();
}

/**
 * Buffers larger than this are not kept: a batch of many rows (CONSUMER_BATCH_MAX_ROWS is 5,000 by default,
 * about a megabyte of lines) must not pin its buffer for the life of the process.
 */
const MAX_POOLED_BYTES = 8 * 1024 * 1024;

/**
 * The buffers of batches whose transaction ended, for the next batches. A batch's lines take about a
 * megabyte; allocated anew per batch, that external memory made V8 run full collections often enough to cost
 * a quarter of the insert path's CPU (bench:transcode, page views: 2.64 → 1.91 µs per row with reuse).
 */
export class CopyBufferPool {
  readonly #free: CopyBuffer[] = [];
  readonly #max: number;

  /** `max`: buffers kept at most (one per batch written at the same time is enough). */
  constructor(max = 4) {
    this.#max = max;
  }

  /** A buffer that is the caller's until it gives it back; no slice of it may be used after that. */
  take(): CopyBuffer {
    return this.#free.pop() ?? new CopyBuffer(0);
  }

  /** Keeps the buffer for the next taker, unless the pool is full or the buffer is a large batch's. */
  give(buffer: CopyBuffer | undefined): void {
    if (buffer === undefined || buffer.buf.length > MAX_POOLED_BYTES) return;
    if (this.#free.length < this.#max) this.#free.push(buffer);
  }
}
