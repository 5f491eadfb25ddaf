import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import test from 'ava';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { encodeWireFormat } from '../../src/codec/wire-format.ts';
import type { PageView } from '../../src/contracts/generated/events.ts';
import type { Uuid } from '../../src/contracts/logical-types.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';

// @kafkajs/confluent-schema-registry is an independent implementation of the Confluent wire format: bytes
// either side writes must be read by the other.
const event: PageView = {
  view_id: '00000000-0000-4000-8000-000000000042' as Uuid,
  session_id: 'interop',
  customer_id: 42,
  url: 'https://shop.example/interop',
  referrer: null,
  duration_ms: 1234,
  is_bounce: true,
  viewed_at: 1_767_323_045_123_456n,
  attributes: { a: 'b' },
};

test('the wire format agrees with @kafkajs/confluent-schema-registry both ways', async (t) => {
  const fx = await createPipelineFixture(t, { migrate: false });
  const entry = fx.catalog.entries.find((e) => e.table === 'page_views')!;
  const id = await fx.registry.schemaIdOf(entry.subject, entry.reader.schema);
  const library = new SchemaRegistry({ host: fx.config.registry.url });

  // The library has no logical types: the same record with the underlying Avro values.
  const plain = { ...event, viewed_at: Number(event.viewed_at) };
  const theirs = await library.encode(id, plain);
  const [decoded] = await new MessageDecoder(fx.registry).decodeBatch(entry, [theirs]);
  t.is(decoded?.kind, 'row');
  t.like((decoded as { value: object }).value, { ...event });

  const ours = encodeWireFormat(id, entry.reader.type.toBuffer(event));
  t.like(await library.decode(ours), {
    view_id: event.view_id,
    url: event.url,
    viewed_at: Number(event.viewed_at),
  });
});
