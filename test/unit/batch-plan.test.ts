import test from 'ava';
import type { WriteMode } from '../../src/contracts/catalog.ts';
import { PipelineError } from '../../src/errors.ts';
import {
  type Attempt,
  BatchPlanner,
  compareRank,
  type Outcome,
  type PlanItem,
  runPlan,
} from '../../src/sink/batch-plan.ts';

interface Item extends PlanItem {
  /** PostgreSQL refuses this message (a CHECK, an overflow, a NUL…). */
  refused: boolean;
}

const row = (key: string, offset: number, version: number, refused = false): Item => ({
  kind: 'row',
  key,
  version: BigInt(version),
  partition: 0,
  offset: BigInt(offset),
  refused,
});
const tombstone = (key: string, offset: number, refused = false): Item => ({
  kind: 'tombstone',
  key,
  version: null,
  partition: 0,
  offset: BigInt(offset),
  refused,
});

/** The table as PostgreSQL would hold it: per key the message whose row is there. */
type Table = Map<string, Item>;

/**
 * Runs a batch against a model of PostgreSQL: refused items are refused, the upsert's guard compares
 * (version, partition, offset), a budget of attempts stops a step part-way (what bisect.ts does).
 */
async function apply(
  items: readonly Item[],
  table: Table,
  options: { mode?: WriteMode; budget?: number } = {},
): Promise<{ outcomes: Map<Item, Outcome | undefined>; cut: bigint | undefined; attempts: number }> {
  const planner = new BatchPlanner(items, options.mode ?? 'upsert');
  let remaining = options.budget ?? Number.POSITIVE_INFINITY;
  let attempts = 0;
  await runPlan(planner, async (step, budgeted) => {
    for (const item of step.items) {
      if (budgeted && remaining <= 0) return { exhausted: true };
      remaining--;
      attempts++;
      let attempt: Attempt;
      if (item.refused) attempt = 'refused';
      else if (item.kind === 'tombstone') {
        table.delete(item.key);
        attempt = 'landed';
      } else {
        const there = table.get(item.key);
        if (there !== undefined && compareRank(there, item) >= 0) attempt = 'not-applied';
        else {
          table.set(item.key, item);
          attempt = 'landed';
        }
      }
      planner.record(item, attempt);
    }
    return { exhausted: false };
  });
  return { outcomes: new Map(items.map((i) => [i, planner.outcome(i)])), cut: planner.cut(), attempts };
}

/** The meaning of an upsert topic: messages one at a time in offset order, refused ones skipped. */
function sequential(items: readonly Item[], table: Table = new Map()): Table {
  for (const item of [...items].sort((a, b) => Number(a.offset - b.offset))) {
    if (item.refused) continue;
    if (item.kind === 'tombstone') table.delete(item.key);
    else {
      const there = table.get(item.key);
      if (there === undefined || compareRank(there, item) < 0) table.set(item.key, item);
    }
  }
  return table;
}

const offsets = (outcomes: Map<Item, Outcome | undefined>, outcome: Outcome) =>
  [...outcomes]
    .filter(([, o]) => o === outcome)
    .map(([i]) => Number(i.offset))
    .sort((a, b) => a - b);
const landed = (table: Table) =>
  Object.fromEntries([...table].map(([key, item]) => [key, Number(item.offset)]));

test('upsert: one row per key, the highest version', async (t) => {
  const table: Table = new Map();
  const { outcomes } = await apply([row('a', 1, 3), row('a', 2, 5), row('b', 3, 1), row('a', 4, 4)], table);
  t.deepEqual(offsets(outcomes, 'written'), [2, 3]);
  t.deepEqual(offsets(outcomes, 'superseded'), [1, 4]);
  t.deepEqual(landed(table), { a: 2, b: 3 });
});

test('upsert: equal versions keep the highest offset', async (t) => {
  const table: Table = new Map();
  await apply([row('a', 7, 2), row('a', 9, 2), row('a', 8, 2)], table);
  t.deepEqual(landed(table), { a: 9 });
});

test('upsert keeps v1 when v2 of the same key is refused in one batch (was: key missing)', async (t) => {
  const table: Table = new Map();
  const { outcomes } = await apply([row('a', 1, 1), row('a', 2, 2, true), row('b', 3, 1)], table);
  t.deepEqual(landed(table), { a: 1, b: 3 });
  t.deepEqual(offsets(outcomes, 'refused'), [2]);
  t.deepEqual(offsets(outcomes, 'superseded'), [], 'a refused version supersedes nothing');
});

