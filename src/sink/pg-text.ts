/**
 * PostgreSQL text forms of decoded Avro values. Every value reaches the database as text (a bound parameter
 * or a COPY field) so that numeric, timestamptz and jsonb are parsed by PostgreSQL exactly, never rounded
 * through a JavaScript number on the way.
 */
import { PoisonMessageError } from '../errors.ts';

const MICROS_PER_SECOND = 1_000_000n;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * `YYYY-MM-DD HH:MM:SS.ffffff+00` for an instant given as whole seconds plus a 6-digit fraction. Years
 * outside 1–9999 are written the way PostgreSQL reads them (`… BC`, five-digit years), which
 * `Date.toISOString` does not do.
 */
function utcText(epochSeconds: number, fraction6: string): string {
  const date = new Date(epochSeconds * 1000);
  const year = date.getUTCFullYear();
  if (Number.isNaN(year)) {
    throw new PoisonMessageError('ROW_REJECTED', `timestamp ${epochSeconds}s is outside any calendar`);
  }
  if (year >= 1 && year <= 9999) return `${date.toISOString().slice(0, 19)}.${fraction6}+00`;
  const era = year <= 0 ? ' BC' : '';
  const shownYear = year <= 0 ? 1 - year : year;
  return (
    `${pad(shownYear, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)} ` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}` +
    `.${fraction6}+00${era}`
  );
}

// Instants whose year is 1–9999, where Date.toISOString() writes what PostgreSQL reads.
const ISO_MIN_MS = -62_135_596_800_000;
const ISO_MAX_MS = 253_402_300_799_999;

// toISOString costs about a microsecond; the values of a batch mostly share a few seconds (each row's
// Kafka timestamp, its event time, its update time…), so the `YYYY-MM-DDTHH:MM:SS.` text of the last few
// seconds seen is kept, and only the fraction is written per value. One entry was not enough: two
// timestamps per row alternated and missed every time.
const SECONDS_KEPT = 8;
const cachedSeconds = new Float64Array(SECONDS_KEPT).fill(Number.NaN);
const cachedPrefixes: string[] = new Array<string>(SECONDS_KEPT).fill('');
let nextSlot = 0;

/** `YYYY-MM-DDTHH:MM:SS.` of a whole second (epoch seconds) whose year is 1–9999. */
function isoSecondPrefix(second: number): string {
  for (let i = 0; i < SECONDS_KEPT; i++) if (cachedSeconds[i] === second) return cachedPrefixes[i]!;
  const prefix = new Date(second * 1000).toISOString().slice(0, 20);
  cachedSeconds[nextSlot] = second;
  cachedPrefixes[nextSlot] = prefix;
  nextSlot = (nextSlot + 1) % SECONDS_KEPT;
  return prefix;
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

/** A timestamp-micros value (bigint µs since the epoch) as exact timestamptz text: no microsecond lost. */
export function microsText(micros: bigint): string {
  // Hot path: every avsc long is a safe integer, so Number arithmetic is exact and much cheaper than BigInt.
  const n = Number(micros);
  if (Number.isSafeInteger(n)) {
    const ms = Math.floor(n / 1000);
    if (ms >= ISO_MIN_MS && ms <= ISO_MAX_MS) {
      const second = Math.floor(ms / 1000);
      return `${isoSecondPrefix(second)}${pad3(ms - second * 1000)}${pad3(n - ms * 1000)}Z`;
    }
  }
  let seconds = micros / MICROS_PER_SECOND;
  let fraction = micros % MICROS_PER_SECOND;
  // BigInt division truncates toward zero; an instant before 1970 needs the floor.
  if (fraction < 0n) {
    fraction += MICROS_PER_SECOND;
    seconds -= 1n;
  }
  return utcText(Number(seconds), fraction.toString().padStart(6, '0'));
}

/** Milliseconds since the epoch as timestamptz text. */
export function epochMillisText(ms: number): string {
  if (!Number.isFinite(ms)) throw new PoisonMessageError('ROW_REJECTED', 'timestamp is not a number');
  if (ms >= ISO_MIN_MS && ms <= ISO_MAX_MS) {
    const second = Math.floor(ms / 1000);
    return `${isoSecondPrefix(second)}${pad3(ms - second * 1000)}Z`;
  }
  const seconds = Math.floor(ms / 1000);
  return utcText(seconds, pad((ms - seconds * 1000) * 1000, 6));
}

/** A Date (timestamp-millis) as timestamptz text. */
export function millisText(date: Date): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new PoisonMessageError('ROW_REJECTED', 'timestamp is an invalid Date');
  return epochMillisText(ms);
}

/** bytea in PostgreSQL's hex format. */
export function byteaText(bytes: Uint8Array): string {
  return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/**
 * JSON text of a nested decoded value (record, array, map, union). Unlike JSON.stringify it never throws on
 * bigint: a bigint is written as a JSON number with all its digits, which jsonb keeps exactly. A Date
 * becomes its ISO string, bytes `\x…` hex like bytea, NaN and ±Infinity (no JSON numbers) their names as
 * strings. Object keys whose value is undefined are left out, as JSON.stringify does.
 */
export function jsonText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'null';
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime()))
          throw new PoisonMessageError('ROW_REJECTED', 'invalid Date in JSON');
        return JSON.stringify(value.toISOString());
      }
      if (value instanceof Uint8Array) return JSON.stringify(byteaText(value));
      if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
      const parts: string[] = [];
      // avsc records are class instances: their own enumerable keys are the fields.
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (item !== undefined) parts.push(`${JSON.stringify(key)}:${jsonText(item)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new PoisonMessageError('ROW_REJECTED', `a ${typeof value} cannot be written as JSON`);
  }
}
