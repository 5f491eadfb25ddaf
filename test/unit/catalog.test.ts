import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { projectRoot } from '../../src/config.ts';
import { loadCatalog } from '../../src/contracts/catalog.ts';
import { PipelineError } from '../../src/errors.ts';

function copyOfSchemas(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-unit-'));
  cpSync(join(projectRoot, 'schemas'), dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the project catalog loads: topics, subjects, reader versions', (t) => {
  const catalog = loadCatalog(join(projectRoot, 'schemas'));
  const orders = catalog.entries.find((e) => e.topic === 'shop.orders')!;
  t.is(orders.subject, 'shop.orders-value');
  t.is(orders.reader.version, 2);
  t.is(orders.record, 'shop.Order');
});

test('an invalid .avsc is reported with its file and the field at fault', (t) => {
  const dir = copyOfSchemas(t);
  const file = join(dir, 'shop', 'page-view.v1.avsc');
  const schema = JSON.parse(readFileSync(file, 'utf8'));
  schema.fields[5].type = 'integer';
  writeFileSync(file, JSON.stringify(schema));
  const error = t.throws(() => loadCatalog(dir), { instanceOf: PipelineError });
  t.is(error.code, 'CATALOG_INVALID');
  t.regex(error.message, /shop\/page-view\.v1\.avsc/);
  t.regex(error.message, /field "duration_ms": .*integer/);
});

test('a .avsc that is not JSON names the file', (t) => {
  const dir = copyOfSchemas(t);
  writeFileSync(join(dir, 'shop', 'order.v1.avsc'), '{ "type": "record", ');
  const error = t.throws(() => loadCatalog(dir), { instanceOf: PipelineError });
  t.regex(error.message, /shop\/order\.v1\.avsc: not valid JSON/);
});

test('a misspelt logical type is refused instead of silently becoming its underlying type', (t) => {
  const dir = copyOfSchemas(t);
  const file = join(dir, 'shop', 'page-view.v1.avsc');
  const schema = JSON.parse(readFileSync(file, 'utf8'));
  schema.fields[7].type = { type: 'long', logicalType: 'timestamp-microseconds' };
  writeFileSync(file, JSON.stringify(schema));
  const error = t.throws(() => loadCatalog(dir), { instanceOf: PipelineError });
  t.regex(error.message, /page-view\.v1\.avsc: field "viewed_at" has logical type "timestamp-microseconds"/);
});

test('a key that is not a field, and a new version that cannot read the old, name the entry and field', (t) => {
  const dir = copyOfSchemas(t);
  const catalogFile = join(dir, 'catalog.json');
  const raw = JSON.parse(readFileSync(catalogFile, 'utf8'));
  raw.topics[1].key = 'page_id';
  writeFileSync(catalogFile, JSON.stringify(raw));
  const v2 = JSON.parse(readFileSync(join(dir, 'shop', 'order.v2.avsc'), 'utf8'));
  v2.fields.push({ name: 'channel', type: 'string' });
  writeFileSync(join(dir, 'shop', 'order.v2.avsc'), JSON.stringify(v2));
  const error = t.throws(() => loadCatalog(dir), { instanceOf: PipelineError });
  t.is(error.code, 'CATALOG_INVALID');
  t.regex(error.message, /topics\[1\] \(shop\.page-views\): "key" must name a field/);
  t.regex(
    error.message,
    /shop\.orders-value catalog v1 \(shop\/order\.v1\.avsc\): field "channel": \(absent\) read as string: the field is not in the writer schema and has no default/,
  );
});

test('an upsert version field must be a non-null whole number or timestamp (a NULL version could never be replaced)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-version-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'a.avsc'),
    JSON.stringify({
      type: 'record',
      name: 'A',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'version', type: ['null', 'long'], default: null },
      ],
    }),
  );
  writeFileSync(
    join(dir, 'catalog.json'),
    JSON.stringify({
      topics: [
        {
          topic: 'a',
          schemas: ['a.avsc'],
          table: 'a',
          key: 'id',
          writeMode: 'upsert',
          versionField: 'version',
        },
      ],
    }),
  );
  t.throws(() => loadCatalog(dir), {
    message: /"versionField" version must be a non-null int, long or timestamp/,
  });
});
