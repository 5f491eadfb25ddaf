/**
 * Finding the rows PostgreSQL refuses without giving up the batch: the bulk statement runs in a savepoint;
 * when it fails with a data error (class 22/23) the savepoint is rolled back and each half is tried again,
 * down to single rows, which are refused. k bad rows among n cost about 2·k·log2(n) statements, and good
 * halves are still written in bulk.
 */
import type pg from 'pg';
import { PoisonMessageError } from '../errors.ts';
import { classifyDatabaseError } from './database.ts';

export interface Refusal<T> {
  item: T;
  error: PoisonMessageError;
}

export interface BisectResult<T> {
  /** Sum of what `write` returned for the parts that succeeded. */
  affected: number;
  refused: Refusal<T>[];
}

const SAVEPOINT = 'sink_bisect';

/**
 * Runs `write(items)` inside the caller's transaction. Any error other than a row-level one (connection,
 * deadlock, undefined column…) propagates unchanged: the caller rolls the whole transaction back.
 */
export async function writeBisecting<T>(
  client: pg.ClientBase,
  items: readonly T[],
  write: (part: readonly T[]) => Promise<number>,
  table: string,
): Promise<BisectResult<T>> {
  const result: BisectResult<T> = { affected: 0, refused: [] };
  const attempt = async (part: readonly T[]): Promise<void> => {
    if (part.length === 0) return;
    // One savepoint at a time: each attempt releases or rolls back its own before the next begins.
    await client.query(`SAVEPOINT ${SAVEPOINT}`);
    try {
      result.affected += await write(part);
      await client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
      return;
    } catch (error) {
      const classified = classifyDatabaseError(error, table);
      if (!(classified instanceof PoisonMessageError)) throw error;
      await client.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      await client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
      if (part.length === 1) {
        result.refused.push({ item: part[0]!, error: classified });
        return;
      }
    }
    const middle = Math.ceil(part.length / 2);
    await attempt(part.slice(0, middle));
    await attempt(part.slice(middle));
  };
  await attempt(items);
  return result;
}