test('upsert: refused versions are skipped down to the best accepted one, lower ones superseded', async (t) => {
  const table: Table = new Map();
  const { outcomes } = await apply(
    [row('a', 1, 1), row('a', 2, 4, true), row('a', 3, 2), row('a', 4, 3, true), row('a', 5, 0)],
    table,
  );
  t.deepEqual(landed(table), { a: 3 });
  t.deepEqual(offsets(outcomes, 'refused'), [2, 4]);
  t.deepEqual(offsets(outcomes, 'superseded'), [1, 5]);
});

test('upsert: every version refused leaves the table as it was', async (t) => {
  const table: Table = new Map([['a', row('a', 0, 1)]]);
  const { outcomes } = await apply([row('a', 1, 2, true), row('a', 2, 3, true)], table);
  t.deepEqual(landed(table), { a: 0 });
  t.deepEqual(offsets(outcomes, 'refused'), [1, 2]);
});

test('upsert: a version the table already outranks is superseded, not refused, and ends the key', async (t) => {
  const table: Table = new Map([['a', row('a', 0, 9)]]);
  const { outcomes, attempts } = await apply([row('a', 1, 5), row('a', 2, 3)], table);
  t.deepEqual(landed(table), { a: 0 });
  t.deepEqual(offsets(outcomes, 'superseded'), [1, 2]);
  t.is(attempts, 1, 'the lower version is not tried once the table outranks the higher');
});

test('equal versions: the later offset wins across batches as within one (was: the earlier row stayed)', async (t) => {
  const split: Table = new Map();
  await apply([row('a', 5, 2)], split);
  await apply([row('a', 6, 2)], split);
  const one: Table = new Map();
  await apply([row('a', 5, 2), row('a', 6, 2)], one);
  t.deepEqual(landed(split), { a: 6 });
  t.deepEqual(landed(one), { a: 6 });
});

test('rank: version first, then partition, then offset; a null version ranks lowest', (t) => {
  const at = (version: bigint | null, partition: number, offset: number): PlanItem => ({
    kind: 'row',
    key: 'a',
    version,
    partition,
    offset: BigInt(offset),
  });
  t.true(compareRank(at(1n, 9, 9), at(2n, 0, 0)) < 0);
  t.true(compareRank(at(2n, 0, 9), at(2n, 1, 0)) < 0, 'a higher partition outranks a higher offset');
  t.true(compareRank(at(2n, 1, 3), at(2n, 1, 4)) < 0);
  t.true(compareRank(at(null, 5, 5), at(0n, 0, 0)) < 0);
  t.is(compareRank(at(3n, 1, 1), at(3n, 1, 1)), 0);
});

test('messages arrive in any order; a tombstone after a row deletes it', async (t) => {
  const table: Table = new Map([['a', row('a', 0, 1)]]);
  const { outcomes } = await apply([tombstone('a', 5), row('a', 3, 9)], table);
  t.deepEqual(landed(table), {});
  t.deepEqual(offsets(outcomes, 'deleted'), [5]);
  t.deepEqual(offsets(outcomes, 'superseded'), [3]);
});

test('a tombstone after an upsert deletes; an upsert after a tombstone re-creates', async (t) => {
  const table: Table = new Map();
  const { outcomes } = await apply(
    [row('a', 1, 9), tombstone('a', 2), row('a', 3, 1), row('b', 4, 1), tombstone('b', 5)],
    table,
  );
  t.deepEqual(landed(table), { a: 3 }, 'version 1 after the tombstone wins over version 9 before it');
  t.deepEqual(offsets(outcomes, 'deleted'), [2, 5]);
  t.deepEqual(offsets(outcomes, 'written'), [3]);
  t.deepEqual(offsets(outcomes, 'superseded'), [1, 4]);
});

test('several tombstones of a key delete once, the last one counts', async (t) => {
  const { outcomes } = await apply([tombstone('a', 1), row('a', 2, 1), tombstone('a', 3)], new Map());
  t.deepEqual(offsets(outcomes, 'deleted'), [3]);
  t.deepEqual(offsets(outcomes, 'superseded'), [1, 2]);
});

