import { join } from 'node:path';
import test from 'ava';
import { projectRoot } from '../../src/config.ts';
import { entryFor, loadCatalog } from '../../src/contracts/catalog.ts';
import { createFakeEvents } from '../../src/producer/fake-events.ts';

const catalog = loadCatalog(join(projectRoot, 'schemas'));

for (const entry of catalog.entries) {
  for (const version of entry.versions) {
    test(`1000 fake ${entry.topic} v${version.version} events are valid against their schema`, (t) => {
      const source = createFakeEvents(entry, { version: version.version, seed: 7 });
      t.is(source.schema, version);
      const events = source.take(1000);
      t.is(events.length, 1000);
      const invalid = events.findIndex((e) => !version.type.isValid(e, { noUndeclaredFields: true }));
      t.is(
        invalid,
        -1,
        invalid === -1
          ? ''
          : JSON.stringify(events[invalid], (_, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      );
    });
  }
}

test('the same seed gives the same events; another seed other events', (t) => {
  const entry = entryFor(catalog, 'shop.page-views');
  const now = new Date('2026-03-01T00:00:00Z');
  const a = createFakeEvents(entry, { seed: 1, now }).take(50);
  t.deepEqual(createFakeEvents(entry, { seed: 1, now }).take(50), a);
  t.notDeepEqual(createFakeEvents(entry, { seed: 2, now }).take(50), a);
});

test('nullable fields are sometimes null, sometimes not; arrays have 1–5 items, maps 0–4 entries', (t) => {
  const views = createFakeEvents(entryFor(catalog, 'shop.page-views'), { seed: 3 }).take(2000) as {
    referrer: string | null;
    attributes: Record<string, string>;
  }[];
  const nulls = views.filter((v) => v.referrer === null).length / views.length;
  t.true(nulls > 0.12 && nulls < 0.28, String(nulls));
  t.true(views.every((v) => Object.keys(v.attributes).length <= 4));
  const orders = createFakeEvents(entryFor(catalog, 'shop.orders'), { seed: 3 }).take(2000) as {
    lines: unknown[];
  }[];
  t.true(orders.every((o) => o.lines.length >= 1 && o.lines.length <= 5));
});

test('the upsert topic gets several versions of the same key, increasing by one', (t) => {
  const entry = entryFor(catalog, 'shop.orders');
  const events = createFakeEvents(entry, { seed: 11 }).take(5000) as { order_id: string; version: number }[];
  const versions = new Map<string, number[]>();
  for (const e of events) versions.set(e.order_id, [...(versions.get(e.order_id) ?? []), e.version]);
  const multi = [...versions.values()].filter((v) => v.length > 1);
  t.true(multi.length > versions.size / 4, `${multi.length} of ${versions.size} keys have several versions`);
  for (const list of versions.values())
    t.deepEqual(
      list,
      list.map((_, i) => i + 1),
    );
});
