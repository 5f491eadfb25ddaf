/**
 * `node --import tsx bench/upsert-sink.ts [orders]`: the consumer's CPU per event in the sink alone for
 * upserts (writePartitionBatch: prepare, plan, statements, pg's client side), no Kafka: order events as the
 * decoder's fast path hands them over, in 5,000-message batches of one partition, written with the `copy`
 * strategy (the stage table) and with `unnest`, batch after batch alternately in one run, each into a
 * table of its own. CPU time (user + system) of this process during writePartitionBatch only. Ratios only:
 * the machine is shared. `--cpu-prof` on node's command line profiles it. Default: 100,000 orders.
 */
import { MessageDecoder } from '../src/codec/message-decoder.ts';
import { encodeWireFormat } from '../src/codec/wire-format.ts';
import { loadConfig } from '../src/config.ts';
import { entryFor, loadCatalog } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
import { type SinkMessage, writePartitionBatch } from '../src/sink/partition-writer.ts';
import type { WriteStrategy } from '../src/sink/table-writer.ts';
import { DatabaseSpace } from './bench-space.ts';

const count = Number(process.argv[2] ?? 100_000);
const BATCH = 5000;
const config = loadConfig();
const entry = entryFor(loadCatalog(config.schemasDir), 'shop.orders');
const events = createFakeEvents(entry, { seed: 11, now: new Date('2026-01-01T00:00:00Z') }).take(count);
const values = events.map((e) => encodeWireFormat(1, entry.reader.type.toBuffer(e)));
const decoder = new MessageDecoder({ schemaById: async () => entry.reader.schema as never });

/** The batch's messages as the consumer hands them to the sink; decoded anew for each strategy's batch. */
async function batch(start: number): Promise<SinkMessage[]> {
  const slice = values.slice(start, start + BATCH);
  const outcomes = await decoder.decodeBatch(entry, slice);
  return slice.map((value, i) => ({
    topic: entry.topic,
    partition: 0,
    offset: String(start + i),
    timestamp: String(Date.UTC(2026, 0, 1) + start + i),
    key: null,
    value,
    headers: [],
    outcome: outcomes[i]!,
  }));
}

const strategies: WriteStrategy[] = ['copy', 'unnest'];
const spaces = new Map<WriteStrategy, DatabaseSpace>();
const cpu = new Map<WriteStrategy, number>(strategies.map((s) => [s, 0]));
const written = new Map<WriteStrategy, number>(strategies.map((s) => [s, 0]));
try {
  for (const s of strategies)
    spaces.set(s, await DatabaseSpace.create(config, `bench_sink_${process.pid}_${s}`));
  for (let start = 0; start < count; start += BATCH) {
    for (const s of start % (2 * BATCH) === 0 ? strategies : [...strategies].reverse()) {
      const messages = await batch(start);
      const before = process.cpuUsage();
      const result = await writePartitionBatch(spaces.get(s)!.pool, {
        groupId: 'bench',
        entry,
        messages,
        writeStrategy: s,
      });
      const used = process.cpuUsage(before);
      cpu.set(s, cpu.get(s)! + used.user + used.system);
      written.set(s, written.get(s)! + result.written);
    }
  }
  const rows = await Promise.all(strategies.map((s) => spaces.get(s)!.count(entry.table)));
  if (rows[0] !== rows[1] || written.get('copy') !== written.get('unnest'))
    throw new Error(`the strategies disagree: ${rows.join(' vs ')} rows`);
  for (const s of strategies)
    console.log(
      `${s.padEnd(6)} ${(cpu.get(s)! / count).toFixed(2)} µs CPU per event in the sink (${written.get(s)} rows written, ${rows[0]} in the table)`,
    );
  console.log(`copy / unnest: ${(cpu.get('copy')! / cpu.get('unnest')!).toFixed(2)}`);
} finally {
  for (const space of spaces.values()) await space.cleanup();
}
