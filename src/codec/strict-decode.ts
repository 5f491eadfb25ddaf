/**
 * avsc's `fromBuffer`, made strict and precise about where a body is wrong:
 * - strings (map keys and bytes read as string included) must be valid UTF-8. avsc decodes them leniently,
 *   so `ED A0 80` or `FF FE` would become U+FFFD and the original bytes be lost from the row;
 * - a logical value the bytes hold but the type cannot (a decimal longer than its precision, a UUID that is
 *   not one, a timestamp-millis beyond a Date) is an `InvalidValue` marker instead of an exception;
 * and either is reported as PAYLOAD_UNDECODABLE naming the field path (`lines[2].price`, `tags["k"]`).
 *
 * It reads through avsc's own `Tap` (not part of avsc's typed API, pinned by the exact avsc version in
 * package.json) with `readString` replaced for this decode only, never on avsc's prototype.
 */
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import type avro from 'avsc';
import { collectInvalidValues, InvalidValue } from '../contracts/logical-types.ts';
import { PoisonMessageError } from '../errors.ts';

export interface AvscTap {
  buf: Buffer & { utf8Slice(start: number, end: number): string };
  pos: number;
  isValid(): boolean;
  readBoolean(): boolean;
  readInt(): number;
  readLong(): number;
  readFloat(): number;
  readDouble(): number;
  readFixed(length: number): Buffer | undefined;
  unpackLongBytes(): Buffer;
  skipBoolean(): void;
  skipInt(): void;
  skipLong(): void;
  skipFloat(): void;
  skipDouble(): void;
  skipFixed(length: number): void;
  _invalidate(): void;
}
type TapClass = new (buffer: Buffer) => AvscTap;
interface Readable {
  _read(tap: AvscTap): unknown;
}

const { Tap } = createRequire(import.meta.url)('avsc/lib/utils.js') as { Tap: TapClass };

/** A string that was not UTF-8: its lenient text (to find it in the value) and its bytes (to show them). */
interface BadString {
  text: string;
  bytes: Buffer;
}

/** Thrown by a read past the end of the body; decodeStrict reports it as truncation. */
class PastTheEnd extends Error {}

/**
 * avsc's reads past the end return undefined or 0 and carry on, checked only once the value is done. An
 * array's or map's item count is a long read from the body: a damaged count (2^31 items) in a few bytes made
 * avsc loop and allocate until the process ran out of memory, a poison pill that kills the consumer on every
 * restart. Here any read or skip at the end throws at once (an item count can then not exceed the bytes left,
 * except for items of zero bytes: arrays of null or of empty records).
 */
export class StrictTap extends Tap {
  readonly bad: BadString[] = [];

  override readBoolean(): boolean {
    if (this.pos >= this.buf.length) throw new PastTheEnd();
    return super.readBoolean();
  }
  override readInt(): number {
    if (this.pos >= this.buf.length) throw new PastTheEnd();
    return super.readInt();
  }
  override readLong(): number {
    if (this.pos >= this.buf.length) throw new PastTheEnd();
    return super.readLong();
  }
  override readFloat(): number {
    if (this.pos + 4 > this.buf.length) throw new PastTheEnd();
    return super.readFloat();
  }
  override readDouble(): number {
    if (this.pos + 8 > this.buf.length) throw new PastTheEnd();
    return super.readDouble();
  }
  override readFixed(length: number): Buffer | undefined {
    if (this.pos + length > this.buf.length) throw new PastTheEnd();
    return super.readFixed(length);
  }
  override unpackLongBytes(): Buffer {
    if (this.pos >= this.buf.length) throw new PastTheEnd();
    return super.unpackLongBytes();
  }

  // Skips too: a writer field the reader dropped is skipped item by item (avsc's ArrayType/MapType._skip), and
  // avsc's skips only move `pos`, so a damaged count there looped 2^31 times without reading a byte.
  override skipBoolean(): void {
    if (this.pos >= this.buf.length) throw new PastTheEnd();
    super.skipBoolean();
  }
  override skipInt(): void {
    if (this.pos >= this.buf.length) throw new PastTheEnd();
    super.skipInt();
  }
  override skipLong(): void {
    if (this.pos >= this.buf.length) throw new PastTheEnd();
    super.skipLong();
  }
  override skipFloat(): void {
    if (this.pos + 4 > this.buf.length) throw new PastTheEnd();
    super.skipFloat();
  }
  override skipDouble(): void {
    if (this.pos + 8 > this.buf.length) throw new PastTheEnd();
    super.skipDouble();
  }
  override skipFixed(length: number): void {
    if (this.pos + length > this.buf.length) throw new PastTheEnd();
    super.skipFixed(length);
  }

  readString(): string | undefined {
    const length = this.readLong();
    if (length < 0) {
      this._invalidate();
      return '';
    }
    const start = this.pos;
    this.pos += length;
    if (this.pos > this.buf.length) throw new PastTheEnd();
    // What avsc's own readString calls: no argument checks, unlike toString.
    const text = this.buf.utf8Slice(start, this.pos);
    // Node's decoder turns every invalid sequence into U+FFFD; only then are the bytes checked (cheap path
    // for the usual string). A U+FFFD written as valid UTF-8 (EF BF BD) passes.
    if (text.includes('\uFFFD')) {
      const bytes = this.buf.subarray(start, this.pos);
      if (!isUtf8(bytes)) this.bad.push({ text, bytes: Buffer.from(bytes) });
    }
    return text;
  }
}

const MAX_PROBLEMS = 5;

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
    ? path === ''
      ? key
      : `${path}.${key}`
    : `${path}[${JSON.stringify(key)}]`;
}

