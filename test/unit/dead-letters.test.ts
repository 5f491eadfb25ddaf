import test from 'ava';
import { type PipelineError, TransientError } from '../../src/errors.ts';
import {
  type DeadLetter,
  deleteDeadLetters,
  insertDeadLetters,
  readDeadLetters,
} from '../../src/sink/dead-letters.ts';
import { textHeaders } from '../../src/sink/message-headers.ts';
import { fakePool, serverError } from '../support/fake-pool.ts';

function letter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    groupId: 'g',
    topic: 'shop.orders',
    partition: 1,
    offset: '17',
    key: Buffer.from('k'),
    value: Buffer.from([0, 0, 0, 0, 7, 0xff]),
    headers: textHeaders([['source', 'test']]),
    kafkaTimestamp: '1764331200000',
    schemaId: 7,
    errorClass: 'PoisonMessageError:ROW_REJECTED',
    sqlState: '22003',
    message: 'numeric field overflow',
    ...overrides,
  };
}

/** The insert binds one array per column, in this order (see COLUMNS in dead-letters.ts). */
const COLUMN = {
  headers: 6,
  kafkaTimestamp: 7,
  errorClass: 9,
  message: 11,
} as const;

test('no dead letter, no statement', async (t) => {
  const { pool, queries } = fakePool();
  t.is(await insertDeadLetters(pool, []), 0);
  t.deepEqual(queries, []);
});

test('the raw bytes are bound untouched, one array per column for the whole set', async (t) => {
  const { pool, queries } = fakePool({ rowCount: 2 });
  const letters = [letter(), letter({ offset: '18', key: null, value: null })];
  t.is(await insertDeadLetters(pool, letters), 2);
  t.is(queries.length, 1);
  const values = queries[0]!.values as unknown[][];
  t.is(values.length, 12);
  t.deepEqual(values[5], [letters[0]!.value, null]);
  t.deepEqual(values[4], [letters[0]!.key, null]);
  t.deepEqual(values[3], ['17', '18']);
});

test('NUL characters, which text cannot hold, are escaped in the cause; header bytes travel untouched', async (t) => {
  const { pool, queries } = fakePool({ rowCount: 1 });
  await insertDeadLetters(pool, [
    letter({
      message: 'bad\0value',
      errorClass: 'Err\0or',
      headers: [
        { key: Buffer.from('a\0b'), value: Buffer.from('c\0d') },
        { key: Buffer.from('dropped'), value: null },
      ],
    }),
  ]);
  const values = queries[0]!.values as unknown[][];
  t.deepEqual(values[COLUMN.message], ['bad\\u0000value']);
  t.deepEqual(values[COLUMN.errorClass], ['Err\\u0000or']);
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  t.deepEqual(JSON.parse(values[COLUMN.headers]![0] as string), [
    [base64('a\0b'), base64('c\0d')],
    [base64('dropped'), null],
  ]);
});

test('a Kafka timestamp that is no usable instant is stored as NULL, and the dead letter is kept', async (t) => {
  const { pool, queries } = fakePool({ rowCount: 4 });
  await insertDeadLetters(pool, [
    letter({ kafkaTimestamp: null }),
    letter({ kafkaTimestamp: 'not-a-number' }),
    letter({ kafkaTimestamp: '100000000000000000000' }),
    letter({ kafkaTimestamp: '0' }),
  ]);
  t.deepEqual((queries[0]!.values as unknown[][])[COLUMN.kafkaTimestamp], [
    null,
    null,
    null,
    '1970-01-01T00:00:00.000Z',
  ]);
});

test('reading or deleting dead letters classifies database failures, naming dead_letters', async (t) => {
  const down = serverError('57P03', 'the database system is starting up');
  const missing = serverError('42P01', 'relation "dead_letters" does not exist');

  const read = await t.throwsAsync(readDeadLetters(fakePool(down).pool, { limit: 10 }));
  t.true(read instanceof TransientError);
  const readMissing = await t.throwsAsync(readDeadLetters(fakePool(missing).pool, { limit: 10 }));
  t.is((readMissing as PipelineError).code, 'CONTRACT_MISMATCH');
  t.like((readMissing as PipelineError).details, { table: 'dead_letters' });

  const deleted = await t.throwsAsync(deleteDeadLetters(fakePool(down).pool, ['1']));
  t.true(deleted instanceof TransientError);
  const deletedMissing = await t.throwsAsync(deleteDeadLetters(fakePool(missing).pool, ['1']));
  t.like((deletedMissing as PipelineError).details, { table: 'dead_letters', code: '42P01' });
});

test('deleting no id runs no statement; ids are bound as one bigint array', async (t) => {
  const { pool, queries } = fakePool({ rowCount: 2 });
  t.is(await deleteDeadLetters(pool, []), 0);
  t.deepEqual(queries, []);
  t.is(await deleteDeadLetters(pool, ['5', '9']), 2);
  t.deepEqual(queries[0]?.values, [['5', '9']]);
  t.regex(queries[0]!.text, /ANY\(\$1::bigint\[\]\)/);
});

test('a delete inside the replay transaction goes through that client, not the pool', async (t) => {
  const pool = fakePool({ rowCount: 0 });
  const client = fakePool({ rowCount: 1 });
  t.is(await deleteDeadLetters(pool.pool, ['3'], client.pool), 1);
  t.deepEqual(pool.queries, []);
  t.is(client.queries.length, 1);
});