test('a refused tombstone supersedes nothing: the tombstone before it deletes, the rows between count', async (t) => {
  const table: Table = new Map([['a', row('a', 0, 1)]]);
  const { outcomes } = await apply(
    [tombstone('a', 1), row('a', 2, 1), row('a', 3, 0), tombstone('a', 4, true)],
    table,
  );
  t.deepEqual(landed(table), { a: 2 });
  t.deepEqual(offsets(outcomes, 'refused'), [4]);
  t.deepEqual(offsets(outcomes, 'deleted'), [1]);
  t.deepEqual(offsets(outcomes, 'superseded'), [3]);
});

test('insert: every row lands in offset order, several per key; refused ones alone are dead', async (t) => {
  const planner = new BatchPlanner([row('a', 3, 0), row('a', 1, 0, true), row('b', 4, 0)], 'insert');
  const step = planner.next();
  t.deepEqual(
    step?.items.map((i) => Number(i.offset)),
    [1, 3, 4],
  );
  for (const item of step!.items) planner.record(item, (item as Item).refused ? 'refused' : 'landed');
  t.is(planner.next(), undefined);
  t.is(planner.cut(), undefined);
});

test('insert: a tombstone never reaches the planner (it is a dead letter before)', (t) => {
  const error = t.throws(() => new BatchPlanner([tombstone('a', 1)], 'insert'), {
    instanceOf: PipelineError,
  });
  t.is(error.code, 'INVARIANT_BROKEN');
});

test('budget: the work stops part-way with a settled prefix, never an empty one', async (t) => {
  // Key b's first message comes first; a, b, c all have a refused best version.
  const items = [row('b', 0, 1), row('a', 1, 1), row('c', 2, 1), row('b', 3, 2, true), row('a', 4, 2, true)];
  const table: Table = new Map();
  const none = await apply(items, table, { budget: 0 });
  t.is(none.cut, 1n, 'with no budget at all, the first key is still settled');
  t.deepEqual(landed(table), { b: 0 });
  t.deepEqual(offsets(none.outcomes, 'refused'), [3]);
  const some = await apply(items, new Map(), { budget: 3 });
  t.is(some.cut, 1n, 'a, refused in round 1, is not settled: the cut stays at its first message');
  t.true(some.attempts <= 3 + 2);
});

