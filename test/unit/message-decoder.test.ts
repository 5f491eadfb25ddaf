import { join } from 'node:path';
import test from 'ava';
import type avro from 'avsc';
import { MessageDecoder, type WriterSchemaSource } from '../../src/codec/message-decoder.ts';
import { decodeStrict } from '../../src/codec/strict-decode.ts';
import { encodeWireFormat } from '../../src/codec/wire-format.ts';
import { projectRoot } from '../../src/config.ts';
import { entryFor, loadCatalog, parseSchema } from '../../src/contracts/catalog.ts';
import { PoisonMessageError, TransientError } from '../../src/errors.ts';
import { createFakeEvents } from '../../src/producer/fake-events.ts';
import { allTypesEntry, allTypesSchema } from '../support/all-types.ts';

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

test('a writer registered after start-up with a timestamp in micros where the reader has millis is a dead letter naming the field (was: cannot read "long" as "long", no field)', async (t) => {
  const micros = {
    ...v1.schema,
    fields: v1.schema.fields.map((f) =>
      f.name === 'placed_at' ? { ...f, type: { type: 'long', logicalType: 'timestamp-micros' } } : f,
    ),
  } as avro.Schema;
  const decoder = new MessageDecoder(fakeRegistry(new Map([[8, micros]])).source);
  const [outcome] = await decoder.decodeBatch(orders, [encodeWireFormat(8, Buffer.from([0]))]);
  t.is(outcome?.kind, 'poison');
  const error = (outcome as { error: PoisonMessageError }).error;
  t.is(error.code, 'PAYLOAD_UNDECODABLE');
  t.regex(
    error.message,
    /schema id 8: field "placed_at": timestamp-micros \(long\) read as timestamp-millis \(long\): the timestamp unit changes from micros to millis/,
  );
});

/** A decoder for the all-types record whose registry knows `schema` as id 5. */
function allTypesDecoder(schema: avro.Schema = allTypesSchema as avro.Schema) {
  const registry = fakeRegistry(new Map([[5, schema]]));
  return new MessageDecoder(registry.source);
}

/** The all-types value with strings replaced by raw bytes: the writer schema has bytes where the reader has string. */
function stringsAsBytes(node: unknown): unknown {
  if (node === 'string') return 'bytes';
  if (Array.isArray(node)) return node.map(stringsAsBytes);
  if (typeof node !== 'object' || node === null) return node;
  if ((node as { logicalType?: unknown }).logicalType === 'uuid') return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'name' ? v : stringsAsBytes(v)]));
}
const bytesWriterSchema = stringsAsBytes(allTypesSchema) as avro.Schema;
const bytesWriter = parseSchema(bytesWriterSchema, 'bytes writer');

function allTypesValue(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '0b3f2a51-2f6c-4c4e-9a57-4d3c4ab1e001',
    flag: true,
    small: 1,
    big: 2,
    single: 0.5,
    double: 1.5,
    label: Buffer.from('label'),
    colour: 'RED',
    raw: Buffer.from([0]),
    four: Buffer.from('abcd'),
    amount: '1.000',
    fixed_amount: '1',
    at_ms: new Date(0),
    at_us: 0n,
    day: '2026-01-01',
    nested: { when_us: 0n, when_ms: new Date(0), price: '1.00', blob: Buffer.from([]) },
    list: [],
    tags: {},
    maybe_text: null,
    maybe_day: null,
    maybe_amount: null,
    text_or_long: null,
    text_or_number: Buffer.from('x'),
    maybe_us_last: null,
    time_ms: '12:00:00.000',
    time_us: '12:00:00.000001',
    local_ms: '2026-01-01T00:00:00.000',
    local_us: '2026-01-01T00:00:00.000001',
    either_record: { 'test.Left': { l: 0.5 } },
    deep: { d2: { d3: { at: '2026-01-01T00:00:00.000000', time: '12:00:00.500', x: 0.1 } } },
    ...overrides,
  };
}

