import { loadCatalog } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
const c = loadCatalog('schemas');
const e = c.entries[0]!;
for (let r = 0; r < 3; r++) {
const src = createFakeEvents(e, { seed: 42 });
const t = performance.now();
src.take(200000);
console.log(Math.round(200000 / (performance.now() - t) * 1000));
}
