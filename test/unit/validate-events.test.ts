import { join } from 'node:path';
import test from 'ava';
import { projectRoot } from '../../src/config.ts';
import { entryFor, loadCatalog } from '../../src/contracts/catalog.ts';
import { PipelineError } from '../../src/errors.ts';
import { validateEvents } from '../../src/producer/validate-events.ts';

const catalog = loadCatalog(join(projectRoot, 'schemas'));
const orders = entryFor(catalog, 'shop.orders');
const target = { topic: 'shop.orders', version: 2, type: orders.reader.type };

const order = () => ({
  order_id: '0b0e7a4c-5b8a-4d2e-9f51-3a9e2b7c1d00',
  customer_id: 7,
  version: 1,
  status: 'PAID',
  currency: 'EUR',
  lines: [
    { sku: 'SKU-1', quantity: 1, unit_price: '9.99' },
    { sku: 'SKU-2', quantity: 2, unit_price: '1.50' },
  ],
  total: '12.99',
  placed_at: new Date('2026-01-01T00:00:00Z'),
  updated_at: new Date('2026-01-01T00:00:00Z'),
  coupon_code: null,
  delivery_date: '2026-01-05',
});

test('valid events pass', (t) => {
  t.notThrows(() => validateEvents(target, [order(), order()]));
});

test('the message names the topic, the event index and the nested field path', (t) => {
  const bad = order();
  bad.lines[1]!.unit_price = '1.505';
  const error = t.throws(() => validateEvents(target, [order(), order(), bad]), {
    instanceOf: PipelineError,
  });
  t.is(error.code, 'EVENT_INVALID');
  t.regex(error.message, /^shop\.orders event #2 does not match schema version 2: lines\[1\]\.unit_price: /);
  t.regex(error.message, /expected a decimal string with at most 12 digits, 2 after the point, got "1\.505"/);
  t.is(error.details.index, 2);
  t.deepEqual(error.details.fields, ['lines[1].unit_price']);
});

test('every failing field of the event is named, missing ones included', (t) => {
  const bad: Record<string, unknown> = { ...order(), status: 'LOST', delivery_date: '2026-02-30' };
  delete bad.total;
  const error = t.throws(() => validateEvents(target, [bad]), { instanceOf: PipelineError });
  t.regex(
    error.message,
    /status: expected one of PLACED, PAID, SHIPPED, DELIVERED, CANCELLED, REFUNDED, got "LOST"/,
  );
  t.regex(error.message, /total: expected .* got nothing/);
  t.regex(error.message, /delivery_date: expected null or an existing day as "YYYY-MM-DD", got "2026-02-30"/);
});

test('a misspelt field is refused rather than silently written as its default', (t) => {
  const bad: Record<string, unknown> = { ...order(), couponCode: 'SAVE10' };
  delete bad.coupon_code;
  const error = t.throws(() => validateEvents(target, [bad]), { instanceOf: PipelineError });
  t.regex(error.message, /couponCode: not a field of shop\.Order/);
});

test('map keys and array indices are told apart in the path', (t) => {
  const views = entryFor(catalog, 'shop.page-views');
  const view = {
    view_id: '0b0e7a4c-5b8a-4d2e-9f51-3a9e2b7c1d00',
    session_id: 's',
    customer_id: null,
    url: 'https://example.com',
    referrer: null,
    duration_ms: 3,
    is_bounce: false,
    viewed_at: 1n,
    attributes: { 'utm.source': 5 },
  };
  const error = t.throws(
    () => validateEvents({ topic: 'shop.page-views', version: 1, type: views.reader.type }, [view]),
    { instanceOf: PipelineError },
  );
  t.regex(error.message, /attributes\["utm\.source"\]: expected a string, got 5/);
});
