/**
 * Days since 1970-01-01 ⇄ proleptic Gregorian (year, month, day), in exact integer arithmetic for every day
 * an Avro `int` or a 64-bit count of microseconds can name. JavaScript's Date stops at ±275,760 years and
 * prints years past 9999 as `+010000`, which PostgreSQL reads as a time zone: neither can carry the range
 * PostgreSQL holds (4713 BC to 5,874,897 AD for date, to 294,276 AD for timestamptz).
 * The algorithms are Howard Hinnant's `days_from_civil` / `civil_from_days`.
 */

/** A calendar day; `year` is astronomical (0 is 1 BC, -1 is 2 BC). */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

export function civilFromDays(days: number): CivilDate {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function daysFromCivil({ year, month, day }: CivilDate): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * ISO 8601 text of a day: `YYYY-MM-DD` for years 0000–9999, the expanded form `±YYYYYY-MM-DD` (astronomical
 * year, at least six digits, as `Date.prototype.toISOString` writes it) beyond.
 */
export function isoDateText(date: CivilDate): string {
  const { year, month, day } = date;
  const y = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  return `${y}-${pad(month, 2)}-${pad(day, 2)}`;
}

const ISO_DATE = /^([+-]\d{6,}|\d{4})-(\d{2})-(\d{2})$/;

/** The day of an ISO date text (either form above); undefined when it is not one or the day does not exist. */
export function parseIsoDate(text: string): CivilDate | undefined {
  const match = ISO_DATE.exec(text);
  if (!match) return undefined;
  const date = { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
  if (!Number.isSafeInteger(date.year) || match[1] === '-000000') return undefined;
  // Round-trip through the day count: 2026-02-30 comes back as March, so it does not exist.
  const back = civilFromDays(daysFromCivil(date));
  return back.year === date.year && back.month === date.month && back.day === date.day ? date : undefined;
}

/**
 * PostgreSQL's text of a day: the year with at least four digits, and for years before 1 AD the count
 * from 1 BC with a ` BC` suffix (PostgreSQL has no year 0).
 */
export function pgDateText({ year, month, day }: CivilDate): string {
  const md = `${pad(month, 2)}-${pad(day, 2)}`;
  return year >= 1 ? `${pad(year, 4)}-${md}` : `${pad(1 - year, 4)}-${md} BC`;
}
