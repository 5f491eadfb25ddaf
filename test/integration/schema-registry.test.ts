import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { projectRoot } from '../../src/config.ts';
import { entryFor, parseSchema } from '../../src/contracts/catalog.ts';
import { RegistryClient } from '../../src/contracts/registry-client.ts';
import { assertCompatible, checkSchemas, registerSchemas } from '../../src/contracts/schema-workflow.ts';
import { PipelineError } from '../../src/errors.ts';
import { config, uniqueName } from '../support/services.ts';
import { uniqueCatalog } from '../support/unique-catalog.ts';

const orderV2 = JSON.parse(readFileSync(join(projectRoot, 'schemas', 'shop', 'order.v2.avsc'), 'utf8'));
/** v2 plus a field without a default: BACKWARD refuses it (new readers cannot read old data). */
const orderV3 = { ...orderV2, fields: [...orderV2.fields, { name: 'channel', type: 'string' }] };

/** A catalog whose orders topic has only the incompatible v3 (loadable: no older version to read). */
function incompatibleCatalog(prefix: string) {
  return uniqueCatalog(prefix, {
    files: { 'shop/order.v3.avsc': orderV3 },
    edit: (entries) => {
      entries.find((e) => e.topic === 'shop.orders')!.schemas = ['shop/order.v3.avsc'];
    },
  });
}

function registry(t: { teardown(fn: () => void): void }): RegistryClient {
  const client = new RegistryClient(config.registry);
  t.teardown(() => client.close());
  return client;
}

test('v1 then v2 are accepted, registering again returns the same id, v3 is refused naming the field', async (t) => {
  const prefix = uniqueName('reg');
  const fixture = uniqueCatalog(prefix);
  t.teardown(fixture.remove);
  const client = registry(t);
  const orders = entryFor(fixture.catalog, fixture.topic('shop.orders'));

  const v1 = await client.register(orders.subject, orders.versions[0]!.schema);
  const v2 = await client.register(orders.subject, orders.versions[1]!.schema);
  t.true(v1.created && v2.created);
  t.not(v1.id, v2.id);
  t.deepEqual(await client.versions(orders.subject), [v1.version, v2.version]);
  t.deepEqual(await client.register(orders.subject, orders.versions[0]!.schema), { ...v1, created: false });
  t.deepEqual(await client.register(orders.subject, orders.versions[1]!.schema), { ...v2, created: false });
  t.is(await client.schemaIdOf(orders.subject, orders.versions[1]!.schema), v2.id);
  t.deepEqual(await client.getCompatibility(orders.subject), { level: 'BACKWARD', source: 'subject' });

  // The writer schema by id is the same schema, compared parsed (as the production code does): a registry
  // that normalises schemas (Karapace sorts keys) answers other text for the same schema.
  const fetched = await client.schemaById(v1.id);
  const exported = (schema: unknown) => parseSchema(schema, 'test').schema({ exportAttrs: true });
  t.deepEqual(exported(fetched), exported(orders.versions[0]!.schema));

  const error = await t.throwsAsync(client.register(orders.subject, orderV3), { instanceOf: PipelineError });
  t.is(error.code, 'SCHEMA_INCOMPATIBLE');
  t.regex(error.message, new RegExp(`subject ${orders.subject.replace(/\./g, '\\.')} refused`));
  t.regex(
    error.message,
    /field "channel": \(absent\) read as string: the field is not in the writer schema and has no default/,
  );
  t.deepEqual(await client.versions(orders.subject), [v1.version, v2.version], 'nothing registered');
});

test('an unknown schema id is a poison message, not a retry', async (t) => {
  const error = await t.throwsAsync(registry(t).schemaById(2_000_000_000), { instanceOf: PipelineError });
  t.is(error.code, 'SCHEMA_ID_UNKNOWN');
});

