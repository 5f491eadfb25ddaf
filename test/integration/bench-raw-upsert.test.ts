/**
 * The bench's raw upsert limit (bench/raw-upsert.ts) does the pipeline's work: the same orders written
 * through the sink itself (writePartitionBatch, batch by batch per partition) and through the bench's
 * pre-built batches, with the pipeline's statements and with every variant the bench measures, must leave
 * the same table; the rows the statements report written must be the rows the sink counts as written.
 */
import test from 'ava';
import { Partitioners } from 'kafkajs';
import { differingRows } from '../../bench/raw-copy.ts';
import {
  buildUpsertWorkload,
  measureRawUpsert,
  measureUpsertVariants,
  upsertVariants,
} from '../../bench/raw-upsert.ts';
import { createFakeEvents } from '../../src/producer/fake-events.ts';
import { type SinkMessage, writePartitionBatch } from '../../src/sink/partition-writer.ts';
import { migratedSchema, orders, rowMessage } from '../support/sink-fixtures.ts';

const PARTITIONS = 2;
const BATCH = 300;
const COUNT = 2000;
const seed = { seed: 11, now: new Date('2026-03-01T12:00:00Z') };

/** The same events as the producer would spread them, as the consumer would cut them. */
function sinkBatches(): SinkMessage[][][] {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  const logs: SinkMessage[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const value of createFakeEvents(orders, seed).take(COUNT) as Record<string, unknown>[]) {
    const key = String(value[orders.key]);
    const partition = partitioner({ topic: orders.topic, partitionMetadata, message: { key, value: null } });
    const log = logs[partition]!;
    log.push(rowMessage(orders, log.length, value, { partition, timestamp: String(seed.now.getTime()) }));
  }
  return logs.map((log) => {
    const batches: SinkMessage[][] = [];
    for (let i = 0; i < log.length; i += BATCH) batches.push(log.slice(i, i + BATCH));
    return batches;
  });
}

test('the raw upsert limit and every variant leave the table the sink leaves for the same orders, and count the rows it writes', async (t) => {
  const sink = await migratedSchema(t, 'bench_ups_sink');
  let written = 0;
  for (const batches of sinkBatches()) {
    for (const messages of batches) {
      written += (await writePartitionBatch(sink.pool, { groupId: 'g', entry: orders, messages })).written;
    }
  }

  const work = buildUpsertWorkload(orders, COUNT, seed, PARTITIONS, BATCH);
  t.is(work.winners, written);
  const variants = upsertVariants(orders);
  const limit = await migratedSchema(t, 'bench_ups_limit');
  const result = await measureRawUpsert(limit.pool, orders, work, variants[0]!, PARTITIONS);
  t.is(result.landed, written);
  t.is(
    result.transactions,
    work.partitions.reduce((n, p) => n + p.length, 0),
  );
  t.is(await differingRows(sink.pool, orders, sink.schema, limit.schema), 0);

  const spaces = [];
  for (const _ of variants) spaces.push(await migratedSchema(t, 'bench_ups_var'));
  const timings = await measureUpsertVariants(
    spaces.map((s) => s.pool),
    orders,
    work,
    variants,
    2,
  );
  t.is(timings.length, variants.length);
  for (const [i, timing] of timings.entries()) {
    t.is(
      await differingRows(sink.pool, orders, sink.schema, spaces[i]!.schema),
      0,
      `${timing.variant} left another table`,
    );
    if (timing.variant !== 'no RETURNING') t.is(timing.landed, written, timing.variant);
    else t.is(timing.landed, undefined);
  }
  const { rows } = await sink.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM orders');
  t.is(rows[0]!.n, work.keys);
  // Some keys had a version in an earlier batch: the guard and the conflict branch were exercised.
  t.true(written > work.keys);
});
