/**
 * Finding the rows PostgreSQL refuses without giving up the batch: the bulk statement runs in a savepoint;
 * when it fails with a data error (class 22/23) the savepoint is rolled back and each half is tried again,
 * down to single rows, which are refused. k bad rows among n cost about 2·k·log2(n) statements, and good
 * halves are still written in bulk. A chunk where every row is refused would cost 2n attempts while the
 * caller holds its partition's lock: a budget bounds them (see BisectBudget).
 */
import type pg from 'pg';
import { PoisonMessageError } from '../errors.ts';
import { classifyDatabaseError } from './database.ts';

export interface Refusal<T> {
  item: T;
  error: PoisonMessageError;
}

export interface BisectResult<T> {
  refused: Refusal<T>[];
  /**
   * How many of the leading items were attempted (written or refused). Halves are tried left first, so the
   * attempted items are always a prefix; less than all of them only when the budget ran out.
   */
  attempted: number;
  /** The budget ran out before every item was attempted. */
  exhausted: boolean;
}

/** Statements (each in its own savepoint) a transaction may still spend on bisecting; shared by its calls. */
export interface BisectBudget {
  remaining: number;
}

const SAVEPOINT = 'sink_bisect';
// One round trip: a refused part costs SAVEPOINT, the statement and this.
const UNDO = `ROLLBACK TO SAVEPOINT ${SAVEPOINT}; RELEASE SAVEPOINT ${SAVEPOINT}`;

/**
 * Runs `write(part)` inside the caller's transaction for the items, bisecting refused parts. `write` records
 * what its part did once its statement succeeded; when it throws, the savepoint undoes the part whole. Any
 * error other than a row-level one (connection, deadlock, undefined column…) propagates unchanged: the
 * caller rolls the whole transaction back. Without a budget every item is attempted.
 */
export async function writeBisecting<T>(
  client: pg.ClientBase,
  items: readonly T[],
  write: (part: readonly T[]) => Promise<void>,
  table: string,
  budget?: BisectBudget,
): Promise<BisectResult<T>> {
  const result: BisectResult<T> = { refused: [], attempted: 0, exhausted: false };
  const attempt = async (part: readonly T[]): Promise<void> => {
    if (part.length === 0 || result.exhausted) return;
    if (budget !== undefined) {
      if (budget.remaining <= 0) {
        result.exhausted = true;
        return;
      }
      budget.remaining--;
    }
    // One savepoint at a time: each attempt releases or rolls back its own before the next begins.
    await client.query(`SAVEPOINT ${SAVEPOINT}`);
    try {
      await write(part);
      await client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
      result.attempted += part.length;
      return;
    } catch (error) {
      const classified = classifyDatabaseError(error, table);
      if (!(classified instanceof PoisonMessageError)) throw error;
      await client.query(UNDO);
      if (part.length === 1) {
        result.refused.push({ item: part[0]!, error: classified });
        result.attempted++;
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