test('schemas check passes after registration and fails, naming subject and field, for an incompatible schema', async (t) => {
  const prefix = uniqueName('check');
  const fixture = uniqueCatalog(prefix);
  const broken = incompatibleCatalog(prefix);
  t.teardown(() => {
    fixture.remove();
    broken.remove();
  });
  const client = registry(t);

  const before = await checkSchemas(fixture.catalog, client);
  t.true(
    before.every((c) => c.compatible && !c.compared),
    'new subjects have nothing to break',
  );
  const registered = await registerSchemas(fixture.catalog, client, { allVersions: true });
  t.deepEqual(
    registered.map((r) => `${r.subject} ${r.catalogVersion}`),
    [
      // The referenced type first, under its own subject (renamed like the topics).
      `${fixture.topic('shop.Money')} 1`,
      `${fixture.topic('shop.orders')}-value 1`,
      `${fixture.topic('shop.orders')}-value 2`,
      `${fixture.topic('shop.page-views')}-value 1`,
      `${fixture.topic('shop.shipments')}-value 1`,
      `${fixture.topic('shop.refunds')}-value 1`,
    ],
  );
  const after = await checkSchemas(fixture.catalog, client);
  t.true(after.every((c) => c.compatible && c.compared && c.level === 'BACKWARD'));
  t.notThrows(() => assertCompatible(after));

  const checks = await checkSchemas(broken.catalog, client);
  const refused = checks.filter((c) => !c.compatible);
  t.deepEqual(
    refused.map((c) => c.subject),
    [`${fixture.topic('shop.orders')}-value`],
  );
  t.true(
    refused[0]!.reasons.some((r) => r.includes('field "channel"')),
    refused[0]!.reasons.join('\n'),
  );
  const error = t.throws(() => assertCompatible(checks), { instanceOf: PipelineError });
  t.is(error.code, 'SCHEMA_INCOMPATIBLE');

  // The CLI is the CI gate: exit code 4, subject and field on stdout.
  const cli = await promisify(execFile)(
    process.execPath,
    [join(projectRoot, 'bin', 'pipeline.js'), 'schemas', 'check'],
    {
      env: { ...process.env, PIPELINE_SCHEMAS_DIR: broken.dir },
    },
  ).then(
    () => ({ code: 0, stdout: '', stderr: '' }),
    (failure: { code: number; stdout: string; stderr: string }) => failure,
  );
  t.is(cli.code, 4, cli.stderr);
  t.regex(cli.stdout, new RegExp(`FAIL ${fixture.topic('shop.orders').replace(/\./g, '\\.')}-value`));
  t.regex(cli.stdout, /field "channel"/);
  t.regex(cli.stderr, /SCHEMA_INCOMPATIBLE/);
});

/** Order v1 with `total` at scale 3 instead of 2: every old total would be read 10 times too small. */
const orderV1 = JSON.parse(readFileSync(join(projectRoot, 'schemas', 'shop', 'order.v1.avsc'), 'utf8'));
const orderV1Scale3 = {
  ...orderV1,
  fields: orderV1.fields.map((f: { name: string; type: { scale?: number } }) =>
    f.name === 'total' ? { ...f, type: { ...f.type, scale: 3 } } : f,
  ),
};

function runCli(args: string[], env: Record<string, string>) {
  return promisify(execFile)(process.execPath, [join(projectRoot, 'bin', 'pipeline.js'), ...args], {
    env: { ...process.env, ...env },
  }).then(
    (done) => ({ code: 0, stdout: done.stdout, stderr: done.stderr }),
    (failure: { code: number; stdout: string; stderr: string }) => failure,
  );
}

