import test from 'ava';
import { type PlanItem, planBatch } from '../../src/sink/batch-plan.ts';

const row = (key: string, offset: number, version: number): PlanItem => ({
  kind: 'row',
  key,
  version: BigInt(version),
  offset: BigInt(offset),
});
const tombstone = (key: string, offset: number): PlanItem => ({
  kind: 'tombstone',
  key,
  version: null,
  offset: BigInt(offset),
});
const offsets = (items: PlanItem[]) => items.map((i) => Number(i.offset));

test('upsert: one row per key, the highest version', (t) => {
  const plan = planBatch([row('a', 1, 3), row('a', 2, 5), row('b', 3, 1), row('a', 4, 4)], 'upsert');
  t.deepEqual(offsets(plan.writes), [2, 3]);
  t.deepEqual(offsets(plan.superseded).sort(), [1, 4]);
  t.deepEqual(plan.deletes, []);
});

test('upsert: equal versions keep the highest offset', (t) => {
  const plan = planBatch([row('a', 7, 2), row('a', 9, 2), row('a', 8, 2)], 'upsert');
  t.deepEqual(offsets(plan.writes), [9]);
});

test('messages arrive in any order; the plan follows offsets', (t) => {
  const plan = planBatch([tombstone('a', 5), row('a', 3, 9)], 'upsert');
  t.deepEqual(offsets(plan.deletes), [5]);
  t.deepEqual(plan.writes, [], 'the row before the tombstone is deleted by it');
  t.deepEqual(offsets(plan.superseded), [3]);
});

test('a tombstone after an upsert deletes; an upsert after a tombstone re-creates', (t) => {
  const plan = planBatch(
    [row('a', 1, 9), tombstone('a', 2), row('a', 3, 1), row('b', 4, 1), tombstone('b', 5)],
    'upsert',
  );
  t.deepEqual(offsets(plan.deletes), [2, 5]);
  t.deepEqual(offsets(plan.writes), [3], 'version 1 after the tombstone wins over version 9 before it');
  t.deepEqual(offsets(plan.superseded), [1, 4]);
});

test('several tombstones of a key delete once, the last one counts', (t) => {
  const plan = planBatch([tombstone('a', 1), row('a', 2, 1), tombstone('a', 3)], 'upsert');
  t.deepEqual(offsets(plan.deletes), [3]);
  t.deepEqual(offsets(plan.superseded), [1, 2]);
});

test('insert: every row after its key’s last tombstone, in offset order', (t) => {
  const plan = planBatch([row('a', 3, 0), row('a', 1, 0), tombstone('a', 2), row('b', 4, 0)], 'insert');
  t.deepEqual(offsets(plan.writes), [3, 4]);
  t.deepEqual(offsets(plan.deletes), [2]);
  t.deepEqual(offsets(plan.superseded), [1]);
});
