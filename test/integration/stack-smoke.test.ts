import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import test from 'ava';
import { config, createTopic, databasePool, kafkaClient, uniqueName } from '../support/services.ts';

const v1 = {
  type: 'record',
  name: 'Ping',
  namespace: 'smoke',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'n', type: 'long' },
  ],
};

test('Kafka and the registry carry one Avro message in the Confluent wire format', async (t) => {
  const topic = uniqueName('smoke');
  const kafka = kafkaClient();
  await createTopic(kafka, topic);
  const registry = new SchemaRegistry({ host: config.registry.url });
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(v1) },
    { subject: `${topic}-value` },
  );

  const encoded = await registry.encode(id, { id: 'a', n: 42 });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ key: 'a', value: encoded }] });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: uniqueName('smoke-group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = new Promise<Buffer>((resolve) => {
    void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!) });
  });
  const value = await received;
  await consumer.disconnect();

  t.is(value[0], 0, 'magic byte');
  t.is(value.readInt32BE(1), id, 'schema id');
  t.like(await registry.decode(value), { id: 'a', n: 42 });
});

test('the registry refuses an incompatible schema with 409 (BACKWARD by default)', async (t) => {
  const subject = `${uniqueName('smoke')}-value`;
  const base = config.registry.url;
  const post = (schema: object) =>
    fetch(`${base}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify(schema) }),
    });
  const first = await post(v1);
  t.is(first.status, 200);
  // A new field without a default: readers of the new schema cannot read old data.
  const incompatible = { ...v1, fields: [...v1.fields, { name: 'required', type: 'string' }] };
  const refused = await post(incompatible);
  t.is(refused.status, 409);
  const body = (await refused.json()) as { error_code: number };
  t.is(body.error_code, 409);
});

test('PostgreSQL answers a query', async (t) => {
  const pool = databasePool();
  t.teardown(() => pool.end());
  const { rows } = await pool.query<{ version: string; sum: number }>(
    'SELECT current_setting($1) AS version, $2::int + $3::int AS sum',
    ['server_version_num', 40, 2],
  );
  t.is(rows[0]!.sum, 42);
  t.true(Number(rows[0]!.version) >= 150000);
});

test('a topic that was never created is refused, not created on the fly', async (t) => {
  const kafka = kafkaClient();
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1 } });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await t.throwsAsync(producer.send({ topic: uniqueName('missing'), messages: [{ value: 'x' }] }));
});
