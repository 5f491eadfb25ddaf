import test from 'ava';
import { startupContractError } from '../../src/consumer/startup-gate.ts';
import type { DatabaseContractProblem } from '../../src/sink/contract-gate.ts';

const pending: DatabaseContractProblem = {
  kind: 'migration-pending',
  subject: '20251128140400000_orders-v2',
  message: 'migration 20251128140400000_orders-v2 is not applied',
};
const schemaMissing: DatabaseContractProblem = {
  kind: 'schema-missing',
  subject: 'tenant_a',
  message: 'schema tenant_a does not exist',
};
const wrongType: DatabaseContractProblem = {
  kind: 'column-type',
  subject: 'orders.total',
  expected: 'numeric(12,2)',
  found: 'double precision',
  message: 'orders.total: expected numeric(12,2), found double precision',
};
const unreadable = 'shop.orders-value v3: the reader cannot read it (field total: decimal (bytes) vs string)';

test('no problem on either side: the consumer may start', (t) => {
  t.is(startupContractError({ database: [], registry: [] }), undefined);
});

test('database problems alone give the database error, naming every problem', (t) => {
  const error = startupContractError({ database: [wrongType], registry: [] });
  t.is(error?.code, 'CONTRACT_MISMATCH');
  t.regex(error?.message ?? '', /orders\.total: expected numeric\(12,2\), found double precision/);
});

test('registry problems alone refuse the start as a contract mismatch listing each subject', (t) => {
  const error = startupContractError({ database: [], registry: [unreadable, 'shop.page-views-value: none'] });
  t.is(error?.code, 'CONTRACT_MISMATCH');
  t.regex(error?.message ?? '', /refusing to start/);
  t.notRegex(error?.message ?? '', /migrate up/);
  t.regex(error?.message ?? '', /shop\.orders-value v3/);
  t.regex(error?.message ?? '', /shop\.page-views-value: none/);
  t.deepEqual(error?.details, { problems: 2 });
});

test('both sides are reported together; a pending migration makes it MIGRATIONS_PENDING', (t) => {
  const error = startupContractError({ database: [pending, wrongType], registry: [unreadable] });
  t.is(error?.code, 'MIGRATIONS_PENDING');
  t.regex(error?.message ?? '', /run `pipeline migrate up`/);
  for (const line of [pending.message, wrongType.message, unreadable]) t.true(error?.message.includes(line));
  t.deepEqual(error?.details, { problems: 3 });
});

test('a missing database schema with registry problems is MIGRATIONS_PENDING as without them (was: CONTRACT_MISMATCH)', (t) => {
  t.is(startupContractError({ database: [schemaMissing], registry: [] })?.code, 'MIGRATIONS_PENDING');
  t.is(
    startupContractError({ database: [schemaMissing], registry: [unreadable] })?.code,
    'MIGRATIONS_PENDING',
  );
});
