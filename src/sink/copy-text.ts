/**
 * COPY's text format: one line per row, tab between fields, `\N` for NULL. Only backslash, tab, newline and
 * carriage return need escaping; an empty string stays an empty field, distinct from `\N`.
 */

import { PipelineError } from '../errors.ts';
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

const TAB = 0x09;

/**
 * Field `index` of a COPY text line (newline included) as parseCopyTextLine reads it, without reading the
 * others: an upsert row of the fast path needs its key for the planner, not a string per column.
 */
export function copyTextFieldAt(buffer: Buffer, start: number, end: number, index: number): SqlText {
  let from = start;
  for (let i = 0; i < index; i++) {
    const tab = buffer.indexOf(TAB, from);
    if (tab < 0 || tab >= end) {
      // Fewer fields than asked: the line is not one of this table's rows (a caller bug, not data).
      throw new PipelineError('INVARIANT_BROKEN', `a COPY line of fewer than ${index + 1} fields`);
    }
    from = tab + 1;
  }
  let to = buffer.indexOf(TAB, from);
  if (to < 0 || to >= end) to = end - 1;
  if (to - from === 2 && buffer[from] === 0x5c && buffer[from + 1] === 0x4e) return null;
  const field = buffer.toString('utf8', from, to);
  return field.includes('\\') ? field.replace(ESCAPED_ALL, (_, c: string) => UNESCAPES[c]!) : field;
}
