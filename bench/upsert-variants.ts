/**
 * `node --import tsx bench/upsert-variants.ts [orders] [batch] [passes]`: the raw limits of the upsert record (orders) and
 * what each part of the pipeline's upsert statement costs, in ONE run, without Kafka or the pipeline:
 * - raw COPY text of every order event as a row of its own (the insert limit of the record);
 * - raw upsert limit: the pipeline's statements on pre-built, pre-deduplicated batches (bench/raw-upsert.ts);
 * - every variant of the statement on the same batches, interleaved round by round, each into its own table,
 *   then checked to leave the same table as the pipeline's statements.
 * Same seed, partitions, batch size and connection count as `npm run bench`'s upsert mode. Ratios only: the
 * machine is shared. Defaults: 50,000 orders, batches of ≤ 5,000 messages per partition (the pipeline's
 * CONSUMER_BATCH_MAX_ROWS; its fetches cut its batches of orders nearer 1,250, see bench/results).
 */
import { loadavg } from 'node:os';
import { loadConfig } from '../src/config.ts';
import { entryFor, loadCatalog } from '../src/contracts/catalog.ts';
import { DatabaseSpace } from './bench-space.ts';
import { CHUNK } from './produce-backlog.ts';
import { differingRows, measureRawCopy } from './raw-copy.ts';
import {
  buildUpsertWorkload,
  measureRawUpsert,
  measureUpsertVariants,
  upsertVariants,
} from './raw-upsert.ts';

const count = Number(process.argv[2] ?? 50_000);
const batchRows = Number(process.argv[3] ?? CHUNK);
const passes = Number(process.argv[4] ?? 3);
const PARTITIONS = 4;
const config = loadConfig();
const entry = entryFor(loadCatalog(config.schemasDir), 'shop.orders');
const connections = config.consumer.partitionConcurrency;
const runId = `bench_uv_${Date.now().toString(36)}`;
const log = (line: string) =>
  process.stderr.write(`[upsert-variants ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

log(`load average ${load()}; building ${count} orders`);
const workload = buildUpsertWorkload(
  entry,
  count,
  { seed: 20251128, now: new Date() },
  PARTITIONS,
  batchRows,
);
const transactions = workload.partitions.reduce((n, p) => n + p.length, 0);
log(
  `${workload.winners} rows in ${transactions} batches (${workload.keys} keys; ${(count / transactions).toFixed(0)} messages, ${(workload.winners / transactions).toFixed(0)} rows per batch)`,
);

const spaces: DatabaseSpace[] = [];
const space = async (name: string) => {
  const s = await DatabaseSpace.create(config, `${runId}_${name}`, PARTITIONS + 2);
  spaces.push(s);
  return s;
};
try {
  const copyDb = await space('copy');
  const copy = await measureRawCopy(copyDb.pool, entry, workload.insertBatches, count, {
    format: 'text',
    connections,
    batchRows: CHUNK,
    prepareMs: 0,
  });
  if ((await copyDb.count(entry.table)) !== count) throw new Error('raw COPY lost rows');
  log(`raw COPY text of orders: ${Math.round(copy.perSecond)} rows/s`);

  const variants = upsertVariants(entry);
  const limitDb = await space('limit');
  const limit = await measureRawUpsert(limitDb.pool, entry, workload, variants[0]!, connections);
  if ((await limitDb.count(entry.table)) !== workload.keys) throw new Error('raw upsert: wrong row count');
  log(
    `raw upsert limit: ${Math.round(limit.perSecond)} events/s (${limit.transactions} transactions, ${limit.landed} rows landed) = ${(limit.perSecond / copy.perSecond).toFixed(2)} × the raw COPY of orders`,
  );

  const dbs: DatabaseSpace[] = [];
  for (const [i] of variants.entries()) dbs.push(await space(`v${i}`));
  const timings = await measureUpsertVariants(
    dbs.map((d) => d.pool),
    entry,
    workload,
    variants,
    passes,
  );
  for (const [i, db] of dbs.entries()) {
    const rows = await db.count(entry.table);
    const differ = i === 0 ? 0 : await differingRows(db.pool, entry, dbs[0]!.schema, db.schema);
    if (rows !== workload.keys || differ !== 0)
      throw new Error(`${variants[i]!.name}: ${rows} rows, ${differ} differ from the pipeline's statements`);
  }
  console.log(
    `${count} orders, ${transactions} transactions of ≤ ${batchRows} messages on ${PARTITIONS} connections; load average ${load()} at the end`,
  );
  console.log(
    `raw COPY text of orders ${Math.round(copy.perSecond)} rows/s; raw upsert limit (pipeline statements) ${Math.round(limit.perSecond)} events/s = ${(limit.perSecond / copy.perSecond).toFixed(2)} ×`,
  );
  console.log(
    `\n${passes} passes, each from empty tables, the variants interleaved batch round by batch round`,
  );
  console.log(
    '\n| variant | events/s (interleaved) | time ÷ pipeline statements | per pass | rows returned | what changes |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const t of timings)
    console.log(
      `| ${t.variant} | ${Math.round(t.perSecond)} | ${t.timeRatio.toFixed(2)} | ${t.passRatios.map((r) => r.toFixed(2)).join('–')} | ${t.landed ?? '—'} | ${t.description} |`,
    );
  console.log('\nEvery variant left the same table as the pipeline statements (EXCEPT ALL both ways).');
} finally {
  for (const s of spaces) await s.cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
}