test('a string that is not UTF-8 (ED A0 80, FF FE) is a dead letter naming the field, its bytes kept (was: stored as U+FFFD)', async (t) => {
  const decoder = allTypesDecoder(bytesWriterSchema);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [
      { label: Buffer.from([0x61, 0xed, 0xa0, 0x80]) },
      /label: string is not valid UTF-8 \(4 bytes: 61 ed a0 80\)/,
    ],
    [{ tags: { k: Buffer.from([0xff, 0xfe]) } }, /tags\.k: string is not valid UTF-8 \(2 bytes: ff fe\)/],
    [{ maybe_text: Buffer.from([0xc0, 0x80]) }, /maybe_text: string is not valid UTF-8/],
    [{ text_or_number: Buffer.from([0xf4, 0x90, 0x80, 0x80]) }, /text_or_number: string is not valid UTF-8/],
  ];
  for (const [override, cause] of cases) {
    const value = allTypesValue(override);
    const [outcome] = await decoder.decodeBatch(allTypesEntry(), [
      encodeWireFormat(5, bytesWriter.toBuffer(value)),
    ]);
    t.is(outcome?.kind, 'poison', JSON.stringify(override));
    const error = (outcome as { error: PoisonMessageError }).error;
    t.is(error.code, 'PAYLOAD_UNDECODABLE');
    t.regex(error.message, cause);
  }
  // A real U+FFFD (EF BF BD), the empty string and NUL are valid UTF-8: they decode.
  const fine = allTypesValue({ label: Buffer.from('\uFFFD\u0000é😀'), tags: { '': Buffer.from('') } });
  const [row] = await decoder.decodeBatch(allTypesEntry(), [encodeWireFormat(5, bytesWriter.toBuffer(fine))]);
  t.is(row?.kind, 'row');
  t.is((row as unknown as { value: { label: string } }).value.label, '\uFFFD\u0000é😀');
});

test('a map key that is not UTF-8 is a dead letter naming the map (was: stored as U+FFFD)', async (t) => {
  const decoder = allTypesDecoder();
  const type = allTypesEntry().reader.type;
  // The map `tags` with one entry whose key is the bytes FF FE: the body with a key "XX" patched.
  const body = type.toBuffer(allTypesValue({ label: 'l', text_or_number: 'x', tags: { XX: 'v' } }));
  const at = body.indexOf(Buffer.from([4, 0x58, 0x58]));
  body[at + 1] = 0xff;
  body[at + 2] = 0xfe;
  const [outcome] = await decoder.decodeBatch(allTypesEntry(), [encodeWireFormat(5, body)]);
  t.is(outcome?.kind, 'poison');
  t.regex(
    (outcome as { error: Error }).error.message,
    /tags\["\uFFFD\uFFFD"\] \(a map key\): string is not valid UTF-8 \(2 bytes: ff fe\)/,
  );
});

test('a decimal longer than its precision is a dead letter naming the nested field (was: 30 digits landed in jsonb)', async (t) => {
  // price is decimal(6,2) inside the record `nested`: 10^7 unscaled is 8 digits.
  const rawWriterSchema = JSON.parse(
    JSON.stringify(bytesWriterSchema).replace('"logicalType":"decimal","precision":6,"scale":2', '"x":1'),
  );
  // Encoded without the decimal logical type (the same bytes on the wire), framed with the id of the
  // registered schema: the body carries what a careless producer could send.
  const rawWriter = parseSchema(rawWriterSchema, 'raw price writer');
  const decoderRaw = allTypesDecoder(bytesWriterSchema);
  const value = allTypesValue({
    nested: {
      when_us: 0n,
      when_ms: new Date(0),
      price: Buffer.from([0x00, 0x98, 0x96, 0x80]),
      blob: Buffer.from([]),
    },
  });
  const [outcome] = await decoderRaw.decodeBatch(allTypesEntry(), [
    encodeWireFormat(5, rawWriter.toBuffer(value)),
  ]);
  t.is(outcome?.kind, 'poison');
  t.regex(
    (outcome as { error: Error }).error.message,
    /nested\.price: decimal\(6,2\) holds at most 6 digits, got 8/,
  );
});

