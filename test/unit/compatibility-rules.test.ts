import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { loadCatalog, parseSchema } from '../../src/contracts/catalog.ts';
import {
  compatibilityProblems,
  formatProblem,
  readerProblems,
} from '../../src/contracts/compatibility-rules.ts';
import { RegistryClient } from '../../src/contracts/registry-client.ts';
import { registryContractProblems } from '../../src/contracts/registry-contract.ts';
import { checkSchemas } from '../../src/contracts/schema-workflow.ts';
import { PipelineError } from '../../src/errors.ts';

const record = (fields: object[]) => parseSchema({ type: 'record', name: 'R', fields }, 'test');
const field = (type: unknown, extra: object = {}) => record([{ name: 'f', type, ...extra }]);
const decimal = (precision: number, scale: number) => ({
  type: 'bytes',
  logicalType: 'decimal',
  precision,
  scale,
});
const millis = { type: 'long', logicalType: 'timestamp-millis' };
const micros = { type: 'long', logicalType: 'timestamp-micros' };
const date = { type: 'int', logicalType: 'date' };
const uuid = { type: 'string', logicalType: 'uuid' };
const kind = (symbols: string[], extra: object = {}) => ({ type: 'enum', name: 'Kind', symbols, ...extra });

/** The reasons for reading `writer` data with `reader`, one field `f` each. */
function reasons(reader: unknown, writer: unknown): string[] {
  return readerProblems(field(reader), field(writer)).map((p) => `${p.fieldPath}: ${p.reason}`);
}

test('a decimal whose scale changes from 2 to 3 is refused, naming the field (was: registries say ok, the catalog "cannot read "bytes" as "bytes"")', (t) => {
  const problems = readerProblems(field(decimal(10, 3)), field(decimal(10, 2)));
  t.deepEqual(problems, [
    {
      fieldPath: 'f',
      writerType: 'decimal(10,2) (bytes)',
      readerType: 'decimal(10,3) (bytes)',
      reason: 'the decimal scale changes from 2 to 3: every old value would be read 10 times too small',
    },
  ]);
  t.deepEqual(reasons(decimal(10, 1), decimal(10, 2)), [
    'f: the decimal scale changes from 2 to 1: every old value would be read 10 times too large',
  ]);
});

test('a decimal whose precision grows at the same scale is readable; one whose precision shrinks is refused', (t) => {
  t.deepEqual(reasons(decimal(12, 2), decimal(10, 2)), []);
  t.deepEqual(reasons(decimal(8, 2), decimal(10, 2)), [
    'f: the decimal precision shrinks from 10 to 8: old values with more digits would not fit',
  ]);
});

test('plain bytes becoming a decimal, and a decimal becoming plain bytes, are refused', (t) => {
  t.regex(
    reasons(decimal(10, 2), 'bytes')[0] ?? '',
    /logical type decimal is added: old bytes carry no scale/,
  );
  t.regex(reasons('bytes', decimal(10, 2))[0] ?? '', /logical type decimal is dropped/);
});

test('a timestamp from millis to micros is refused, naming the field (was: registries say ok, the catalog "cannot read "long" as "long"")', (t) => {
  const [problem] = readerProblems(field(micros), field(millis));
  t.like(problem, {
    fieldPath: 'f',
    writerType: 'timestamp-millis (long)',
    readerType: 'timestamp-micros (long)',
  });
  t.regex(problem?.reason ?? '', /timestamp unit changes from millis to micros/);
  t.regex(reasons(millis, micros)[0] ?? '', /timestamp unit changes from micros to millis/);
  t.deepEqual(reasons(micros, micros), []);
  t.deepEqual(reasons(millis, millis), []);
});

test('a bare long becoming a timestamp (unit unknown), and a timestamp becoming a bare long, are refused', (t) => {
  t.regex(reasons(millis, 'long')[0] ?? '', /timestamp-millis is added: old values carry no unit/);
  t.regex(reasons('long', micros)[0] ?? '', /timestamp-micros is dropped/);
  t.deepEqual(reasons('long', 'long'), []);
});

