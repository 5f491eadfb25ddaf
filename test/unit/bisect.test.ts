import test from 'ava';
import type pg from 'pg';
import { writeBisecting } from '../../src/sink/bisect.ts';

const refusal = () => Object.assign(new Error('new row violates check constraint'), { code: '23514' });

/** A client that only counts round trips: bisect.ts sends savepoint statements through it. */
function countingClient(): { client: pg.ClientBase; roundTrips: () => number } {
  let roundTrips = 0;
  const client = {
    query: async () => {
      roundTrips++;
      return { rows: [], rowCount: 0 };
    },
  } as unknown as pg.ClientBase;
  return { client, roundTrips: () => roundTrips };
}

/** Writes a part: throws like PostgreSQL when it holds a refused item, else records the items as written. */
function writer(refused: (n: number) => boolean, written: number[]) {
  return async (part: readonly number[]) => {
    if (part.some(refused)) throw refusal();
    written.push(...part);
  };
}

test('refused items are found alone, the rest written in bulk, in order', async (t) => {
  const { client } = countingClient();
  const written: number[] = [];
  const items = Array.from({ length: 16 }, (_, i) => i);
  const result = await writeBisecting(
    client,
    items,
    writer((n) => n === 3 || n === 12, written),
    'orders',
  );
  t.deepEqual(
    result.refused.map((r) => r.item),
    [3, 12],
  );
  t.is(result.refused[0]!.error.sqlState, '23514');
  t.deepEqual(written, [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15]);
  t.like(result, { attempted: 16, exhausted: false });
});

test('a budget stops bisecting part-way: what was attempted is a prefix, nothing after it was written', async (t) => {
  const { client, roundTrips } = countingClient();
  const written: number[] = [];
  const items = Array.from({ length: 1000 }, (_, i) => i);
  const budget = { remaining: 40 };
  // Every item refused: unbounded, about 2n attempts.
  const result = await writeBisecting(
    client,
    items,
    writer(() => true, written),
    'page_views',
    budget,
  );
  t.true(result.exhausted);
  t.is(budget.remaining, 0);
  t.deepEqual(written, []);
  t.true(result.attempted > 0 && result.attempted < items.length);
  t.deepEqual(
    result.refused.map((r) => r.item),
    items.slice(0, result.attempted),
    'the refused items are exactly the attempted prefix',
  );
  // SAVEPOINT, then the rollback and release in one round trip: two per refused attempt.
  t.is(roundTrips(), 2 * 40);
});

test('without a budget a wholly refused chunk costs about 2n attempts (what the budget bounds)', async (t) => {
  const { client, roundTrips } = countingClient();
  const items = Array.from({ length: 1000 }, (_, i) => i);
  const result = await writeBisecting(
    client,
    items,
    writer(() => true, []),
    'page_views',
  );
  t.is(result.refused.length, 1000);
  t.false(result.exhausted);
  t.is(roundTrips() / 2, 2 * 1000 - 1, 'one attempt per node of the bisection tree');
});

test('errors other than a row refusal propagate (the caller rolls the transaction back)', async (t) => {
  const { client } = countingClient();
  const lost = Object.assign(new Error('terminating connection'), { code: '57P01' });
  await t.throwsAsync(
    writeBisecting(
      client,
      [1, 2],
      async () => {
        throw lost;
      },
      'orders',
    ),
    { is: lost },
  );
});
