/**
 * SQL literals for where a value cannot be a bound parameter: DDL (a column DEFAULT and an enum CHECK in a
 * drafted migration are SQL text) and SQL printed for an operator to run. Quoted here, and nowhere else.
 */
import { PipelineError } from '../errors.ts';
import type { ColumnSpec } from './column-types.ts';
import { byteaText, jsonText, microsText, millisText } from './pg-text.ts';

/**
 * `value` as a string constant PostgreSQL reads back unchanged whatever `standard_conforming_strings` says:
 * `'…'` with single quotes doubled, or, when it holds a backslash, an escape string `E'…'` with backslashes
 * doubled too (what `quote_literal()` does). NUL cannot be in PostgreSQL text: refused.
 */
export function sqlString(value: string): string {
  if (value.includes('\0')) {
    throw new PipelineError('CONTRACT_MISMATCH', 'a SQL string cannot contain a NUL character', {
      details: { value: value.replaceAll('\0', '\\0').slice(0, 60) },
    });
  }
  const quoted = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

function refuse(column: ColumnSpec, value: unknown): never {
  const shown = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
  throw new PipelineError(
    'SCHEMA_INVALID',
    `the default of field "${column.name}" (${shown}) is not a value of ${column.pgType}`,
    { details: { field: column.name } },
  );
}

const WHOLE = /^-?\d+$/;

/**
 * The SQL literal of an Avro field default (as avsc decodes it: the project's logical-type values) for the
 * column the field maps to. Every string goes through sqlString; numbers are checked to be numbers, so the
 * text can never be anything but a constant. A null default has no literal: the caller leaves DEFAULT out.
 */
export function defaultLiteral(column: ColumnSpec, value: unknown): string {
  switch (column.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? String(value) : refuse(column, value);
    case 'integer':
    case 'bigint': {
      const text = typeof value === 'number' || typeof value === 'bigint' ? String(value) : '';
      return WHOLE.test(text) ? text : refuse(column, value);
    }
    case 'float':
      // Quoted: NaN and ±Infinity are only readable as strings, and an unquoted -0 would be minus zero, 0.
      if (typeof value !== 'number') return refuse(column, value);
      return sqlString(Object.is(value, -0) ? '-0' : String(value));
    case 'bytes':
      return value instanceof Uint8Array ? sqlString(byteaText(value)) : refuse(column, value);
    case 'timestamp-millis':
    case 'kafka-timestamp':
      return value instanceof Date ? sqlString(millisText(value)) : refuse(column, value);
    case 'timestamp-micros':
      return typeof value === 'bigint' || Number.isSafeInteger(value)
        ? sqlString(microsText(BigInt(value as number | bigint)))
        : refuse(column, value);
    case 'json':
      return sqlString(jsonText(value));
    case 'text':
    case 'uuid':
    case 'enum':
    case 'decimal':
    case 'date':
    case 'time':
    case 'local-timestamp':
      return typeof value === 'string' ? sqlString(value) : refuse(column, value);
  }
}