test('an int becoming a date, and a date becoming an int, are refused; a date stays readable as a date', (t) => {
  t.regex(reasons(date, 'int')[0] ?? '', /logical type date is added/);
  t.regex(reasons('int', date)[0] ?? '', /logical type date is dropped/);
  t.deepEqual(reasons(date, date), []);
  // A promotion Avro allows is not refused by these rules.
  t.deepEqual(reasons('long', 'int'), []);
});

test('a string becoming a uuid, and a uuid becoming a string, are refused; a uuid stays readable as a uuid', (t) => {
  t.regex(
    reasons(uuid, 'string')[0] ?? '',
    /logical type uuid is added: old strings are not known to be UUIDs/,
  );
  t.regex(reasons('string', uuid)[0] ?? '', /logical type uuid is dropped/);
  t.deepEqual(reasons(uuid, uuid), []);
});

test('an enum symbol removed without an enum default is refused (was: compatible on Apicurio); with a default, or a symbol added, it is readable', (t) => {
  t.deepEqual(reasons(kind(['A']), kind(['A', 'B'])), [
    'f: enum symbol(s) B removed without an enum default: old events with them could not be read',
  ]);
  t.deepEqual(reasons(kind(['A'], { default: 'A' }), kind(['A', 'B'])), []);
  t.deepEqual(reasons(kind(['A', 'B', 'C']), kind(['A', 'B'])), []);
});

test('a fixed whose size changes is refused, a decimal on a fixed too; the same size is readable', (t) => {
  const fixed = (size: number) => ({ type: 'fixed', name: 'Hash', size });
  t.deepEqual(reasons(fixed(8), fixed(4)), ['f: the fixed size changes from 4 to 8 bytes']);
  t.deepEqual(reasons(fixed(4), fixed(4)), []);
  const fixedDecimal = (size: number) => ({ ...fixed(size), logicalType: 'decimal', precision: 9, scale: 2 });
  t.deepEqual(reasons(fixedDecimal(8), fixedDecimal(4)), ['f: the fixed size changes from 4 to 8 bytes']);
  t.deepEqual(reasons(fixedDecimal(8), fixedDecimal(8)), []);
});

test('a writer version whose default does not match its type is a problem naming the field; a valid default is not', (t) => {
  const reader = record([{ name: 'n', type: 'int' }]);
  const bad = { type: 'record', name: 'R', fields: [{ name: 'n', type: 'int', default: 'abc' }] };
  const [problem] = compatibilityProblems('s-value', reader, [{ version: 'version 2 (id 9)', schema: bad }]);
  t.like(problem, { subject: 's-value', version: 'version 2 (id 9)', fieldPath: 'n' });
  t.regex(problem?.reason ?? '', /incompatible field default "abc"/);
  const good = { type: 'record', name: 'R', fields: [{ name: 'n', type: 'int', default: 3 }] };
  t.deepEqual(compatibilityProblems('s-value', reader, [{ version: 'version 2 (id 9)', schema: good }]), []);
});

test('a field added without a default is refused; with a default it is readable', (t) => {
  const old = record([{ name: 'a', type: 'int' }]);
  t.deepEqual(
    readerProblems(
      record([
        { name: 'a', type: 'int' },
        { name: 'b', type: 'string' },
      ]),
      old,
    ).map((p) => p.reason),
    ['the field is not in the writer schema and has no default'],
  );
  t.deepEqual(
    readerProblems(
      record([
        { name: 'a', type: 'int' },
        { name: 'b', type: 'string', default: '' },
      ]),
      old,
    ),
    [],
  );
});

test('problems inside unions, arrays and maps name the path', (t) => {
  t.deepEqual(reasons(['null', decimal(10, 3)], ['null', decimal(10, 2)]).length, 1);
  t.regex(reasons({ type: 'array', items: micros }, { type: 'array', items: millis })[0] ?? '', /^f\[\]: /);
  t.regex(reasons({ type: 'map', values: uuid }, { type: 'map', values: 'string' })[0] ?? '', /^f\{\}: /);
  t.deepEqual(reasons(['null', decimal(12, 2)], ['null', decimal(10, 2)]), []);
});

