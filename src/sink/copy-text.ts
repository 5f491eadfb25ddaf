/**
 * COPY's text format: one line per row, tab between fields, `\N` for NULL. Only backslash, tab, newline and
 * carriage return need escaping; an empty string stays an empty field, distinct from `\N`.
 */

import type { SqlText } from './row-mapper.ts';

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One field; `null` is NULL. */
export function copyTextField(value: string | null): string {
  if (value === null) return '\\N';
  // Most fields need no escaping: test once instead of always allocating a replaced copy.
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : value;
}

/** One row as a COPY text line, newline included. */
export function copyTextLine(row: readonly (string | null)[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    if (i > 0) line += '\t';
    line += copyTextField(row[i]!);
  }
  return `${line}\n`;
}

/** Rows as COPY text in chunks of about `chunkChars` characters, to stream without one huge string. */
export function* copyTextChunks(rows: readonly (readonly (string | null)[])[], chunkChars = 65_536) {
  let chunk = '';
  for (const row of rows) {
    chunk += copyTextLine(row);
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

const UNESCAPES: Readonly<Record<string, string>> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };
const ESCAPED_ALL = /\\([\\tnr])/g;

/**
 * The row of a COPY text line (newline included) as copyTextLine wrote it: the exact inverse, for the
 * fast path's rows where text is needed after all (the unnest strategy, the planner's key).
 */
export function parseCopyTextLine(buffer: Buffer, start: number, end: number): SqlText[] {
  const fields = buffer.toString('utf8', start, end - 1).split('\t');
  return fields.map((field) =>
    field === '\\N'
      ? null
      : field.includes('\\')
        ? field.replace(ESCAPED_ALL, (_, c: string) => UNESCAPES[c]!)
        : field,
  );
}
