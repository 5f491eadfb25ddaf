/**
 * `node --import tsx bench/upsert-ratio.ts [orders] [pageViews]`: the upsert target of `npm run bench`
 * (upsert events/s ≥ 0.6 × the raw COPY text limit) for both write strategies in ONE run, without the rest
 * of the bench: the raw COPY text limit of page views (rows pre-built, as `npm run bench` step 2), then one
 * orders backlog replayed by `pipeline consume` with `--write-strategy unnest` and `copy` (the stage table),
 * twice each, alternating. Ratios only: the machine is shared. Defaults: 100,000 orders, 50,000 page views.
 * `BENCH_PROFILE_DIR=dir`: each replay under the V8 profiler (4 ms), its drain's self time by group printed.
 */
import { loadConfig, projectRoot } from '../src/config.ts';
import { RegistryClient } from '../src/contracts/registry-client.ts';
import { createKafka } from '../src/kafka/kafka-client.ts';
import { TypedProducer } from '../src/producer/typed-producer.ts';
import { DatabaseSpace, deleteGroups, TopicSpace } from './bench-space.ts';
import { runPipelineProcess } from './pipeline-process.ts';
import { CHUNK, produceBacklog } from './produce-backlog.ts';
import { readProfileSummary } from './profile-summary.ts';
import { buildCopyBatches, measureRawCopy } from './raw-copy.ts';

const orderCount = Number(process.argv[2] ?? 100_000);
const pageViewCount = Number(process.argv[3] ?? 50_000);
const PARTITIONS = 4;
const config = loadConfig();
const kafka = createKafka(config.kafka, { clientId: 'pipeline-bench-upsert', quiet: true });
const registry = new RegistryClient(config.registry);
const runId = `bench_ups_${Date.now().toString(36)}`;
const seed = { seed: 20251128, now: new Date() };
const settingsEnv: Record<string, string> = {
  CONSUMER_BATCH_MAX_ROWS: String(config.consumer.batchMaxRows),
  CONSUMER_BATCH_MAX_WAIT_MS: String(config.consumer.batchMaxWaitMs),
  CONSUMER_PARTITION_CONCURRENCY: String(config.consumer.partitionConcurrency),
  CONSUMER_FETCH_MAX_BYTES: String(config.consumer.fetchMaxBytes),
  CONSUMER_FROM_BEGINNING: 'true',
};
const profileDir = process.env.BENCH_PROFILE_DIR;
const log = (line: string) =>
  process.stderr.write(`[upsert-ratio ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const space = await TopicSpace.create(kafka, registry, runId, PARTITIONS);
const groups: string[] = [];
try {
  const pageViews = space.entry('shop.page-views');
  const rawDb = await DatabaseSpace.create(config, `${runId}_raw`, config.consumer.partitionConcurrency + 2);
  let rawPerSecond: number;
  try {
    const batches = buildCopyBatches(pageViews, pageViewCount, seed, PARTITIONS, CHUNK).text;
    const raw = await measureRawCopy(rawDb.pool, pageViews, batches, pageViewCount, {
      format: 'text',
      connections: config.consumer.partitionConcurrency,
      batchRows: CHUNK,
      prepareMs: 0,
    });
    rawPerSecond = raw.perSecond;
  } finally {
    await rawDb.cleanup();
  }
  log(`raw COPY text limit: ${Math.round(rawPerSecond)}/s`);

  const orders = space.entry('shop.orders');
  const producer = new TypedProducer({ kafka, catalog: space.catalog, registry });
  await producer.connect();
  try {
    await produceBacklog(producer, orders, orderCount, seed);
  } finally {
    await producer.disconnect();
  }
  const tables: number[] = [];
  for (const [i, strategy] of (['unnest', 'copy', 'unnest', 'copy'] as const).entries()) {
    const db = await DatabaseSpace.create(config, `${runId}_${i}`, config.consumer.partitionConcurrency + 2);
    try {
      const groupId = `${runId}-${i}`;
      groups.push(groupId);
      const run = await runPipelineProcess({
        label: `upsert-${strategy}-${i}`,
        topic: orders.topic,
        groupId,
        database: db,
        schemasDir: space.schemasDir,
        expected: orderCount,
        writeStrategy: strategy,
        settingsEnv,
        timeoutMs: 120_000 + orderCount * 2,
        ...(profileDir === undefined ? {} : { cpuProfileDir: profileDir, cpuProfileIntervalUs: 4000 }),
      });
      tables.push(await db.count(orders.table));
      log(
        `upsert, ${strategy.padEnd(6)}: ${Math.round(run.perSecond)}/s = ${(run.perSecond / rawPerSecond).toFixed(2)} × raw COPY text, ${run.cpuMicrosPerEvent.toFixed(1)} µs CPU/event, ${tables.at(-1)} rows`,
      );
      if (run.cpuProfile !== undefined) {
        const summary = readProfileSummary(run.cpuProfile, projectRoot, run.drainWindow, 14);
        for (const g of summary.groups) log(`  ${(g.busyShare * 100).toFixed(1).padStart(5)} % ${g.group}`);
      }
    } finally {
      await db.cleanup();
    }
  }
  if (new Set(tables).size !== 1)
    throw new Error(`the replays left different row counts: ${tables.join(', ')}`);
} finally {
  await deleteGroups(kafka, groups).catch(() => undefined);
  await space.cleanup(kafka);
}