test('formatProblem names subject, version, field, old and new type and the reason', (t) => {
  const [problem] = compatibilityProblems('shop.orders-value', field(decimal(10, 3)), [
    {
      version: 'version 1 (id 4)',
      schema: { type: 'record', name: 'R', fields: [{ name: 'f', type: decimal(10, 2) }] },
    },
  ]);
  t.is(
    formatProblem(problem!),
    'shop.orders-value version 1 (id 4): field "f": decimal(10,2) (bytes) read as decimal(10,3) (bytes): the decimal scale changes from 2 to 3: every old value would be read 10 times too small',
  );
});

/** A copy of the project's catalog whose order v2 changes `total`'s scale (v1 has decimal(12,2)). */
function catalogWithScaleChange(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'compat-rules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync('schemas', dir, { recursive: true });
  const file = join(dir, 'shop', 'order.v2.avsc');
  const v2 = JSON.parse(readFileSync(file, 'utf8'));
  const total = v2.fields.find((f: { name: string }) => f.name === 'total');
  total.type = { ...total.type, scale: total.type.scale + 1 };
  writeFileSync(file, JSON.stringify(v2));
  return dir;
}

const scaleChange =
  /shop\.orders-value catalog v1 \(shop\/order\.v1\.avsc\): field "total": decimal\(\d+,2\) \(bytes\) read as decimal\(\d+,3\) \(bytes\): the decimal scale changes from 2 to 3/;

test('catalog load and `schemas check --offline` refuse a scale change in the same words', async (t) => {
  const dir = catalogWithScaleChange(t);
  const error = t.throws(() => loadCatalog(dir), { instanceOf: PipelineError });
  t.is(error.code, 'CATALOG_INVALID');
  t.regex(error.message, scaleChange);
  const checks = await checkSchemas(loadCatalog(dir, { checkVersions: false }), undefined);
  const orders = checks.find((c) => c.subject === 'shop.orders-value');
  t.false(orders?.compatible);
  t.regex(orders?.reasons[0] ?? '', scaleChange);
  t.true(checks.find((c) => c.subject === 'shop.page-views-value')?.compatible);
});

test('the start-up gate refuses a registered version with another decimal scale in the same words', async (t) => {
  const catalog = loadCatalog('schemas');
  const orders = catalog.entries.find((e) => e.topic === 'shop.orders')!;
  const registered = JSON.parse(readFileSync(join('schemas', orders.versions[0]!.file), 'utf8'));
  const total = registered.fields.find((f: { name: string }) => f.name === 'total');
  total.type = { ...total.type, scale: total.type.scale + 1 };
  // Only the calls the gate makes; one registered version per subject.
  const registry = {
    versions: async () => [1],
    // The real one: it asks subjectVersion below for referenced types (none here).
    withReferences: RegistryClient.prototype.withReferences,
    subjectVersion: async (subject: string) => {
      const reference = catalog.references.find((r) => r.subject === subject);
      const entry = catalog.entries.find((e) => e.subject === subject);
      return {
        subject,
        version: 1,
        id: 7,
        schema: JSON.stringify(subject === orders.subject ? registered : (reference ?? entry!.reader).schema),
        references: (entry?.reader.references ?? []).map((r) => ({
          name: r.name,
          subject: r.subject,
          version: 1,
        })),
      };
    },
  } as unknown as RegistryClient;
  const problems = await registryContractProblems(catalog, registry);
  t.is(problems.length, 1, problems.join('\n'));
  t.regex(
    problems[0] ?? '',
    /^shop\.orders-value version 1 \(id 7\): field "total": decimal\(\d+,3\) \(bytes\) read as decimal\(\d+,2\) \(bytes\): the decimal scale changes from 3 to 2/,
  );
});

test('a recursive schema (a tree of records) is compared without recursing forever', (t) => {
  const tree = (scale: number) =>
    parseSchema(
      {
        type: 'record',
        name: 'Node',
        fields: [
          { name: 'amount', type: decimal(10, scale) },
          { name: 'children', type: { type: 'array', items: 'Node' } },
        ],
      },
      'test',
    );
  t.deepEqual(readerProblems(tree(2), tree(2)), []);
  t.deepEqual(
    readerProblems(tree(3), tree(2)).map((p) => p.fieldPath),
    ['amount'],
  );
});
