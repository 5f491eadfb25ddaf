/**
 * Which messages of a batch become which statements, decided from what PostgreSQL accepted. Pure (the
 * statements are run by the caller, see `runPlan`), so that the rules are unit-tested without a database.
 *
 * The result is the one of applying the messages one at a time in partition order, skipping those PostgreSQL
 * refuses, so it never depends on where batches are cut:
 * - messages are ranked by (version, partition, offset); a null version ranks below every version. The
 *   upsert's guard compares the same tuple, so a row only ever replaces a lower-ranked one, in a batch or
 *   across batches;
 * - upserts, per key: the key's last tombstone deletes it (if PostgreSQL refuses that DELETE, the tombstone
 *   before it is tried, and so on), then the highest-ranked row after it is written. If PostgreSQL refuses
 *   that row, the next one is tried in the next round, until a row lands (or the table already holds a
 *   higher-ranked row: not applied) or none is left. Only messages below one that took effect are
 *   superseded; a refused message never supersedes anything;
 * - inserts: every row, in offset order; tombstones never reach the planner (an insert topic has no key to
 *   delete by: they are dead letters, see partition-writer.ts).
 */
import type { WriteMode } from '../contracts/catalog.ts';
import { PipelineError } from '../errors.ts';

export interface PlanItem {
  kind: 'row' | 'tombstone';
  /** The key column's text (normalised: see RowMapper.keyOf). */
  key: string;
  /** Upserts: the row's version; null (a null version) ranks below every version. */
  version: bigint | null;
  partition: number;
  offset: bigint;
}

/** What became of a message; undefined while its key is still being worked on. */
export type Outcome =
  /** Its row is in the table (written in this transaction). */
  | 'written'
  /** Its DELETE ran (whether or not a row was there). */
  | 'deleted'
  /** Applied without an effect of its own: a higher-ranked row or a later tombstone of its key took effect. */
  | 'superseded'
  /** PostgreSQL refused it: a dead letter. */
  | 'refused';

/** What PostgreSQL made of one attempted item of a step. */
export type Attempt =
  | 'landed'
  /** Upserts: the table already holds a higher-ranked row of the key (the guard said no). */
  | 'not-applied'
  | 'refused';

/** One bulk statement's worth of work: at most one item per key. */
export interface Step<I> {
  kind: 'delete' | 'write';
  /** In the order of each key's first message: a prefix of them settles first (see `runPlan`). */
  items: I[];
}

/** Position in the partition's log; partitions first: offsets of different partitions do not compare. */
function comparePosition(a: PlanItem, b: PlanItem): number {
  if (a.partition !== b.partition) return a.partition - b.partition;
  return a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0;
}

/** (version, partition, offset), null versions lowest: the order the upsert's guard uses. */
export function compareRank(a: PlanItem, b: PlanItem): number {
  if (a.version !== b.version) {
    if (a.version === null) return -1;
    if (b.version === null) return 1;
    return a.version < b.version ? -1 : 1;
  }
  return comparePosition(a, b);
}

interface KeyPlan<I> {
  /** The key's first message: keys are worked on in this order. */
  first: I;
  /** Latest first; `tombstoneIndex` is the next to try. */
  tombstones: I[];
  tombstoneIndex: number;
  /** All of the key's rows. */
  rows: I[];
  /** Rows that may still land, highest rank first; `candidateIndex` is the next to try. */
  candidates: I[];
  candidateIndex: number;
  phase: 'delete' | 'write' | 'done';
}

/**
 * The state of one batch's plan: `next()` says what to try, `record()` what PostgreSQL made of it, `outcome()`
 * what became of each message.
 */
export class BatchPlanner<I extends PlanItem> {
  readonly #plan: KeyedPlan<I> | InsertPlan<I>;

  /** `items` in any order. */
  constructor(items: readonly I[], mode: WriteMode) {
    this.#plan = mode === 'insert' ? new InsertPlan(items) : new KeyedPlan(items);
  }

  /** The next statement's items, or undefined when every key worked on is settled. */
  next(): Step<I> | undefined {
    return this.#plan.next();
  }

  /** What PostgreSQL made of an item of the last step. Items of a step not recorded are offered again. */
  record(item: I, attempt: Attempt): void {
    this.#plan.record(item, attempt);
  }

  /**
   * After the caller ran out of budget: keep working on the key of the batch's first message only, so that
   * the settled prefix (see `cut`) is never empty. Returns false when that key is settled already: stop.
   */
  narrow(): boolean {
    return this.#plan.narrow();
  }

