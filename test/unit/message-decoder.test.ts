import { join } from 'node:path';
import test from 'ava';
import type avro from 'avsc';
import { MessageDecoder, type WriterSchemaSource } from '../../src/codec/message-decoder.ts';
import { encodeWireFormat } from '../../src/codec/wire-format.ts';
import { projectRoot } from '../../src/config.ts';
import { entryFor, loadCatalog } from '../../src/contracts/catalog.ts';
import { PoisonMessageError, TransientError } from '../../src/errors.ts';
import { createFakeEvents } from '../../src/producer/fake-events.ts';

const catalog = loadCatalog(join(projectRoot, 'schemas'));
const orders = entryFor(catalog, 'shop.orders');
const v1 = orders.versions[0]!;

/** The registry as the decoder sees it: ids it knows, and a count of the questions asked. */
function fakeRegistry(known: Map<number, avro.Schema>) {
  const asked: number[] = [];
  const source: WriterSchemaSource = {
    async schemaById(id) {
      asked.push(id);
      const schema = known.get(id);
      if (schema === undefined)
        throw new PoisonMessageError('SCHEMA_ID_UNKNOWN', `schema id ${id} is not in the registry`);
      return schema;
    },
  };
  return { source, asked };
}

test('old writer versions are resolved into the reader: v1 events get the v2 defaults', async (t) => {
  const registry = fakeRegistry(new Map([[7, v1.schema]]));
  const decoder = new MessageDecoder(registry.source);
  const events = createFakeEvents(orders, { version: 1, seed: 3 }).take(20);
  const outcomes = await decoder.decodeBatch(
    orders,
    events.map((e) => encodeWireFormat(7, v1.type.toBuffer(e))),
  );
  for (const [i, outcome] of outcomes.entries()) {
    t.is(outcome.kind, 'row');
    t.like((outcome as { value: object }).value, {
      ...(events[i] as object),
      coupon_code: null,
      delivery_date: null,
    });
  }
  t.deepEqual(registry.asked, [7], 'one registry request for the whole batch');
  await decoder.decodeBatch(orders, [encodeWireFormat(7, v1.type.toBuffer(events[0]))]);
  t.deepEqual(registry.asked, [7], 'and none for the next batch');
});

test('an unknown schema id is retried as transient during the grace period, then dead-lettered; the miss is reused only briefly', async (t) => {
  const registry = fakeRegistry(new Map());
  const message = encodeWireFormat(99, Buffer.from([1, 2, 3]));
  const patient = new MessageDecoder(registry.source, { unknownSchemaGraceMs: 60_000 });
  await t.throwsAsync(patient.decodeBatch(orders, [message]), {
    instanceOf: TransientError,
    message: /schema id 99/,
  });

  let now = 1_000_000;
  const impatient = new MessageDecoder(registry.source, {
    unknownSchemaGraceMs: 0,
    unknownSchemaRecheckMs: 1000,
    now: () => now,
  });
  const [first] = await impatient.decodeBatch(orders, [message]);
  t.is(first?.kind, 'poison');
  t.is((first as { error: PoisonMessageError }).error.code, 'SCHEMA_ID_UNKNOWN');
  await impatient.decodeBatch(orders, [message]);
  t.is(registry.asked.filter((id) => id === 99).length, 2, 'the miss is reused within the recheck time');
  now += 1000;
  await impatient.decodeBatch(orders, [message]);
  t.is(registry.asked.filter((id) => id === 99).length, 3, 'then asked again: the registry may learn it');
});

test('bytes that are not the wire format, or not the schema, are poison naming the cause', async (t) => {
  const registry = fakeRegistry(new Map([[7, v1.schema]]));
  const decoder = new MessageDecoder(registry.source);
  const outcomes = await decoder.decodeBatch(orders, [
    Buffer.from([1, 0, 0, 0, 7]),
    encodeWireFormat(7, Buffer.from([2])),
    null,
  ]);
  t.deepEqual(
    outcomes.map((o) => (o.kind === 'poison' ? o.error.code : o.kind)),
    ['WIRE_FORMAT_INVALID', 'PAYLOAD_UNDECODABLE', 'tombstone'],
  );
});
