import test from 'ava';
import type avro from 'avsc';
import type { KafkaMessage } from 'kafkajs';
import { decodeWireFormat } from '../../src/codec/wire-format.ts';
import { type CatalogEntry, entryFor, parseSchema } from '../../src/contracts/catalog.ts';
import { RegistryClient } from '../../src/contracts/registry-client.ts';
import { registerSchemas } from '../../src/contracts/schema-workflow.ts';
import { PipelineError } from '../../src/errors.ts';
import { createKafka } from '../../src/kafka/kafka-client.ts';
import { createFakeEvents } from '../../src/producer/fake-events.ts';
import { createTopics } from '../../src/producer/topics.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { config, uniqueName } from '../support/services.ts';
import { uniqueCatalog } from '../support/unique-catalog.ts';

const PER_VERSION = 40;

/** avsc decodes records into generated classes; tests compare plain values. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object' || value instanceof Date || Buffer.isBuffer(value))
    return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

function identity(entry: CatalogEntry, event: Record<string, unknown>): string {
  return `${String(event[entry.key])}#${entry.versionField ? String(event[entry.versionField]) : ''}`;
}

async function readRaw(topics: string[], count: number): Promise<{ topic: string; message: KafkaMessage }[]> {
  const kafka = createKafka(config.kafka, { clientId: uniqueName('reader') });
  const consumer = kafka.consumer({ groupId: uniqueName('raw-reader') });
  await consumer.connect();
  const received: { topic: string; message: KafkaMessage }[] = [];
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${received.length} of ${count} messages`)),
        60_000,
      );
      void consumer.run({
        eachMessage: async ({ topic, message }) => {
          received.push({ topic, message });
          if (received.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

test('events of every topic and version arrive in the wire format with the registered id and decode to the same values', async (t) => {
  const fixture = uniqueCatalog(uniqueName('produce'));
  t.teardown(fixture.remove);
  const { catalog } = fixture;
  const kafka = createKafka(config.kafka, { clientId: uniqueName('producer') });
  const registry = new RegistryClient(config.registry);
  t.teardown(() => registry.close());

  const created = await createTopics(kafka, catalog);
  t.true(created.every((s) => s.status === 'created' && s.actualPartitions === s.partitions));
  const again = await createTopics(kafka, catalog);
  t.true(
    again.every((s) => s.status === 'exists'),
    'idempotent',
  );
  const registrations = await registerSchemas(catalog, registry, { allVersions: true });
  const idOf = new Map(registrations.map((r) => [`${r.topic}#${r.catalogVersion}`, r.id]));

  let lookups = 0;
  const producer = new TypedProducer({
    kafka,
    catalog,
    registry: {
      schemaIdOf: (subject, schema, references) => {
        lookups++;
        return registry.schemaIdOf(subject, schema, references);
      },
    },
    maxBatchMessages: 15,
  });
  await producer.connect();
  t.teardown(() => producer.disconnect());

  const expected = new Map<
    string,
    { entry: CatalogEntry; version: number; event: Record<string, unknown> }
  >();
  for (const entry of catalog.entries) {
    for (const version of entry.versions) {
      const events = createFakeEvents(entry, { version: version.version, seed: version.version }).take(
        PER_VERSION,
      );
      // Two sends per version: the schema id is looked up once all the same.
      const first = await producer.sendUnchecked(entry.topic, version.version, events.slice(0, 25));
      const second = await producer.sendUnchecked(entry.topic, version.version, events.slice(25));
      t.is(first.count + second.count, PER_VERSION);
      for (const event of events as Record<string, unknown>[]) {
        expected.set(`${entry.topic}|${identity(entry, event)}`, { entry, version: version.version, event });
      }
    }
  }
  const versionCount = catalog.entries.reduce((n, e) => n + e.versions.length, 0);
  t.is(lookups, versionCount, 'one registry lookup per schema version');

  const received = await readRaw(
    catalog.entries.map((e) => e.topic),
    expected.size,
  );
  t.is(received.length, expected.size);
  const writerTypes = new Map<number, avro.Type>();
  for (const { topic, message } of received) {
    const entry = entryFor(catalog, topic);
    t.is(message.value![0], 0, 'magic byte');
    const { schemaId, body } = decodeWireFormat(message.value!);
    let writer = writerTypes.get(schemaId);
    if (writer === undefined) {
      writer = parseSchema(await registry.schemaById(schemaId), `id ${schemaId}`);
      writerTypes.set(schemaId, writer);
    }
    const decoded = plain(
      entry.reader.type.fromBuffer(body, entry.reader.type.createResolver(writer)),
    ) as Record<string, unknown>;
    const sent = expected.get(`${topic}|${identity(entry, decoded)}`);
    if (sent === undefined) {
      t.fail(`unexpected message ${identity(entry, decoded)} on ${topic}`);
      continue;
    }
    t.is(schemaId, idOf.get(`${topic}#${sent.version}`)!, 'the id registered for the version');
    t.is(message.key?.toString(), String(sent.event[entry.key]), 'keyed by the catalog key');
    // Fields the writer version lacks are read as the reader's defaults.
    const defaults = Object.fromEntries(
      (entry.reader.type as avro.types.RecordType).fields
        .filter((f) => !(f.name in sent.event))
        .map((f) => [f.name, f.defaultValue()]),
    );
    t.deepEqual(decoded, { ...sent.event, ...defaults });
  }
});

test('an invalid event throws EVENT_INVALID naming index and field, and nothing of the call is sent', async (t) => {
  const fixture = uniqueCatalog(uniqueName('invalid'));
  t.teardown(fixture.remove);
  const { catalog } = fixture;
  const kafka = createKafka(config.kafka, { clientId: uniqueName('producer') });
  const registry = new RegistryClient(config.registry);
  t.teardown(() => registry.close());
  await createTopics(kafka, catalog);
  await registerSchemas(catalog, registry);
  const producer = new TypedProducer({ kafka, catalog, registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());

  const topic = fixture.topic('shop.page-views');
  const events = createFakeEvents(entryFor(catalog, topic), { seed: 1 }).take(3) as Record<string, unknown>[];
  events[1] = { ...events[1], duration_ms: 'long' };
  const error = await t.throwsAsync(producer.sendUnchecked(topic, undefined, events), {
    instanceOf: PipelineError,
  });
  t.is(error.code, 'EVENT_INVALID');
  t.regex(error.message, /event #1 .*duration_ms: expected a 32-bit whole number, got "long"/);

  const unknown = await t.throwsAsync(producer.sendUnchecked('shop.nowhere', undefined, []), {
    instanceOf: PipelineError,
  });
  t.is(unknown.code, 'UNKNOWN_TOPIC');

  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  t.true(
    offsets.every((o) => o.high === '0'),
    'nothing sent',
  );
});