test('schemas check and register refuse a decimal scale change that the registry itself accepts (was: "ok", and registered)', async (t) => {
  const prefix = uniqueName('scale');
  const fixture = uniqueCatalog(prefix, {
    edit: (entries) => {
      entries.find((e) => e.topic === 'shop.orders')!.schemas = ['shop/order.v1.avsc'];
    },
  });
  const scaled = uniqueCatalog(prefix, {
    files: { 'shop/order.v1s3.avsc': orderV1Scale3 },
    edit: (entries) => {
      entries.find((e) => e.topic === 'shop.orders')!.schemas = ['shop/order.v1s3.avsc'];
    },
  });
  t.teardown(() => {
    fixture.remove();
    scaled.remove();
  });
  const client = registry(t);
  await registerSchemas(fixture.catalog, client);
  const subject = `${fixture.topic('shop.orders')}-value`;

  const orders = (await checkSchemas(scaled.catalog, client)).find((c) => c.subject === subject)!;
  t.true(orders.registryCompatible, 'the registry calls the scale change compatible');
  t.false(orders.compatible);
  t.deepEqual(
    orders.problems.map((p) => [p.subject, p.fieldPath, p.writerType, p.readerType]),
    [[subject, 'total', 'decimal(14,2) (bytes)', 'decimal(14,3) (bytes)']],
  );
  t.regex(orders.problems[0]!.version, /^version \d+ \(id \d+\)$/);

  const cli = await runCli(['schemas', 'check'], { PIPELINE_SCHEMAS_DIR: scaled.dir });
  t.is(cli.code, 4, cli.stderr);
  t.regex(cli.stdout, new RegExp(`FAIL ${subject.replace(/\./g, '\\.')} .*registry: compatible`));
  t.regex(
    cli.stdout,
    /field "total": decimal\(14,2\) \(bytes\) read as decimal\(14,3\) \(bytes\): the decimal scale changes from 2 to 3/,
  );
  // Nor is it registered, although the registry would take it.
  const before = await client.versions(subject);
  const refused = await t.throwsAsync(registerSchemas(scaled.catalog, client), { instanceOf: PipelineError });
  t.is(refused.code, 'SCHEMA_INCOMPATIBLE');
  t.regex(
    refused.message,
    /order\.v1s3\.avsc was not registered: .*\n.*field "total": .*scale changes from 2 to 3/,
  );
  t.deepEqual(await client.versions(subject), before);
});

test('schemas check --offline checks the catalog versions against each other without a registry', async (t) => {
  const prefix = uniqueName('offline');
  const fixture = uniqueCatalog(prefix, {
    files: { 'shop/order.v1s3.avsc': orderV1Scale3 },
    edit: (entries) => {
      entries.find((e) => e.topic === 'shop.orders')!.schemas = [
        'shop/order.v1.avsc',
        'shop/order.v1s3.avsc',
      ];
    },
    checkVersions: false,
  });
  t.teardown(fixture.remove);
  // No registry listens there: --offline must not ask one.
  const env = { PIPELINE_SCHEMAS_DIR: fixture.dir, SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9/none' };
  const refused = await runCli(['schemas', 'check', '--offline'], env);
  t.is(refused.code, 4, refused.stderr);
  t.regex(
    refused.stdout,
    /catalog v1 \(shop\/order\.v1\.avsc\): field "total": decimal\(14,2\) \(bytes\) read as decimal\(14,3\) \(bytes\): the decimal scale changes from 2 to 3/,
  );
  t.regex(refused.stderr, /SCHEMA_INCOMPATIBLE/);
  const passed = await runCli(['schemas', 'check', '--offline'], {
    ...env,
    PIPELINE_SCHEMAS_DIR: join(projectRoot, 'schemas'),
  });
  t.is(passed.code, 0, passed.stderr);
  t.regex(passed.stdout, /ok {3}shop\.orders-value .*offline/);
});

test('register stops at the first refusal: nothing after it is registered, the error names the subject', async (t) => {
  const prefix = uniqueName('stop');
  const fixture = uniqueCatalog(prefix);
  const broken = incompatibleCatalog(prefix);
  t.teardown(() => {
    fixture.remove();
    broken.remove();
  });
  const client = registry(t);
  const orders = entryFor(fixture.catalog, fixture.topic('shop.orders'));
  for (const version of orders.versions) await client.register(orders.subject, version.schema);

  const error = await t.throwsAsync(registerSchemas(broken.catalog, client, { allVersions: true }), {
    instanceOf: PipelineError,
  });
  t.is(error.code, 'SCHEMA_INCOMPATIBLE');
  t.true(error.message.includes(orders.subject));
  t.deepEqual(await client.versions(`${fixture.topic('shop.page-views')}-value`), []);
});
