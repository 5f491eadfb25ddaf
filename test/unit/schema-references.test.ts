/**
 * Schema references: a named type under its own subject, used by name in other schemas. The catalog parses
 * the referring schema with the referenced one inlined; the registry client fetches a writer's references
 * (recursively) and inlines them, so the decoder reads such a writer like any other.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type avro from 'avsc';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { encodeWireFormat } from '../../src/codec/wire-format.ts';
import { projectRoot } from '../../src/config.ts';
import { loadCatalog } from '../../src/contracts/catalog.ts';
import { RegistryClient } from '../../src/contracts/registry-client.ts';
import { inlineReferences } from '../../src/contracts/schema-references.ts';
import { PipelineError } from '../../src/errors.ts';

const money = {
  type: 'record',
  name: 'Money',
  namespace: 'shop',
  fields: [
    { name: 'amount_minor', type: 'long' },
    { name: 'currency', type: 'string' },
  ],
};

function catalogDir(t: ExecutionContext, topics: unknown[], references: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'references-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(projectRoot, 'schemas', 'shop'), join(dir, 'shop'), { recursive: true });
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ references, topics }));
  return dir;
}

const refunds = {
  topic: 'shop.refunds',
  schemas: ['shop/refund.v1.avsc'],
  table: 'refunds',
  key: 'refund_id',
  writeMode: 'insert',
};

test('the first use of a referenced name is inlined, later uses (full or relative) stay names', (t) => {
  const refund = {
    type: 'record',
    name: 'Refund',
    namespace: 'shop',
    fields: [
      { name: 'fee', type: ['null', 'Money'] },
      { name: 'amount', type: 'shop.Money' },
      { name: 'list', type: { type: 'array', items: 'shop.Money' } },
    ],
  };
  const { schema, used } = inlineReferences(refund, new Map([['shop.Money', money]]));
  t.deepEqual(used, ['shop.Money']);
  const fields = (schema as typeof refund).fields;
  // The full name replaces the namespace: the definition means the same wherever it lands.
  t.deepEqual(fields[0]!.type, ['null', { type: 'record', name: 'shop.Money', fields: money.fields }]);
  t.is(fields[1]!.type, 'shop.Money');
  t.deepEqual(fields[2]!.type, { type: 'array', items: 'shop.Money' });
});

test('a name of another namespace is not taken for the referenced one', (t) => {
  const other = { type: 'record', name: 'R', namespace: 'bank', fields: [{ name: 'm', type: 'Money' }] };
  const { used } = inlineReferences(other, new Map([['shop.Money', money]]));
  t.deepEqual(used, []);
});

test('the catalog loads a topic whose schema uses a referenced type; the reader knows its reference', (t) => {
  const dir = catalogDir(t, [refunds], [{ subject: 'shop.Money', schema: 'shop/money.v1.avsc' }]);
  const catalog = loadCatalog(dir);
  t.deepEqual(
    catalog.references.map((r) => [r.name, r.subject, r.file]),
    [['shop.Money', 'shop.Money', 'shop/money.v1.avsc']],
  );
  const entry = catalog.entries[0]!;
  t.deepEqual(
    entry.reader.references.map((r) => r.name),
    ['shop.Money'],
  );
  // Registered as written: the name, not the definition.
  t.is((entry.reader.schema.fields[2] as { type: unknown }).type, 'shop.Money');
  const amount = (entry.reader.type as avro.types.RecordType).fields.find((f) => f.name === 'amount')!;
  t.is(amount.type.name, 'shop.Money');
  const value = {
    refund_id: '0b7c9a43-3f8e-4c61-9d51-4d1f8a0c2b11',
    order_id: '1b7c9a43-3f8e-4c61-9d51-4d1f8a0c2b11',
    amount: { amount_minor: 1250n, currency: 'EUR' },
    fee: { amount_minor: 30n, currency: 'EUR' },
    reason: 'damaged',
    refunded_at: 1_764_000_000_000_000n,
  };
  t.true(entry.reader.type.isValid(value));
});

test('a topic using a type the catalog does not reference is refused, naming the file', (t) => {
  const dir = catalogDir(t, [refunds], undefined);
  const error = t.throws(() => loadCatalog(dir), { instanceOf: PipelineError });
  t.is(error?.code, 'CATALOG_INVALID');
  t.regex(error?.message ?? '', /shop\/refund\.v1\.avsc.*shop\.Money/s);
});

test('a malformed references section is refused', (t) => {
  const dir = catalogDir(t, [refunds], [{ schema: 'shop/money.v1.avsc' }]);
  const error = t.throws(() => loadCatalog(dir), { instanceOf: PipelineError });
  t.regex(error?.message ?? '', /references\[0\]: needs "subject"/);
});

/** A registry that knows shop.Money version 3 and a refund schema id 7 referring to it. */
async function registryWithReferences(t: ExecutionContext, refund: unknown) {
  const requests: { line: string; body: string }[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const line = `${request.method} ${request.url?.replace('/apis/ccompat/v7', '')}`;
      requests.push({ line, body });
      const answer = (status: number, payload: unknown) => {
        response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
        response.end(JSON.stringify(payload));
      };
      if (line === 'GET /schemas/ids/7') {
        return answer(200, {
          schema: JSON.stringify(refund),
          references: [{ name: 'shop.Money', subject: 'shop.Money', version: 3 }],
        });
      }
      if (line === 'GET /subjects/shop.Money/versions/3') {
        return answer(200, { subject: 'shop.Money', version: 3, id: 5, schema: JSON.stringify(money) });
      }
      if (line === 'POST /subjects/shop.Money') {
        return answer(200, { subject: 'shop.Money', version: 3, id: 5, schema: JSON.stringify(money) });
      }
      if (line === 'POST /subjects/shop.refunds-value') {
        return answer(404, { error_code: 40401, message: 'Subject not found' });
      }
      if (line === 'GET /subjects/shop.refunds-value/versions') {
        return answer(404, { error_code: 40401, message: 'Subject not found' });
      }
      if (line === 'POST /subjects/shop.refunds-value/versions') return answer(200, { id: 7 });
      return answer(500, { message: `unexpected ${line}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const registry = new RegistryClient(
    { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7` },
    { retries: 0, timeoutMs: 2000 },
  );
  t.teardown(() => registry.close());
  return { registry, requests };
}

test('a writer schema with references decodes: its referenced types are fetched by subject and version', async (t) => {
  const dir = catalogDir(t, [refunds], [{ subject: 'shop.Money', schema: 'shop/money.v1.avsc' }]);
  const entry = loadCatalog(dir).entries[0]!;
  const { registry, requests } = await registryWithReferences(t, entry.reader.schema);
  const value = {
    refund_id: '0b7c9a43-3f8e-4c61-9d51-4d1f8a0c2b11',
    order_id: '1b7c9a43-3f8e-4c61-9d51-4d1f8a0c2b11',
    amount: { amount_minor: 1250n, currency: 'EUR' },
    fee: null,
    reason: 'damaged',
    refunded_at: 1_764_000_000_000_000n,
  };
  const decoder = new MessageDecoder(registry);
  const [outcome] = await decoder.decodeBatch(entry, [
    encodeWireFormat(7, entry.reader.type.toBuffer(value)),
  ]);
  t.is(outcome?.kind, 'row');
  const amount = (outcome as { value: Record<string, object> }).value.amount;
  // Longs decode as numbers where they are exact.
  t.deepEqual({ ...amount }, { amount_minor: 1250, currency: 'EUR' });
  t.deepEqual(
    requests.map((r) => r.line),
    ['GET /schemas/ids/7', 'GET /subjects/shop.Money/versions/3'],
  );
});

test('registering a schema that uses a referenced type sends the reference with its registry version', async (t) => {
  const dir = catalogDir(t, [refunds], [{ subject: 'shop.Money', schema: 'shop/money.v1.avsc' }]);
  const entry = loadCatalog(dir).entries[0]!;
  const { registry, requests } = await registryWithReferences(t, entry.reader.schema);
  await registry.register(entry.subject, entry.reader.schema, entry.reader.references).catch(() => undefined);
  const post = requests.find((r) => r.line === 'POST /subjects/shop.refunds-value/versions');
  t.truthy(post, requests.map((r) => r.line).join(', '));
  const body = JSON.parse(post!.body) as { schema: string; references: unknown };
  t.deepEqual(body.references, [{ name: 'shop.Money', subject: 'shop.Money', version: 3 }]);
  t.deepEqual(JSON.parse(body.schema), entry.reader.schema);
});