  /**
   * The lowest offset of a message whose key is not settled yet, or undefined when every key is. Every
   * message below it has its outcome (single-partition batches: the offsets table can move up to it).
   */
  cut(): bigint | undefined {
    return this.#plan.cut();
  }

  outcome(item: I): Outcome | undefined {
    return this.#plan.outcome(item);
  }
}

/**
 * Insert mode: every row stands alone (several rows of one key all land), so each row is its own "key" whose
 * only candidate is itself. The keyed plan gives exactly that, at the price of a plan object, three arrays
 * and three map entries per row; this one keeps the rows in position order with an index and one outcome
 * slot each (the planner was ~2 µs of the consumer's CPU per page view, most of it allocation and GC).
 */
class InsertPlan<I extends PlanItem> {
  /** In position order. */
  readonly #items: I[];
  readonly #outcomes: (Outcome | undefined)[];
  readonly #indexOf = new Map<I, number>();
  /** Rows still to be written; `narrow()` sets it to the first row's index alone. */
  #focus: number | undefined;

  constructor(items: readonly I[]) {
    for (const item of items) {
      if (item.kind === 'tombstone') {
        throw new PipelineError('INVARIANT_BROKEN', 'BatchPlanner: a tombstone in an insert-mode batch');
      }
    }
    this.#items = [...items].sort(comparePosition);
    this.#outcomes = new Array<Outcome | undefined>(this.#items.length);
    for (let i = 0; i < this.#items.length; i++) this.#indexOf.set(this.#items[i]!, i);
  }

  next(): Step<I> | undefined {
    if (this.#focus !== undefined) {
      const item = this.#items[this.#focus]!;
      return this.#outcomes[this.#focus] === undefined ? { kind: 'write', items: [item] } : undefined;
    }
    const writes: I[] = [];
    for (let i = 0; i < this.#items.length; i++)
      if (this.#outcomes[i] === undefined) writes.push(this.#items[i]!);
    return writes.length > 0 ? { kind: 'write', items: writes } : undefined;
  }

  record(item: I, attempt: Attempt): void {
    const index = this.#indexOf.get(item);
    if (index === undefined) throw new PipelineError('INVARIANT_BROKEN', 'BatchPlanner: an unknown item');
    if (this.#outcomes[index] !== undefined)
      throw new PipelineError('INVARIANT_BROKEN', 'BatchPlanner: recorded an item that was not offered');
    this.#outcomes[index] =
      attempt === 'refused' ? 'refused' : attempt === 'landed' ? 'written' : 'superseded';
  }

  narrow(): boolean {
    if (this.#items.length === 0 || this.#outcomes[0] !== undefined) return false;
    this.#focus = 0;
    return true;
  }

  cut(): bigint | undefined {
    let cut: bigint | undefined;
    for (let i = 0; i < this.#items.length; i++) {
      if (this.#outcomes[i] !== undefined) continue;
      const offset = this.#items[i]!.offset;
      if (cut === undefined || offset < cut) cut = offset;
    }
    return cut;
  }

  outcome(item: I): Outcome | undefined {
    const index = this.#indexOf.get(item);
    return index === undefined ? undefined : this.#outcomes[index];
  }
}

/** Upserts: messages grouped by key, each key's tombstones, then its rows by rank (see the module's rules). */
class KeyedPlan<I extends PlanItem> {
  readonly #outcomes = new Map<I, Outcome>();
  readonly #keys: KeyPlan<I>[] = [];
  readonly #keyOf = new Map<I, KeyPlan<I>>();
  /** Set by `narrow()`: the only key still worked on. */
  #focus: KeyPlan<I> | undefined;

  constructor(items: readonly I[]) {
    const ordered = [...items].sort(comparePosition);
    const byKey = new Map<string, KeyPlan<I>>();
    for (const item of ordered) {
      let plan = byKey.get(item.key);
      if (plan === undefined) {
        plan = {
          first: item,
          tombstones: [],
          tombstoneIndex: 0,
          rows: [],
          candidates: [],
          candidateIndex: 0,
          phase: 'delete',
        };
        byKey.set(item.key, plan);
        this.#keys.push(plan);
      }
      (item.kind === 'tombstone' ? plan.tombstones : plan.rows).push(item);
      this.#keyOf.set(item, plan);
    }
    for (const plan of this.#keys) {
      plan.tombstones.reverse();
      if (plan.tombstones.length === 0) this.#startWrites(plan, undefined);
    }
  }

  /** The next statement's items, or undefined when every key worked on is settled. */
  next(): Step<I> | undefined {
    const keys = this.#focus === undefined ? this.#keys : [this.#focus];
    // Deletes before writes: a key's rows are chosen once its tombstone took effect (or every one was refused).
    const deletes = keys.filter((k) => k.phase === 'delete').map((k) => k.tombstones[k.tombstoneIndex]!);
    if (deletes.length > 0) return { kind: 'delete', items: deletes };
    const writes = keys.filter((k) => k.phase === 'write').map((k) => k.candidates[k.candidateIndex]!);
    if (writes.length > 0) return { kind: 'write', items: writes };
    return undefined;
  }

  /** What PostgreSQL made of an item of the last step. Items of a step not recorded are offered again. */
  record(item: I, attempt: Attempt): void {
    const plan = this.#keyOf.get(item);
    if (plan === undefined) throw new PipelineError('INVARIANT_BROKEN', 'BatchPlanner: an unknown item');
    if (plan.phase === 'delete' && item === plan.tombstones[plan.tombstoneIndex]) {
      if (attempt === 'refused') {
        this.#outcomes.set(item, 'refused');
        plan.tombstoneIndex++;
        if (plan.tombstoneIndex === plan.tombstones.length) this.#startWrites(plan, undefined);
        return;
      }
      this.#outcomes.set(item, 'deleted');
      for (const earlier of plan.tombstones.slice(plan.tombstoneIndex + 1)) {
        this.#outcomes.set(earlier, 'superseded');
      }
      this.#startWrites(plan, item);
      return;
    }
    if (plan.phase === 'write' && item === plan.candidates[plan.candidateIndex]) {
      if (attempt === 'refused') {
        this.#outcomes.set(item, 'refused');
        plan.candidateIndex++;
        if (plan.candidateIndex === plan.candidates.length) plan.phase = 'done';
        return;
      }
      this.#outcomes.set(item, attempt === 'landed' ? 'written' : 'superseded');
      for (const lower of plan.candidates.slice(plan.candidateIndex + 1))
        this.#outcomes.set(lower, 'superseded');
      plan.phase = 'done';
      return;
    }
    throw new PipelineError('INVARIANT_BROKEN', 'BatchPlanner: recorded an item that was not offered');
  }

  /**
   * After the caller ran out of budget: keep working on the key of the batch's first message only, so that
   * the settled prefix (see `cut`) is never empty. Returns false when that key is settled already: stop.
   */
  narrow(): boolean {
    const first = this.#keys.reduce<KeyPlan<I> | undefined>(
      (a, k) => (a === undefined || comparePosition(k.first, a.first) < 0 ? k : a),
      undefined,
    );
    if (first === undefined || first.phase === 'done') return false;
    this.#focus = first;
    return true;
  }

  /**
   * The lowest offset of a message whose key is not settled yet, or undefined when every key is. Every
   * message below it has its outcome (single-partition batches: the offsets table can move up to it).
   */
  cut(): bigint | undefined {
    let cut: bigint | undefined;
    for (const plan of this.#keys) {
      if (plan.phase === 'done') continue;
      if (cut === undefined || plan.first.offset < cut) cut = plan.first.offset;
    }
    return cut;
  }

  outcome(item: I): Outcome | undefined {
    return this.#outcomes.get(item);
  }

  #startWrites(plan: KeyPlan<I>, deleted: I | undefined): void {
    const after: I[] = [];
    for (const row of plan.rows) {
      if (deleted !== undefined && comparePosition(row, deleted) < 0) this.#outcomes.set(row, 'superseded');
      else after.push(row);
    }
    plan.candidates = after.sort((a, b) => compareRank(b, a));
    plan.candidateIndex = 0;
    plan.phase = plan.candidates.length === 0 ? 'done' : 'write';
  }
}

/**
 * Runs a step: records what PostgreSQL made of each attempted item and reports whether the budget ran out
 * before every item was attempted. Attempted items must be a prefix of the step's items.
 */
export type StepRunner<I> = (step: Step<I>, budgeted: boolean) => Promise<{ exhausted: boolean }>;

/**
 * Drives the planner until every key is settled, or until the budget ran out and the key of the first
 * message is settled: `planner.cut()` then says how far the work reaches.
 */
export async function runPlan<I extends PlanItem>(
  planner: BatchPlanner<I>,
  run: StepRunner<I>,
): Promise<void> {
  let budgeted = true;
  for (let step = planner.next(); step !== undefined; step = planner.next()) {
    const { exhausted } = await run(step, budgeted);
    if (exhausted) {
      if (!planner.narrow()) return;
      // One key's steps are single statements of one row: settling it costs one attempt per candidate.
      budgeted = false;
    }
  }
}
