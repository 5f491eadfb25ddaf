import test from 'ava';
import type pg from 'pg';
import { PipelineError } from '../../src/errors.ts';
import { writeBisecting } from '../../src/sink/bisect.ts';

/**
 * A client that only records statements: the savepoint protocol is what is under test. `write` plays the
 * bulk statement, refusing any part that holds a bad row the way PostgreSQL would.
 */
function fakeClient() {
  const statements: string[] = [];
  const client = {
    query: async (text: string) => {
      statements.push(text);
      return { rows: [], rowCount: 0 };
    },
  } as unknown as pg.ClientBase;
  return { client, statements };
}

/** PostgreSQL's error for a value beyond a numeric column's precision. */
function numericOverflow(): Error {
  return Object.assign(new Error('numeric field overflow'), { code: '22003', column: 'total' });
}

function writer(bad: ReadonlySet<number>, fault?: () => Error) {
  const writes: number[][] = [];
  const write = async (part: readonly number[]) => {
    if (fault) throw fault();
    if (part.some((item) => bad.has(item))) throw numericOverflow();
    writes.push([...part]);
    return part.length;
  };
  return { write, writes };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('a batch without a bad row is one statement in one savepoint', async (t) => {
  const { client, statements } = fakeClient();
  const { write, writes } = writer(new Set());
  const result = await writeBisecting(client, range(100), write, 'orders');
  t.deepEqual(result, { affected: 100, refused: [] });
  t.deepEqual(writes, [range(100)]);
  t.deepEqual(statements, ['SAVEPOINT sink_bisect', 'RELEASE SAVEPOINT sink_bisect']);
});

test('bad rows are refused one by one with their SQLSTATE, and every good row is still written', async (t) => {
  const { client } = fakeClient();
  const bad = new Set([3, 64, 65, 99]);
  const { write, writes } = writer(bad);
  const result = await writeBisecting(client, range(100), write, 'orders');
  t.is(result.affected, 96);
  t.deepEqual(
    result.refused.map((r) => r.item),
    [3, 64, 65, 99],
  );
  for (const { error } of result.refused) {
    t.is(error.code, 'ROW_REJECTED');
    t.is(error.sqlState, '22003');
    t.like(error.details, { table: 'orders', column: 'total' });
  }
  t.deepEqual(
    writes.flat().sort((a, b) => a - b),
    range(100).filter((i) => !bad.has(i)),
  );
});

test('good halves are written in bulk: k bad rows among n cost about 2·k·log2(n) statements', async (t) => {
  const { client } = fakeClient();
  const n = 1024;
  const { write, writes } = writer(new Set([100, 900]));
  let attempts = 0;
  await writeBisecting(
    client,
    range(n),
    (part) => {
      attempts++;
      return write(part);
    },
    'orders',
  );
  t.true(attempts <= 2 * 2 * Math.log2(n) + 1, `${attempts} statements`);
  t.true(writes.length <= 2 * Math.log2(n), `${writes.length} successful writes`);
  t.true(Math.max(...writes.map((w) => w.length)) >= n / 4, 'the largest good part went in as one');
});

test('every failed attempt is rolled back to its savepoint before the halves are tried', async (t) => {
  const { client, statements } = fakeClient();
  const { write } = writer(new Set([1]));
  await writeBisecting(client, [0, 1], write, 'orders');
  t.deepEqual(statements, [
    'SAVEPOINT sink_bisect', // [0, 1] fails
    'ROLLBACK TO SAVEPOINT sink_bisect',
    'RELEASE SAVEPOINT sink_bisect',
    'SAVEPOINT sink_bisect', // [0] goes in
    'RELEASE SAVEPOINT sink_bisect',
    'SAVEPOINT sink_bisect', // [1] is refused
    'ROLLBACK TO SAVEPOINT sink_bisect',
    'RELEASE SAVEPOINT sink_bisect',
  ]);
});

test('a fault that is not the row (connection lost, undefined column) propagates unchanged, unbisected', async (t) => {
  for (const thrown of [
    new Error('Connection terminated unexpectedly'),
    Object.assign(new Error('column "total" does not exist'), { code: '42703' }),
    new PipelineError('CONTRACT_MISMATCH', 'table orders does not match'),
  ]) {
    const { client, statements } = fakeClient();
    const { write } = writer(new Set(), () => thrown);
    t.is(await t.throwsAsync(writeBisecting(client, range(10), write, 'orders')), thrown);
    t.deepEqual(statements, ['SAVEPOINT sink_bisect'], 'the caller rolls the whole transaction back');
  }
});

test('an empty batch runs no statement at all', async (t) => {
  const { client, statements } = fakeClient();
  t.deepEqual(await writeBisecting(client, [], writer(new Set()).write, 'orders'), {
    affected: 0,
    refused: [],
  });
  t.deepEqual(statements, []);
});
