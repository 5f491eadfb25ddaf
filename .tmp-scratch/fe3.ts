import { loadCatalog } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
const c = loadCatalog('schemas');
for (const e of c.entries) {
const src = createFakeEvents(e, { seed: 42 });
src.take(5000);
for (let r = 0; r < 3; r++) {
const t = performance.now();
let n = 0; for (let i = 0; i < 40; i++) n += src.take(5000).length;
console.log(e.topic, Math.round(n / (performance.now() - t) * 1000));
}}