/** Where the markers and the non-UTF-8 strings are in a decoded value: `path: what is wrong`. */
function findProblems(
  value: unknown,
  badTexts: ReadonlyMap<string, Buffer>,
  path: string,
  out: string[],
): void {
  if (out.length >= MAX_PROBLEMS) return;
  if (value instanceof InvalidValue) {
    out.push(`${path || '(value)'}: ${value.reason}`);
    return;
  }
  if (typeof value === 'string') {
    const bytes = badTexts.get(value);
    if (bytes !== undefined) out.push(`${path || '(value)'}: ${invalidUtf8(bytes)}`);
    return;
  }
  if (typeof value !== 'object' || value === null || value instanceof Date || Buffer.isBuffer(value)) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      findProblems(item, badTexts, `${path}[${i}]`, out);
    });
    return;
  }
  // Records are avsc class instances; maps are plain objects whose keys were strings on the wire.
  const isMap = Object.getPrototypeOf(value) === Object.prototype;
  for (const key of Object.keys(value)) {
    if (isMap) {
      const bytes = badTexts.get(key);
      if (bytes !== undefined && out.length < MAX_PROBLEMS)
        out.push(`${keyPath(path, key)} (a map key): ${invalidUtf8(bytes)}`);
    }
    findProblems((value as Record<string, unknown>)[key], badTexts, keyPath(path, key), out);
  }
}

function invalidUtf8(bytes: Buffer): string {
  const hex = bytes
    .subarray(0, 32)
    .toString('hex')
    .replace(/(..)(?=.)/g, '$1 ');
  return `string is not valid UTF-8 (${bytes.length} bytes: ${hex}${bytes.length > 32 ? ' …' : ''})`;
}

/**
 * The reader's value of an Avro body written with the resolver's writer schema. Throws PoisonMessageError
 * PAYLOAD_UNDECODABLE (prefixed with `context`) when the body is truncated, has trailing bytes, does not match
 * the schema, or holds a string that is not UTF-8 or a logical value its type cannot hold. Given the writer
 * type, a body that does not decode is read again field by field (only then) to name the field it fails in.
 */
export function decodeStrict(
  body: Buffer,
  resolver: avro.Resolver,
  context: string,
  writer?: avro.Type,
): unknown {
  const tap = new StrictTap(body);
  let decoded: { value: unknown; invalid: number };
  try {
    decoded = collectInvalidValues(() => (resolver as unknown as Readable)._read(tap));
  } catch (error) {
    // Reading past the end makes avsc return undefined for whatever comes next: the exception that follows
    // ("Cannot read properties of undefined") says nothing, the truncation does.
    const reason =
      tap.isValid() && !(error instanceof PastTheEnd)
        ? error instanceof Error
          ? error.message
          : String(error)
        : truncated(body);
    throw located(context, reason, where(body, writer), error);
  }
  if (!tap.isValid()) throw located(context, truncated(body), where(body, writer));
  if (tap.pos < body.length) {
    throw new PoisonMessageError(
      'PAYLOAD_UNDECODABLE',
      `${context}: ${body.length - tap.pos} byte(s) of trailing data after the value (${tap.pos} of ${body.length} read)`,
    );
  }
  if (decoded.invalid > 0 || tap.bad.length > 0) {
    const problems: string[] = [];
    findProblems(decoded.value, new Map(tap.bad.map((b) => [b.text, b.bytes])), '', problems);
    // Always a reason, even if the walk found nothing (a string the reader schema dropped: still not UTF-8).
    if (problems.length === 0) {
      problems.push(
        ...tap.bad.slice(0, MAX_PROBLEMS).map((b) => `a field the reader skips: ${invalidUtf8(b.bytes)}`),
      );
      if (problems.length === 0) problems.push('a value its type cannot hold');
    }
    throw new PoisonMessageError('PAYLOAD_UNDECODABLE', `${context}: ${problems.join('; ')}`, {
      details: { fields: problems.map((p) => p.slice(0, p.indexOf(':'))) },
    });
  }
  return decoded.value;
}

function truncated(body: Buffer): string {
  return `truncated: the body's ${body.length} byte(s) end before the value does`;
}

/**
 * The writer record's first field that does not read, with why (`field status: invalid enum index 9`); the
 * layout of the body is the writer's, so reading its fields in order finds exactly where it breaks.
 */
function where(body: Buffer, writer: avro.Type | undefined): { field: string; reason: string } | undefined {
  if (writer === undefined || writer.typeName !== 'record') return undefined;
  const tap = new StrictTap(body);
  for (const { name, type } of (writer as avro.types.RecordType).fields) {
    const start = tap.pos;
    try {
      collectInvalidValues(() => (type as unknown as Readable)._read(tap));
    } catch (error) {
      if (!tap.isValid() || error instanceof PastTheEnd) {
        return { field: name, reason: `${truncated(body)} (the field starts at byte ${start})` };
      }
      const reason = error instanceof Error ? error.message : String(error);
      // avsc names an anonymous enum "undefined".
      return {
        field: name,
        reason: `${reason.replace(/^invalid undefined /, 'invalid ')} (from byte ${start})`,
      };
    }
    if (!tap.isValid())
      return { field: name, reason: `${truncated(body)} (the field starts at byte ${start})` };
  }
  return undefined;
}

function located(
  context: string,
  reason: string,
  found: { field: string; reason: string } | undefined,
  cause?: unknown,
): PoisonMessageError {
  const message =
    found === undefined ? `${context}: ${reason}` : `${context}: field ${found.field}: ${found.reason}`;
  return new PoisonMessageError('PAYLOAD_UNDECODABLE', message, {
    ...(cause === undefined ? {} : { cause }),
    ...(found === undefined ? {} : { details: { fields: [found.field] } }),
  });
}
