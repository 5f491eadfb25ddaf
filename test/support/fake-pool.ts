import type pg from 'pg';

/** What a fake pool or client recorded: each statement with its parameters. */
export interface RecordedQuery {
  text: string;
  values: unknown[];
}

/**
 * A stand-in for a pg.Pool or client in unit tests of the sink's SQL helpers: it records each statement
 * and answers with `answer` (rows and rowCount), or rejects with it when it is an error, as node-postgres
 * does with a server error (an Error carrying the SQLSTATE in `code`).
 */
export function fakePool(answer: { rows?: unknown[]; rowCount?: number } | Error = {}) {
  const queries: RecordedQuery[] = [];
  const query = async (text: string, values: unknown[] = []) => {
    queries.push({ text, values });
    if (answer instanceof Error) throw answer;
    return { rows: answer.rows ?? [], rowCount: answer.rowCount ?? null };
  };
  return { pool: { query } as unknown as pg.Pool & pg.ClientBase, queries };
}

/** An error shaped like the ones node-postgres rejects with for a server error. */
export function serverError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR' });
}
