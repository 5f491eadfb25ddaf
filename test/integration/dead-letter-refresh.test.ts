import test from 'ava';
import { insertDeadLetters, readDeadLetters } from '../../src/sink/dead-letters.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';

test('a dead letter written again for the same offset keeps the bytes of the message that failed last (was: the old bytes kept, the new message lost)', async (t) => {
  const fx = await createPipelineFixture(t, { partitions: 1 });
  const topic = fx.topic('shop.page-views');
  const letter = (value: string, header: string) => ({
    groupId: 'refresh',
    topic,
    partition: 0,
    offset: '7',
    key: Buffer.from(`key-${value}`),
    value: Buffer.from(value),
    headers: [{ key: Buffer.from('h'), value: Buffer.from(header) }],
    kafkaTimestamp: value === 'old' ? '1000' : '2000',
    schemaId: null,
    errorClass: 'PoisonMessageError:PAYLOAD_UNDECODABLE',
    sqlState: null,
    message: `bad ${value}`,
  });
  // The old log's message at offset 7, then (topic recreated, offsets reset) a new message at offset 7.
  await insertDeadLetters(fx.pool, [letter('old', 'a')]);
  await insertDeadLetters(fx.pool, [letter('new', 'b')]);

  const letters = await readDeadLetters(fx.pool, { groupId: 'refresh', topic, limit: 10 });
  t.is(letters.length, 1);
  const stored = letters[0]!;
  t.deepEqual(stored.value, Buffer.from('new'));
  t.deepEqual(stored.key, Buffer.from('key-new'));
  t.deepEqual(
    stored.headers.map((h) => [h.key.toString(), h.value?.toString()]),
    [['h', 'b']],
  );
  t.is(stored.kafkaTimestamp, '2000');
  t.is(stored.message, 'bad new');
});
