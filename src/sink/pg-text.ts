/**
 * PostgreSQL text forms of decoded Avro values. Every value reaches the database as text (a bound parameter
 * or a COPY field) so that numeric, timestamptz and jsonb are parsed by PostgreSQL exactly, never rounded
 * through a JavaScript number on the way.
 */
import { civilFromDays, daysFromCivil, parseIsoDate, pgDateText } from '../contracts/civil-date.ts';
import { PoisonMessageError } from '../errors.ts';

const MICROS_PER_SECOND = 1_000_000n;
const SECONDS_PER_DAY = 86_400;

/** The first instant timestamptz holds, 4714-11-24 00:00:00 BC, in µs and ms since the epoch. */
const PG_MIN_MICROS = -210_866_803_200_000_000n;
export const PG_MIN_MS = -210_866_803_200_000;
/** The first instant after the last one timestamptz holds, 294277-01-01 00:00:00, in µs and ms. */
const PG_END_MICROS = 9_224_318_016_000_000_000n;
export const PG_END_MS = 9_224_318_016_000_000;
/** The days PostgreSQL's date holds: 4714-11-24 BC to 5874897-12-31, as days since 1970-01-01. */
const PG_MIN_DAY = -2_440_588;
const PG_MAX_DAY = 2_145_042_905;
const PG_TIMESTAMP_RANGE = '4714-11-24 00:00:00 BC to 294276-12-31 23:59:59.999999 UTC';

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * `YYYY-MM-DD HH:MM:SS.ffffff+00` for an instant given as whole seconds plus a 6-digit fraction, by exact
 * integer calendar arithmetic (a Date stops at year 275760). Years outside 1–9999 are written the way
 * PostgreSQL reads them (`… BC`, five- and six-digit years), which `Date.toISOString` does not do.
 */
function utcText(epochSeconds: number, fraction6: string): string {
  const days = Math.floor(epochSeconds / SECONDS_PER_DAY);
  const secondOfDay = epochSeconds - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const hours = Math.floor(secondOfDay / 3600);
  const minutes = Math.floor((secondOfDay % 3600) / 60);
  const era = year <= 0 ? ' BC' : '';
  const shownYear = year <= 0 ? 1 - year : year;
  return (
    `${pad(shownYear, 4)}-${pad(month, 2)}-${pad(day, 2)} ` +
    `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(secondOfDay % 60, 2)}` +
    `.${fraction6}+00${era}`
  );
}

// Instants whose year is 1–9999, where Date.toISOString() writes what PostgreSQL reads.
export const ISO_MIN_MS = -62_135_596_800_000;
export const ISO_MAX_MS = 253_402_300_799_999;

// toISOString costs about a microsecond; the values of a batch mostly share a few seconds (each row's
// Kafka timestamp, its event time, its update time…), so the `YYYY-MM-DDTHH:MM:SS.` text of the last few
// seconds seen is kept, and only the fraction is written per value. One entry was not enough: two
// timestamps per row alternated and missed every time.
const SECONDS_KEPT = 8;
const cachedSeconds = new Float64Array(SECONDS_KEPT).fill(Number.NaN);
const cachedPrefixes: string[] = new Array<string>(SECONDS_KEPT).fill('');
let nextSlot = 0;

// Events of a batch spread over days more often than over seconds: on a miss, the day's `YYYY-MM-DDT` comes
// from a map of the days seen (cleared when it holds a few thousand) and the time of day from a table,
// instead of a toISOString per value.
const DAYS_KEPT = 4096;
const dayPrefixes = new Map<number, string>();
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/** `YYYY-MM-DDT` of a day (days since the epoch) whose year is 1–9999. */
export function isoDayPrefix(day: number): string {
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= DAYS_KEPT) dayPrefixes.clear();
    prefix = new Date(day * 86_400_000).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  return prefix;
}

