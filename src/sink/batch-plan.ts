/**
 * Which messages of one partition batch become which statements. Pure, so that the ordering rules are
 * unit-tested without a database:
 * - messages of one key apply in offset order: a tombstone after a row deletes it, a row after a tombstone
 *   re-creates the key;
 * - upserts: one row per key reaches `INSERT … ON CONFLICT` (it cannot touch a row twice): among the rows
 *   after the key's last tombstone, the highest version, ties to the highest offset;
 * - inserts: every row after its key's last tombstone.
 */
import type { WriteMode } from '../contracts/catalog.ts';

export interface PlanItem {
  kind: 'row' | 'tombstone';
  /** The key column's text (normalised: see RowMapper.keyOf). */
  key: string;
  /** Upserts: the row's version; null (a null version) ranks below every version. */
  version: bigint | null;
  offset: bigint;
}

export interface BatchPlan<I extends PlanItem> {
  /** One tombstone per deleted key (its last), in offset order: run before the writes. */
  deletes: I[];
  /** Rows to write, in offset order. */
  writes: I[];
  /** Messages whose effect a later message of the same key in the batch replaces. */
  superseded: I[];
}

function newer(candidate: PlanItem, current: PlanItem): boolean {
  if (candidate.version === current.version) return candidate.offset > current.offset;
  if (candidate.version === null) return false;
  if (current.version === null) return true;
  return candidate.version > current.version;
}

/** `items` in any order; the plan is in offset order. */
export function planBatch<I extends PlanItem>(items: readonly I[], mode: WriteMode): BatchPlan<I> {
  const ordered = [...items].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  const lastTombstone = new Map<string, I>();
  for (const item of ordered) if (item.kind === 'tombstone') lastTombstone.set(item.key, item);

  const deletes: I[] = [];
  const writes: I[] = [];
  const superseded: I[] = [];
  const best = new Map<string, I>();
  for (const item of ordered) {
    const tombstone = lastTombstone.get(item.key);
    if (item.kind === 'tombstone') {
      (item === tombstone ? deletes : superseded).push(item);
      continue;
    }
    if (tombstone !== undefined && item.offset < tombstone.offset) {
      superseded.push(item);
      continue;
    }
    if (mode === 'insert') {
      writes.push(item);
      continue;
    }
    const current = best.get(item.key);
    if (current === undefined) best.set(item.key, item);
    else if (newer(item, current)) {
      superseded.push(current);
      best.set(item.key, item);
    } else superseded.push(item);
  }
  if (mode === 'upsert') {
    writes.push(...best.values());
    writes.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  }
  return { deletes, writes, superseded };
}
