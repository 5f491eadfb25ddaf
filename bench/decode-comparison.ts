/**
 * The design's library's per-message `decode` against the consumer's `decodeBatch`, on the same page-view
 * messages in memory (no broker, no registry: both have the writer schema cached before timing). Run:
 * `node --import tsx bench/decode-comparison.ts [count]`. Prints messages per second, best of 5 runs (of 1 for the slowest).
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { MessageDecoder } from '../src/codec/message-decoder.ts';
import { encodeWireFormat } from '../src/codec/wire-format.ts';
import { entryFor, loadCatalog, parseSchema } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';

const count = Number(process.argv[2] ?? 100_000);
const BATCH = 1000;
const RUNS = 5;
const SCHEMA_ID = 1;

const entry = entryFor(loadCatalog('schemas'), 'shop.page-views');
const events = createFakeEvents(entry, { seed: 7, now: new Date('2026-01-01T00:00:00Z') }).take(count);
const messages = events.map((event) => encodeWireFormat(SCHEMA_ID, entry.reader.type.toBuffer(event)));

async function best(label: string, run: () => Promise<number>, runs = RUNS): Promise<void> {
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const decoded = await run();
    if (decoded !== count) throw new RangeError(`${label}: decoded ${decoded} of ${count}`);
    rates.push(count / ((performance.now() - started) / 1000));
  }
  console.log(`${label.padEnd(58)} ${Math.round(Math.max(...rates)).toLocaleString('en')} msg/s`);
}

// The project's path: one cached resolver per writer id, a synchronous loop per batch.
const decoder = new MessageDecoder({ schemaById: async () => entry.reader.schema as avro.Schema });
await best('project decodeBatch (batches of 1000, cached resolver)', async () => {
  let rows = 0;
  for (let start = 0; start < count; start += BATCH) {
    for (const outcome of await decoder.decodeBatch(entry, messages.slice(start, start + BATCH))) {
      if (outcome.kind === 'row') rows++;
    }
  }
  return rows;
});

// The library's path: `decode` per message, the writer schema in its cache (built with the project's
// logical types, so both return the same values).
const library = new SchemaRegistry({ host: 'http://127.0.0.1:9' });
library.cache.setSchema(SCHEMA_ID, SchemaType.AVRO, parseSchema(entry.reader.schema, 'bench') as never);
await best('library decode(buffer), writer schema = reader', async () => {
  let rows = 0;
  for (const message of messages) {
    if ((await library.decode(message)) !== undefined) rows++;
  }
  return rows;
});

// With a reader schema, as the consumer needs it (old writers resolved into the reader): the library
// parses the reader schema again for every message (so one run only: it is two orders of magnitude slower).
const readerOptions = { [SchemaType.AVRO]: { readerSchema: entry.reader.schema } };
await best(
  'library decode(buffer, { readerSchema }), 1 run',
  async () => {
    let rows = 0;
    for (const message of messages) {
      if ((await library.decode(message, readerOptions as never)) !== undefined) rows++;
    }
    return rows;
  },
  1,
);
