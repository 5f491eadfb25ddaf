/**
 * The one place SQL identifiers become SQL text. Values never do: they are bound parameters (or COPY data),
 * so this module is all that stands between a table or column name and an injection.
 */
import { PipelineError } from '../errors.ts';

/** PostgreSQL's NAMEDATALEN - 1: a longer name would be silently truncated, and could collide. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * `name` as a double-quoted identifier, inner double quotes doubled. Refuses names PostgreSQL would change
 * or cannot hold (empty, NUL, more than 63 bytes) rather than quoting them into something else.
 */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new PipelineError('CONTRACT_MISMATCH', 'an SQL identifier cannot be empty');
  }
  if (name.includes('\0')) {
    throw new PipelineError('CONTRACT_MISMATCH', 'an SQL identifier cannot contain a NUL character', {
      details: { identifier: name.replaceAll('\0', '\\0') },
    });
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) {
    throw new PipelineError(
      'CONTRACT_MISMATCH',
      `SQL identifier "${name.slice(0, 20)}…" is ${bytes} bytes; PostgreSQL keeps at most ${MAX_IDENTIFIER_BYTES}`,
      { details: { identifier: name } },
    );
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"`, each part quoted. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}
