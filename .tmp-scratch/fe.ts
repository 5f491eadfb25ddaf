import { loadCatalog } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
const c = loadCatalog('schemas');
for (const e of c.entries) for (const v of e.versions) {
  const src = createFakeEvents(e, { version: v.version, seed: 42 });
  const t = performance.now();
  const evs = src.take(100000);
  const ms = performance.now() - t;
  let bad = 0; for (const ev of evs) if (!v.type.isValid(ev)) bad++;
  console.log(e.topic, v.version, Math.round(100000 / ms * 1000), 'ev/s', 'invalid', bad);
  console.log(JSON.stringify(evs.slice(0,3), (k, x) => typeof x === 'bigint' ? `${x}n` : x));
}