test('a UUID field that is not one, and a truncated body, say which field or what is wrong (was: "Cannot read properties of undefined")', async (t) => {
  const decoder = allTypesDecoder(bytesWriterSchema);
  const plainUuidSchema = JSON.parse(
    JSON.stringify(bytesWriterSchema).replace('{"type":"string","logicalType":"uuid"}', '"string"'),
  );
  // Encoded as a plain string (the same bytes on the wire), framed with the id of the registered schema.
  const plainUuid = parseSchema(plainUuidSchema, 'plain id');
  const notUuid = plainUuid.toBuffer({ ...allTypesValue(), id: 'nope' });
  const [bad] = await decoder.decodeBatch(allTypesEntry(), [encodeWireFormat(5, notUuid)]);
  t.regex((bad as { error: Error }).error.message, /id: not a UUID: "nope"/);

  const whole = bytesWriter.toBuffer(allTypesValue());
  for (let cut = 0; cut < whole.length; cut++) {
    const [outcome] = await decoder.decodeBatch(allTypesEntry(), [
      encodeWireFormat(5, whole.subarray(0, cut)),
    ]);
    t.is(outcome?.kind, 'poison');
    const message = (outcome as { error: Error }).error.message;
    t.notRegex(message, /undefined|BigInt/, message);
    t.regex(message, /: field \w+: truncated: the body's \d+ byte\(s\) end before the value does/, message);
  }
  // A union branch index that does not exist, inside the body: the field is named (was: "invalid union index: 9").
  const body = bytesWriter.toBuffer(allTypesValue({ maybe_text: Buffer.from('ok') }));
  const at = body.indexOf(Buffer.from([2, 4, 0x6f, 0x6b])); // branch 1 (zigzag 2), length 2, "ok"
  body[at] = 18;
  const [broken] = await decoder.decodeBatch(allTypesEntry(), [encodeWireFormat(5, body)]);
  t.regex(
    (broken as { error: Error }).error.message,
    /field maybe_text: invalid union index: 9 \(from byte \d+\)/,
  );
});

test('5,000 values with random schema ids: registry lookups bounded, misses reused, the unknown-id map bounded (was: 5,000 concurrent requests, 55,000 in all)', async (t) => {
  let inFlight = 0;
  let maxInFlight = 0;
  let requests = 0;
  const source: WriterSchemaSource = {
    async schemaById(id) {
      requests++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      throw new PoisonMessageError('SCHEMA_ID_UNKNOWN', `schema id ${id} is not in the registry`);
    },
  };
  let now = 0;
  const decoder = new MessageDecoder(source, {
    unknownSchemaGraceMs: 5000,
    unknownSchemaRecheckMs: 1000,
    registryConcurrency: 8,
    now: () => now,
  });
  // Seeded: values that start with 0x00 but carry random bytes where the schema id would be.
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  const batch = Array.from({ length: 5000 }, () => {
    const value = Buffer.alloc(12);
    value.writeInt32BE(random() - 2 ** 30, 1);
    return value;
  });
  const distinct = new Set(batch.map((v) => v.readInt32BE(1))).size;

  // During the grace: a transient fault (the batch is retried), each id asked once per recheck period.
  await t.throwsAsync(decoder.decodeBatch(orders, batch), { instanceOf: TransientError });
  // The lookups still queued finish in the background, a few at a time.
  while (requests < distinct) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  t.true(maxInFlight <= 8, `at most 8 lookups at once, saw ${maxInFlight}`);
  t.is(requests, distinct, 'each id asked once');
  t.is(decoder.unknownIdsRemembered, distinct);

  now += 500;
  await t.throwsAsync(decoder.decodeBatch(orders, batch), { instanceOf: TransientError });
  t.is(requests, distinct, 'a retry within the recheck period asks nothing');

  // Past the grace: dead letters, each id asked once more.
  now += 5000;
  const outcomes = await decoder.decodeBatch(orders, batch);
  t.true(outcomes.every((o) => o.kind === 'poison' && o.error.code === 'SCHEMA_ID_UNKNOWN'));
  t.true(maxInFlight <= 8);
  t.is(requests, 2 * distinct);
  now += 120_000;
  await t.throwsAsync(decoder.decodeBatch(orders, [batch[0]!]), { instanceOf: TransientError });
  t.is(decoder.unknownIdsRemembered, 1, 'ids long past their grace are forgotten');

  // A map bounded at 1,000: the ids beyond it get no grace (dead letters at once), the map never grows.
  const bounded = new MessageDecoder(source, { maxUnknownIds: 1000, now: () => now });
  const first = await bounded.decodeBatch(orders, batch).catch((error: unknown) => error);
  t.true(first instanceof TransientError, 'the first 1,000 ids are in their grace');
  while (inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
  t.is(bounded.unknownIdsRemembered, 1000);
  // Retried as the consumer would: every round ends some graces, and the batch settles as dead letters.
  let rounds = 0;
  for (;;) {
    now += 5000;
    rounds++;
    const verdicts = await bounded.decodeBatch(orders, batch).catch((error: unknown) => error);
    while (inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
    t.true(bounded.unknownIdsRemembered <= 1000);
    if (Array.isArray(verdicts)) {
      t.true(verdicts.every((o) => o.kind === 'poison'));
      break;
    }
    t.true(verdicts instanceof TransientError, String(verdicts));
    t.true(rounds < 10, 'the batch settles in a few rounds');
  }
  t.true(maxInFlight <= 8);
});

test('a damaged item count (2^31 items in 6 bytes) is a dead letter at once (was: avsc looped and allocated until out of memory)', (t) => {
  const record = parseSchema(
    {
      type: 'record',
      name: 'Counts',
      fields: [
        { name: 'n', type: 'int' },
        { name: 'xs', type: { type: 'array', items: ['float', 'boolean', 'long'] } },
      ],
    },
    'counts',
  );
  const resolver = record.createResolver(record);
  // n = 1, then an item count of 2^31 (zigzag varint), then one float branch and no more bytes.
  for (const items of [[0x00], [0x02], [0x04], []]) {
    const body = Buffer.from([0x02, 0x80, 0x80, 0x80, 0x80, 0x10, ...items]);
    const error = t.throws(() => decodeStrict(body, resolver, 'counts', record), {
      instanceOf: PoisonMessageError,
    });
    t.regex(
      error.message,
      /^counts: field xs: truncated: the body's \d+ byte\(s\) end before the value does/,
    );
  }
});

test('a damaged item count in a field the reader dropped is a dead letter at once (was: avsc skipped 2^31 items without reading, the consumer hung)', (t) => {
  const items: avro.Schema[] = [
    'long',
    'int',
    'boolean',
    'float',
    'double',
    { type: 'fixed', name: 'Four', size: 4 },
    { type: 'enum', name: 'E', symbols: ['A', 'B'] },
  ];
  for (const item of items) {
    const writer = parseSchema(
      {
        type: 'record',
        name: 'Counts',
        fields: [
          { name: 'n', type: 'int' },
          { name: 'xs', type: { type: 'array', items: item } },
        ],
      },
      'counts-writer',
    );
    const reader = parseSchema(
      { type: 'record', name: 'Counts', fields: [{ name: 'n', type: 'int' }] },
      'counts-reader',
    );
    const resolver = reader.createResolver(writer);
    // n = 1, then the dropped array's item count of 2^31 (zigzag varint) and one byte of items.
    const body = Buffer.from([0x02, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00]);
    const error = t.throws(() => decodeStrict(body, resolver, 'counts', reader), {
      instanceOf: PoisonMessageError,
    });
    t.regex(error.message, /truncated/, JSON.stringify(item));
  }
  // A map of the same damage, its values skipped the same way.
  const mapWriter = parseSchema(
    {
      type: 'record',
      name: 'Counts',
      fields: [
        { name: 'n', type: 'int' },
        { name: 'm', type: { type: 'map', values: 'long' } },
      ],
    },
    'counts-map-writer',
  );
  const reader = parseSchema({ type: 'record', name: 'Counts', fields: [{ name: 'n', type: 'int' }] }, 'r');
  const body = Buffer.from([0x02, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00]);
  t.throws(() => decodeStrict(body, reader.createResolver(mapWriter), 'counts', reader), {
    instanceOf: PoisonMessageError,
    message: /truncated/,
  });
});
