/**
 * Schema references against the real registry (Confluent API): shop.Money registered under its own subject,
 * shop.refunds' schema registered with `references` to it, `schemas check` passing, events produced by the
 * TypedProducer (looked up with their references) and consumed into PostgreSQL.
 */
import test from 'ava';
import type { Refund } from '../../src/contracts/generated/events.ts';
import type { Uuid } from '../../src/contracts/logical-types.ts';
import { checkSchemas } from '../../src/contracts/schema-workflow.ts';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { quoteIdentifier } from '../../src/sink/sql-identifier.ts';
import { consumeUntilCaughtUp } from '../support/consume-until-caught-up.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';
import { config } from '../support/services.ts';

const refund = (n: number, fee: boolean): Refund => ({
  refund_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` as Uuid,
  order_id: `10000000-0000-4000-8000-${String(n).padStart(12, '0')}` as Uuid,
  amount: { amount_minor: 1000 + n, currency: 'EUR' },
  fee: fee ? { amount_minor: 30, currency: 'EUR' } : null,
  reason: `reason ${n}`,
  refunded_at: 1_767_323_045_000_000n + BigInt(n),
});

test('a schema using a referenced type registers with its reference, checks, produces and lands in PostgreSQL', async (t) => {
  const fixture = await createPipelineFixture(t);
  const { catalog, registry } = fixture;
  const money = catalog.references.find((r) => r.name === 'shop.Money')!;
  const topic = fixture.topic('shop.refunds');
  const entry = catalog.entries.find((e) => e.topic === topic)!;
  t.true(money.subject.endsWith('.shop.Money'), money.subject);

  // The registry keeps the reference beside the schema, by subject and version.
  const moneyVersion = (await registry.findSchema(money.subject, money.schema as never))!;
  t.truthy(moneyVersion);
  const latest = await registry.subjectVersion(entry.subject, 'latest');
  const expectedReferences = [{ name: 'shop.Money', subject: money.subject, version: moneyVersion.version }];
  t.deepEqual(latest.references, expectedReferences);
  const byId = await fetch(`${config.registry.url}/schemas/ids/${latest.id}`);
  t.is(byId.status, 200);
  t.deepEqual(((await byId.json()) as { references?: unknown }).references, expectedReferences);
  // Stored as written: the type by name, not inlined.
  t.regex(latest.schema, /"type":\s*"shop\.Money"/);

  const checks = await checkSchemas(catalog, registry);
  const check = checks.find((c) => c.subject === entry.subject)!;
  t.true(check.compatible, check.reasons.join('; '));
  t.true(check.compared);
  // Apicurio 3.3 answers 42201 to a compatibility check with references (Karapace checks them): the
  // level's rule is then applied locally, and the check says so.
  if (check.note === undefined) t.true(check.registryCompatible, 'the registry checked it itself');
  else t.regex(check.note, /could not check a schema with references.*checked locally/);

  const producer = new TypedProducer({ kafka: fixture.kafka, catalog, registry });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const events = Array.from({ length: 20 }, (_, n) => refund(n, n % 2 === 0));
  // The topic is renamed by the fixture; its events are the catalog's shop.refunds events.
  const sent = await producer.sendUnchecked(topic, undefined, events);
  t.is(sent.count, events.length);

  await consumeUntilCaughtUp(fixture);
  const { rows } = await fixture.pool.query<{
    refund_id: string;
    amount: { amount_minor: number; currency: string };
    fee: { amount_minor: number; currency: string } | null;
    reason: string;
  }>(
    `SELECT refund_id, amount, fee, reason FROM ${quoteIdentifier(fixture.config.database.schema)}.refunds ORDER BY refund_id`,
  );
  t.is(rows.length, events.length);
  for (const [n, row] of rows.entries()) {
    t.is(row.refund_id, events[n]!.refund_id);
    t.deepEqual(row.amount, { amount_minor: 1000 + n, currency: 'EUR' });
    t.deepEqual(row.fee, n % 2 === 0 ? { amount_minor: 30, currency: 'EUR' } : null);
    t.is(row.reason, `reason ${n}`);
  }
  const deadLetters = await fixture.pool.query(
    `SELECT count(*)::int AS n FROM ${quoteIdentifier(fixture.config.database.schema)}.dead_letters`,
  );
  t.is(deadLetters.rows[0].n, 0);
});
