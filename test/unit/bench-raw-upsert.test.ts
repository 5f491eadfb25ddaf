import { join } from 'node:path';
import test from 'ava';
import { Partitioners } from 'kafkajs';
import { buildUpsertWorkload } from '../../bench/raw-upsert.ts';
import { projectRoot } from '../../src/config.ts';
import { entryFor, loadCatalog } from '../../src/contracts/catalog.ts';
import { createFakeEvents } from '../../src/producer/fake-events.ts';
import { parseCopyTextLine } from '../../src/sink/copy-text.ts';
import { createRowMapper } from '../../src/sink/row-mapper.ts';

const orders = entryFor(loadCatalog(join(projectRoot, 'schemas')), 'shop.orders');
const seed = { seed: 7, now: new Date('2026-01-01T00:00:00Z') };
const PARTITIONS = 4;
const BATCH = 400;
const COUNT = 3000;

/** The backlog as the producer spreads it and the pipeline cuts it, from the generator directly. */
function expectedBatches() {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  const logs: { key: string; version: number }[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const event of createFakeEvents(orders, seed).take(COUNT) as Record<string, unknown>[]) {
    const key = String(event[orders.key]);
    const p = partitioner({ topic: orders.topic, partitionMetadata, message: { key, value: null } });
    logs[p]!.push({ key, version: Number(event[orders.versionField!]) });
  }
  return logs.map((log) => {
    const batches: Map<string, { version: number; offset: number }>[] = [];
    log.forEach(({ key, version }, offset) => {
      const index = Math.floor(offset / BATCH);
      batches[index] ??= new Map();
      const best = batches[index]!.get(key);
      if (best === undefined || version >= best.version) batches[index]!.set(key, { version, offset });
    });
    return batches;
  });
}

test('the upsert workload is the backlog as the pipeline sees it: partitioned by key, cut per partition, the highest version of each key per batch', (t) => {
  const work = buildUpsertWorkload(orders, COUNT, seed, PARTITIONS, BATCH);
  const mapper = createRowMapper(orders);
  const col = (name: string) => mapper.columns.findIndex((c) => c.name === name);
  const expected = expectedBatches();
  let messages = 0;
  let winners = 0;
  const keys = new Set<string>();
  t.is(work.partitions.length, PARTITIONS);
  work.partitions.forEach((batches, p) => {
    t.is(batches.length, expected[p]!.length);
    let offset = 0n;
    batches.forEach((batch, b) => {
      t.is(batch.partition, p);
      t.true(batch.messages <= BATCH);
      offset += BigInt(batch.messages);
      t.is(batch.nextOffset, offset);
      messages += batch.messages;
      winners += batch.rows.length;
      const want = expected[p]![b]!;
      t.is(batch.lines.length, batch.rows.length);
      t.is(batch.rows.length, want.size);
      batch.lines.forEach((line, i) => {
        const row = parseCopyTextLine(line.buffer, line.start, line.end);
        t.deepEqual(row, batch.rows[i]);
        const key = row[mapper.keyIndex]!;
        keys.add(key);
        const best = want.get(key);
        t.truthy(best, `key ${key} is not in batch ${b} of partition ${p}`);
        t.is(row[col(orders.versionField!)], String(best!.version));
        t.is(row[col('_kafka_partition')], String(p));
        t.is(row[col('_kafka_offset')], String(best!.offset));
      });
    });
  });
  t.is(messages, COUNT);
  t.is(work.winners, winners);
  t.is(work.keys, keys.size);
  // Some keys have versions in two batches: the table holds earlier versions when later batches come.
  t.true(winners > keys.size);
});

test("the orders insert batches hold every event once, under distinct keys, in the pipeline's batch size", (t) => {
  const work = buildUpsertWorkload(orders, COUNT, seed, PARTITIONS, BATCH);
  const mapper = createRowMapper(orders);
  const keys = new Set<string>();
  let rows = 0;
  for (const buffer of work.insertBatches) {
    const lines = buffer.toString('utf8').split('\n').slice(0, -1);
    t.true(lines.length <= BATCH);
    for (const line of lines) {
      const row = parseCopyTextLine(Buffer.from(`${line}\n`), 0, Buffer.byteLength(line) + 1);
      t.is(row.length, mapper.columns.length);
      keys.add(mapper.keyOf(row));
      rows++;
    }
  }
  t.is(rows, COUNT);
  t.is(keys.size, COUNT);
  t.true(work.keys < COUNT);
});