/** A deterministic pseudo-random source (mulberry32), so that a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function randomStream(next: () => number): Item[] {
  const length = 1 + Math.floor(next() * 40);
  return Array.from({ length }, (_, offset) => {
    const key = 'abcd'[Math.floor(next() * 4)]!;
    const refused = next() < 0.3;
    return next() < 0.15
      ? tombstone(key, offset, refused)
      : row(key, offset, Math.floor(next() * 5), refused);
  });
}

/** Cuts a stream into consecutive batches at random boundaries. */
function randomBatches(items: readonly Item[], next: () => number): Item[][] {
  const batches: Item[][] = [];
  let current: Item[] = [];
  for (const item of items) {
    current.push(item);
    if (next() < 0.3) {
      batches.push(current);
      current = [];
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

test('property: any batch boundaries, in any message order, give the table of one message at a time', async (t) => {
  const next = random(8);
  for (let run = 0; run < 2000; run++) {
    const items = randomStream(next);
    const expected = landed(sequential(items));
    const one: Table = new Map();
    const { outcomes } = await apply([...items].reverse(), one);
    t.deepEqual(landed(one), expected, `one batch, run ${run}`);
    const split: Table = new Map();
    for (const batch of randomBatches(items, next)) await apply(batch, split);
    t.deepEqual(landed(split), expected, `split batches, run ${run}`);

    for (const item of items) {
      const outcome = outcomes.get(item);
      t.not(outcome, undefined);
      // A message PostgreSQL would refuse may still be superseded without being tried; never written.
      if (outcome === 'refused' || outcome === 'written' || outcome === 'deleted') {
        t.is(outcome === 'refused', item.refused, `run ${run}`);
      }
      if (outcome !== 'superseded') continue;
      // Superseded only by something of its key that took effect: a later tombstone, a higher row.
      const by = items.filter(
        (o) =>
          o.key === item.key &&
          ((outcomes.get(o) === 'deleted' && o.offset > item.offset) ||
            (outcomes.get(o) === 'written' && compareRank(o, item) > 0)),
      );
      t.true(by.length > 0, `offset ${item.offset} superseded by nothing that landed (run ${run})`);
    }
  }
});

test('property: a budget cut anywhere, the rest passed again, gives the same table and outcomes', async (t) => {
  const next = random(18);
  for (let run = 0; run < 2000; run++) {
    const items = randomStream(next);
    const expected = landed(sequential(items));
    const table: Table = new Map();
    const final = new Map<Item, Outcome | undefined>();
    for (const batch of randomBatches(items, next)) {
      let rest = batch;
      let transactions = 0;
      while (rest.length > 0) {
        transactions++;
        const { outcomes, cut } = await apply(rest, table, { budget: Math.floor(next() * 4) });
        t.true(cut === undefined || cut > rest[0]!.offset, 'every transaction settles something');
        for (const item of rest)
          if (cut === undefined || item.offset < cut) final.set(item, outcomes.get(item));
        rest = cut === undefined ? [] : rest.filter((i) => i.offset >= cut);
      }
      t.true(transactions <= batch.length);
    }
    t.deepEqual(landed(table), expected, `run ${run}`);
    for (const item of items) {
      const outcome = final.get(item);
      t.not(outcome, undefined);
      if (outcome === 'refused' || outcome === 'written' || outcome === 'deleted') {
        t.is(outcome === 'refused', item.refused);
      }
    }
  }
});

test('property: the insert-mode plan gives the steps, outcomes and cut of one key per row (its lean index agrees with the keyed plan)', async (t) => {
  const next = random(28);
  for (let run = 0; run < 1500; run++) {
    const length = Math.floor(next() * 30);
    const offsets = Array.from({ length }, (_, i) => 1_000 + i).sort(() => next() - 0.5);
    // Insert rows may share keys (all land); the reference gets each row a key of its own.
    const rows = offsets.map((offset) => row('abc'[Math.floor(next() * 3)]!, offset, 0, next() < 0.3));
    const alone = rows.map((r, i) => ({ ...r, key: `k${i}` }));
    const twin = new Map<Item, Item>(alone.map((r, i) => [r, rows[i]!]));
    const lean = new BatchPlanner(rows, 'insert');
    const keyed = new BatchPlanner(alone, 'upsert');
    let budget = Math.floor(next() * 6);
    let budgeted = true;
    for (let step = keyed.next(); step !== undefined; step = keyed.next()) {
      const leanStep = lean.next();
      t.deepEqual(
        leanStep?.items.map((i) => i.offset),
        step.items.map((i) => i.offset),
        `run ${run}: the same step`,
      );
      let exhausted = false;
      for (const item of step.items) {
        if (budgeted && budget <= 0) {
          exhausted = true;
          break;
        }
        budget--;
        const attempt: Attempt = item.refused ? 'refused' : next() < 0.1 ? 'not-applied' : 'landed';
        keyed.record(item, attempt);
        lean.record(twin.get(item)!, attempt);
      }
      if (exhausted) {
        const narrowed = keyed.narrow();
        t.is(lean.narrow(), narrowed, `run ${run}: narrow`);
        if (!narrowed) break;
        budgeted = false;
      }
    }
    t.deepEqual(
      lean.next()?.items.map((i) => i.offset),
      keyed.next()?.items.map((i) => i.offset),
      `run ${run}: the same work left`,
    );
    t.is(lean.cut(), keyed.cut(), `run ${run}: cut`);
    for (const item of alone) t.is(lean.outcome(twin.get(item)!), keyed.outcome(item), `run ${run}: outcome`);
  }
});

test('insert: recording a row twice, or one of another batch, is refused as a bug', (t) => {
  const a = row('a', 1, 0);
  const planner = new BatchPlanner([a, row('a', 2, 0)], 'insert');
  planner.record(a, 'landed');
  t.is(t.throws(() => planner.record(a, 'landed'), { instanceOf: PipelineError })?.code, 'INVARIANT_BROKEN');
  t.is(
    t.throws(() => planner.record(row('a', 1, 0), 'landed'), { instanceOf: PipelineError })?.code,
    'INVARIANT_BROKEN',
  );
});