/** `YYYY-MM-DDTHH:MM:SS.` of a whole second (epoch seconds) whose year is 1–9999. */
function isoSecondPrefix(second: number): string {
  for (let i = 0; i < SECONDS_KEPT; i++) if (cachedSeconds[i] === second) return cachedPrefixes[i]!;
  const day = Math.floor(second / SECONDS_PER_DAY);
  const ofDay = second - day * SECONDS_PER_DAY;
  const minutes = Math.floor(ofDay / 60);
  const prefix = `${isoDayPrefix(day)}${TWO_DIGITS[Math.floor(minutes / 60)]}:${TWO_DIGITS[minutes % 60]}:${TWO_DIGITS[ofDay - minutes * 60]}.`;
  cachedSeconds[nextSlot] = second;
  cachedPrefixes[nextSlot] = prefix;
  nextSlot = (nextSlot + 1) % SECONDS_KEPT;
  return prefix;
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

/**
 * The timestamptz text of µs since the epoch given as a number, when it is a safe integer in the years
 * 1–9999 (exact Number arithmetic, no BigInt); undefined otherwise (microsText handles the rest).
 */
export function usualMicrosText(n: number): string | undefined {
  if (!Number.isSafeInteger(n)) return undefined;
  const ms = Math.floor(n / 1000);
  if (ms < ISO_MIN_MS || ms > ISO_MAX_MS) return undefined;
  const second = Math.floor(ms / 1000);
  return `${isoSecondPrefix(second)}${pad3(ms - second * 1000)}${pad3(n - ms * 1000)}Z`;
}

/** A timestamp-micros value (bigint µs since the epoch) as exact timestamptz text: no microsecond lost. */
export function microsText(micros: bigint): string {
  // Hot path: every avsc long is a safe integer, so Number arithmetic is exact and much cheaper than BigInt.
  const usual = usualMicrosText(Number(micros));
  if (usual !== undefined) return usual;
  if (micros < PG_MIN_MICROS || micros >= PG_END_MICROS) {
    throw new PoisonMessageError(
      'ROW_REJECTED',
      `timestamp ${micros} µs since 1970 is outside what PostgreSQL's timestamptz holds (${PG_TIMESTAMP_RANGE})`,
    );
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
  if (!Number.isInteger(ms))
    throw new PoisonMessageError('ROW_REJECTED', `timestamp ${ms} ms is not a whole number`);
  if (ms >= ISO_MIN_MS && ms <= ISO_MAX_MS) {
    const second = Math.floor(ms / 1000);
    return `${isoSecondPrefix(second)}${pad3(ms - second * 1000)}Z`;
  }
  if (ms < PG_MIN_MS || ms >= PG_END_MS) {
    throw new PoisonMessageError(
      'ROW_REJECTED',
      `timestamp ${ms} ms since 1970 is outside what PostgreSQL's timestamptz holds (${PG_TIMESTAMP_RANGE})`,
    );
  }
  const seconds = Math.floor(ms / 1000);
  return utcText(seconds, pad((ms - seconds * 1000) * 1000, 6));
}

/** An ISO day (the date logical type's `YYYY-MM-DD` or `±YYYYYY-MM-DD`) as PostgreSQL date text. */
export function dateText(iso: string): string {
  // The usual day: PostgreSQL reads the ISO text as it is.
  if (iso.length === 10 && iso >= '0001-01-01' && iso <= '9999-12-31' && iso[4] === '-') return iso;
  const date = parseIsoDate(iso);
  if (date === undefined) {
    throw new PoisonMessageError('ROW_REJECTED', `${JSON.stringify(iso.slice(0, 40))} is not an ISO date`);
  }
  const days = daysFromCivil(date);
  if (days < PG_MIN_DAY || days > PG_MAX_DAY) {
    throw new PoisonMessageError(
      'ROW_REJECTED',
      `date ${iso} is outside what PostgreSQL's date holds (4714-11-24 BC to 5874897-12-31)`,
    );
  }
  return pgDateText(date);
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
 * strings. Object keys whose value is undefined are left out, as JSON.stringify does. A value that cannot
 * be written is refused naming where it is inside the field (`lines[2].at`).
 */
export function jsonText(value: unknown): string {
  return jsonAt(value, '');
}

function jsonAt(value: unknown, path: string): string {
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
        if (Number.isNaN(value.getTime())) throw refusedJson(path, 'an invalid Date');
        return JSON.stringify(value.toISOString());
      }
      if (value instanceof Uint8Array) return JSON.stringify(byteaText(value));
      if (Array.isArray(value)) return `[${value.map((item, i) => jsonAt(item, `${path}[${i}]`)).join(',')}]`;
      const parts: string[] = [];
      // avsc records are class instances: their own enumerable keys are the fields.
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (item !== undefined)
          parts.push(`${JSON.stringify(key)}:${jsonAt(item, `${path}[${JSON.stringify(key)}]`)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw refusedJson(path, `a ${typeof value}`);
  }
}

function refusedJson(path: string, what: string): PoisonMessageError {
  return new PoisonMessageError(
    'ROW_REJECTED',
    `${path === '' ? '' : `at ${path}: `}${what} cannot be written as JSON`,
  );
}
