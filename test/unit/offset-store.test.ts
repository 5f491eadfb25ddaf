import test from 'ava';
import { PipelineError, TransientError } from '../../src/errors.ts';
import { readNextOffsets } from '../../src/sink/offset-store.ts';
import { fakePool, serverError } from '../support/fake-pool.ts';

test('the stored next offsets are read per partition of the group and topic', async (t) => {
  const { pool, queries } = fakePool({
    rows: [
      { partition: 0, next_offset: '42' },
      { partition: 2, next_offset: '9007199254740993' },
    ],
  });
  const offsets = await readNextOffsets(pool, 'group-a', 'shop.orders');
  t.deepEqual(
    [...offsets],
    [
      [0, '42'],
      [2, '9007199254740993'],
    ],
    'offsets stay strings: beyond 2^53 a number would round',
  );
  t.deepEqual(queries[0]?.values, ['group-a', 'shop.orders']);
});

test('a database that went away while reading offsets is transient, so the seek is retried', async (t) => {
  for (const error of [
    serverError('57P01', 'terminating connection due to administrator command'),
    new Error('Connection terminated unexpectedly'),
  ]) {
    const { pool } = fakePool(error);
    const thrown = await t.throwsAsync(readNextOffsets(pool, 'g', 'shop.orders'));
    t.true(thrown instanceof TransientError, error.message);
    t.is((thrown as TransientError).code, 'DATABASE_UNAVAILABLE');
  }
});

test('a missing offsets table is a contract mismatch naming pipeline_offsets, never an empty map', async (t) => {
  // An empty map would make every partition start from 0 again: re-writing what was written.
  const { pool } = fakePool(serverError('42P01', 'relation "pipeline_offsets" does not exist'));
  const thrown = await t.throwsAsync(readNextOffsets(pool, 'g', 'shop.orders'));
  t.true(thrown instanceof PipelineError);
  t.is((thrown as PipelineError).code, 'CONTRACT_MISMATCH');
  t.like((thrown as PipelineError).details, { table: 'pipeline_offsets', code: '42P01' });
});
