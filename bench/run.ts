/**
 * `npm run bench`: every mode in one run against the configured services (the local stack by default), each
 * mode in topics, a PostgreSQL schema and a consumer group of its own, dropped after it. Results go to
 * bench/results/latest.json and latest.md; throughput is read as ratios to the raw limits of the same run,
 * since the machine is shared.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { MessageDecoder } from '../src/codec/message-decoder.ts';
import { loadConfig, projectRoot, stackDirectory } from '../src/config.ts';
import { RegistryClient } from '../src/contracts/registry-client.ts';
import { createKafka } from '../src/kafka/kafka-client.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
import { TypedProducer } from '../src/producer/typed-producer.ts';
import { parseBenchOptions } from './bench-options.ts';
import { type BenchResults, evaluateTargets, renderMarkdown } from './bench-report.ts';
import { DatabaseSpace, deleteGroups, deleteTopics, TopicSpace } from './bench-space.ts';
import { type LatencyResult, measureLatency } from './latency.ts';
import { machineInfo } from './machine-info.ts';
import { measurePerMessageBaseline } from './per-message-baseline.ts';
import { type PipelineRunResult, runPipelineProcess } from './pipeline-process.ts';
import { CHUNK, type EventSeed, produceBacklog } from './produce-backlog.ts';
import { measureAvroProducer, measureJsonProducer, type ProducerResult } from './producer-comparison.ts';
import { type ProfileSummary, readProfileSummary } from './profile-summary.ts';
import { measureRawConsume } from './raw-consume.ts';
import { buildCopyBatches, type CopyFormat, differingRows, measureRawCopy } from './raw-copy.ts';
import { buildUpsertWorkload, measureRawUpsert, type UpsertWorkload, upsertVariants } from './raw-upsert.ts';
import { parseTranscodeResults, type TranscodeResults } from './transcode-results.ts';
import { withTimeout } from './wait-until.ts';

const PAGE_VIEWS = 'shop.page-views';
const ORDERS = 'shop.orders';
const resultsDir = join(import.meta.dirname, 'results');

const log = (line: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const perSecond = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;

const options = parseBenchOptions(process.argv.slice(2), process.env);
const config = loadConfig();
/** The COPY format the pipeline writes (CONSUMER_COPY_FORMAT): its raw limit is the one it is held to. */
const PIPELINE_COPY_FORMAT: CopyFormat = config.consumer.copyFormat;
const kafka = createKafka(config.kafka, { clientId: 'pipeline-bench', quiet: true });
const registry = new RegistryClient(config.registry);
const runId = `bench_${Date.now().toString(36)}`;
const kafkaLogDir = join(stackDirectory(), 'kafka', 'data');
// Every timeout scales with the work, with a generous floor for a loaded machine: the bench always ends.
const timeoutFor = (events: number, slowestPerSecond: number) => 120_000 + (events / slowestPerSecond) * 1000;
const settingsEnv: Record<string, string> = {
  CONSUMER_BATCH_MAX_ROWS: String(config.consumer.batchMaxRows),
  CONSUMER_BATCH_MAX_WAIT_MS: String(config.consumer.batchMaxWaitMs),
  CONSUMER_PARTITION_CONCURRENCY: String(config.consumer.partitionConcurrency),
  CONSUMER_FETCH_MAX_BYTES: String(config.consumer.fetchMaxBytes),
  CONSUMER_WRITE_AHEAD: String(config.consumer.writeAhead),
  CONSUMER_COPY_FORMAT: config.consumer.copyFormat,
  CONSUMER_FROM_BEGINNING: 'true',
};
/** The defaults without the write lanes' overlap: what it buys, measured in the same run. */
const serialEnv: Record<string, string> = { ...settingsEnv, CONSUMER_WRITE_AHEAD: '0' };
/** The defaults with the other COPY format: binary against text, measured in the same run. */
const otherFormat: CopyFormat = PIPELINE_COPY_FORMAT === 'binary' ? 'text' : 'binary';
const otherFormatEnv: Record<string, string> = { ...settingsEnv, CONSUMER_COPY_FORMAT: otherFormat };
/**
 * The deployment settings tried next to the defaults: every partition of a fetch written at the same time,
 * and fetches four times the default bound (more rows per transaction bought with memory). No V8 heap
 * limit: with the fetch bound the defaults meet the memory target, and a limit close to the live set cost
 * about 1.5× the CPU (docs/performance.md).
 */
const tunedEnv: Record<string, string> = {
  ...settingsEnv,
  CONSUMER_PARTITION_CONCURRENCY: String(options.partitions),
  CONSUMER_FETCH_MAX_BYTES: String(config.consumer.fetchMaxBytes * 4),
};
const groupIds: string[] = [];
const group = (name: string) => {
  const id = `${runId}-${name}`;
  groupIds.push(id);
  return id;
};
/** Cleanups still to run, newest first, so that a failure midway leaves nothing behind. */
const cleanups: (() => Promise<void>)[] = [];
async function cleanupLast(): Promise<void> {
  const cleanup = cleanups.pop();
  if (cleanup) await cleanup();
}
async function topicSpace(name: string): Promise<TopicSpace> {
  const space = await TopicSpace.create(kafka, registry, `${runId}_${name}`, options.partitions);
  cleanups.push(() => space.cleanup(kafka));
  return space;
}
async function databaseSpace(name: string): Promise<DatabaseSpace> {
  const space = await DatabaseSpace.create(
    config,
    `${runId}_${name}`,
    config.consumer.partitionConcurrency + 2,
  );
  cleanups.push(() => space.cleanup());
  return space;
}
async function withProducer<T>(space: TopicSpace, use: (producer: TypedProducer) => Promise<T>): Promise<T> {
  const producer = new TypedProducer({ kafka, catalog: space.catalog, registry });
  await producer.connect();
  try {
    return await use(producer);
  } finally {
    await producer.disconnect();
  }
}

const profiling = options.cpuProfile
  ? { cpuProfileDir: resultsDir, cpuProfileIntervalUs: options.cpuProfileIntervalUs }
  : {};

function profileOf(result: PipelineRunResult): ProfileSummary | undefined {
  if (result.cpuProfile === undefined || !existsSync(result.cpuProfile)) return undefined;
  return readProfileSummary(result.cpuProfile, projectRoot, result.drainWindow);
}

/**
 * `npm run bench:transcode` as a child process, read back from the JSON it writes (bench/results/
 * transcode.json): the bench does not depend on that script's internals, only on its output.
 */
async function runTranscode(pageViews: number, orders: number): Promise<TranscodeResults> {
  const output = join(resultsDir, 'transcode.json');
  // Whole seconds: the script's own clock reading may round below a sub-millisecond start.
  const startedAt = Math.floor(Date.now() / 1000) * 1000;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join('bench', 'transcode.ts'), String(pageViews), String(orders)],
    { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // Both paths, best of three, for every case: generous for a loaded machine, but the bench always ends.
  const code = await withTimeout(
    exit,
    120_000 + (pageViews + 2 * orders) * 0.2,
    () => 'npm run bench:transcode',
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  if (code !== 0) throw new Error(`npm run bench:transcode exited with ${code}:\n${stderr}`);
  return parseTranscodeResults(JSON.parse(readFileSync(output, 'utf8')) as unknown, startedAt);
}

async function run(): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const info = await (async () => {
    const probe = await databaseSpace('probe');
    try {
      return await machineInfo(probe.pool, stackDirectory());
    } finally {
      await cleanupLast();
    }
  })();
  log(`run ${runId}: ${JSON.stringify(options)}`);
  const seed: EventSeed = { seed: 20251128, now: new Date() };
  const N = options.events;

  // The backlog every replay mode reads: N page views, once.
  const source = await topicSpace('src');
  const pageViews = source.entry(PAGE_VIEWS);
  log(`producing ${N} page views to ${pageViews.topic}`);
  let lastLog = 0;
  const backlog = await withProducer(source, (producer) =>
    produceBacklog(producer, pageViews, N, seed, (sent) => {
      if (sent - lastLog >= 100_000) {
        lastLog = sent;
        log(`  ${sent} produced`);
      }
    }),
  );
  log(`backlog: ${backlog.sent} events in ${(backlog.ms / 1000).toFixed(1)} s`);

  log('1. raw consume limit');
  const rawConsume = await measureRawConsume(
    kafka,
    pageViews.topic,
    group('raw'),
    N,
    config.consumer,
    timeoutFor(N, 2_000),
  );
  log(`   ${perSecond(rawConsume.perSecond)}`);

  // Text, then binary, of the same rows; each table stays until both are compared.
  log('2. raw COPY limits: building the rows as COPY text and as binary COPY');
  const prepareStarted = performance.now();
  const built = buildCopyBatches(pageViews, N, seed, options.partitions, CHUNK);
  const prepareMs = performance.now() - prepareStarted;
  const rawCopyLimit = async (format: CopyFormat, step: string) => {
    log(`${step} raw COPY ${format} limit`);
    const batches = built[format];
    const db = await databaseSpace(`raw${format}`);
    const result = await measureRawCopy(db.pool, pageViews, batches, N, {
      format,
      connections: config.consumer.partitionConcurrency,
      batchRows: CHUNK,
      prepareMs,
    });
    batches.length = 0;
    const copied = await db.count(pageViews.table);
    if (copied !== N) throw new Error(`raw COPY ${format} wrote ${copied} rows, not ${N}`);
    log(`   ${perSecond(result.perSecond)}`);
    return { result, db };
  };
  const text = await rawCopyLimit('text', '2.');
  const binary = await rawCopyLimit('binary', '2b.');
  const rawCopy = text.result;
  const rawCopyBinary = binary.result;
  const binaryDiffers = await differingRows(text.db.pool, pageViews, text.db.schema, binary.db.schema);
  if (binaryDiffers !== 0)
    throw new Error(`binary COPY and COPY text wrote different tables: ${binaryDiffers} rows differ`);
  log('   binary and text tables are identical');
  await cleanupLast();
  await cleanupLast();

  const replay = async (
    label: string,
    writeStrategy: 'copy' | 'unnest',
    env: Record<string, string> = settingsEnv,
    nodeFlags: string[] = [],
    profiled = true,
  ) => {
    log(`3. pipeline, insert mode, ${label}`);
    const db = await databaseSpace(label);
    const result = await runPipelineProcess({
      label,
      topic: pageViews.topic,
      groupId: group(label),
      database: db,
      schemasDir: source.schemasDir,
      expected: N,
      writeStrategy,
      settingsEnv: env,
      nodeFlags,
      timeoutMs: timeoutFor(N, 1_000),
      ...(profiled ? profiling : {}),
    });
    const rows = await db.count(pageViews.table);
    if (rows !== N) throw new Error(`pipeline ${label} wrote ${rows} rows, not ${N}`);
    await cleanupLast();
    log(
      `   ${perSecond(result.perSecond)}, ${result.cpuMicrosPerEvent.toFixed(1)} µs CPU/event, peak RSS ${Math.round(result.peakRssMb)} MB`,
    );
    return result;
  };
  // The figures of the default mode come from a run without the profiler; its profile from a second run
  // (whose CPU per event, next to the first, is what the profiler costs).
  const pipelineCopy = await replay('copy', 'copy', settingsEnv, [], false);
  const pipelineCopyProfiled = options.cpuProfile ? await replay('copyprof', 'copy') : undefined;
  const pipelineSerial = await replay('copyserial', 'copy', serialEnv, [], false);
  const pipelineOtherFormat = await replay(`copy${otherFormat}`, 'copy', otherFormatEnv, [], false);
  const pipelineUnnest = await replay('unnest', 'unnest');
  const pipelineTuned = await replay('copytuned', 'copy', tunedEnv);

  log(`4. baseline: one INSERT per message, ${options.baselineEvents} events`);
  const baselineDb = await databaseSpace('baseline');
  const baseline = await measurePerMessageBaseline(
    kafka,
    baselineDb.pool,
    new MessageDecoder(registry),
    pageViews,
    group('baseline'),
    Math.min(options.baselineEvents, N),
    timeoutFor(options.baselineEvents, 50),
  );
  await cleanupLast();
  log(`   ${perSecond(baseline.perSecond)}`);
  await cleanupLast(); // the backlog's topics

  log(`3b. pipeline, upsert mode, ${options.upsertEvents} orders`);
  const upsertTopics = await topicSpace('ups');
  const orders = upsertTopics.entry(ORDERS);
  await withProducer(upsertTopics, (producer) =>
    produceBacklog(producer, orders, options.upsertEvents, seed),
  );
  const upsertDb = await databaseSpace('upsert');
  const upsertRun = await runPipelineProcess({
    label: 'upsert',
    topic: orders.topic,
    groupId: group('upsert'),
    database: upsertDb,
    schemasDir: upsertTopics.schemasDir,
    expected: options.upsertEvents,
    settingsEnv,
    timeoutMs: timeoutFor(options.upsertEvents, 500),
    ...profiling,
  });
  const upsert = {
    ...upsertRun,
    rows: await upsertDb.count(orders.table),
    transactions: await upsertDb.offsetUpdates(),
  };
  await cleanupLast();
  await cleanupLast();
  log(
    `   ${perSecond(upsert.perSecond)}, ${upsert.rows} rows, ${upsert.cpuMicrosPerEvent.toFixed(1)} µs CPU/event, peak RSS ${Math.round(upsert.peakRssMb)} MB, ${upsert.transactions} transactions`,
  );

  // The same orders, rows pre-built: what PostgreSQL can do with this record, inserted and upserted.
  log('3c. raw limits of orders: COPY text (every event a row), upsert (the pipeline statements)');
  const upsertWork = buildUpsertWorkload(orders, options.upsertEvents, seed, options.partitions, CHUNK);
  const rawCopyOrders = await (async () => {
    const db = await databaseSpace('rawcopyorders');
    const result = await measureRawCopy(db.pool, orders, upsertWork.insertBatches, options.upsertEvents, {
      format: 'text',
      connections: config.consumer.partitionConcurrency,
      batchRows: CHUNK,
      prepareMs: 0,
    });
    const copied = await db.count(orders.table);
    if (copied !== options.upsertEvents) throw new Error(`raw COPY of orders wrote ${copied} rows`);
    await cleanupLast();
    return result;
  })();
  log(`   COPY text: ${perSecond(rawCopyOrders.perSecond)}`);
  const rawUpsertAt = async (work: UpsertWorkload, name: string) => {
    const db = await databaseSpace(name);
    const result = await measureRawUpsert(
      db.pool,
      orders,
      work,
      upsertVariants(orders)[0]!,
      config.consumer.partitionConcurrency,
    );
    // Same events, same keys: the table the pipeline left.
    const rows = await db.count(orders.table);
    if (rows !== work.keys || rows !== upsert.rows)
      throw new Error(`raw upsert left ${rows} rows, the pipeline ${upsert.rows} (${work.keys} keys)`);
    await cleanupLast();
    log(`   upsert, ${work.batchRows}-message batches: ${perSecond(result.perSecond)}`);
    return result;
  };
  const rawUpsert = await rawUpsertAt(upsertWork, 'rawupsert');
  // The pipeline's transactions are cut by its fetches too: the same work at its own mean batch.
  const pipelineBatch = Math.round(options.upsertEvents / Math.max(1, upsert.transactions));
  const rawUpsertPipelineBatch =
    upsert.transactions > 0 && Math.abs(pipelineBatch - CHUNK) > CHUNK / 10
      ? await rawUpsertAt(
          buildUpsertWorkload(orders, options.upsertEvents, seed, options.partitions, pipelineBatch),
          'rawupsertchunk',
        )
      : undefined;

  const latency: LatencyResult[] = [];
  const fastest = Math.max(...options.latencyRates);
  const latencyRuns = [
    ...options.latencyRates.map((r) => ({ label: 'default', ratePerSecond: r, env: settingsEnv })),
    { label: 'tuned', ratePerSecond: fastest, env: tunedEnv },
  ];
  for (const { label, ratePerSecond, env } of latencyRuns) {
    log(`5. latency at ${ratePerSecond} events/s for ${options.latencySeconds} s, ${label} settings`);
    const name = `lat${ratePerSecond}${label}`;
    const topics = await topicSpace(name);
    const db = await databaseSpace(name);
    const result = await withProducer(topics, (producer) =>
      measureLatency({
        entry: topics.entry(PAGE_VIEWS),
        database: db,
        label,
        groupId: group(name),
        schemasDir: topics.schemasDir,
        producer,
        ratePerSecond,
        warmupSeconds: options.quick ? 2 : 3,
        seconds: options.latencySeconds,
        settingsEnv: env,
      }),
    );
    await cleanupLast();
    await cleanupLast();
    latency.push(result);
    const l = result.latencyMs;
    log(`   p50 ${l.p50} ms, p99 ${l.p99} ms, p99.9 ${l.p999} ms, max ${l.max} ms`);
  }

  log(`7. producers: ${options.producerEvents} events, Avro vs JSON`);
  const producerTopics = await topicSpace('prod');
  const jsonTopic = `${runId}_prod.json`;
  cleanups.push(() => deleteTopics(kafka, [jsonTopic]));
  {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: jsonTopic, numPartitions: options.partitions, replicationFactor: 1 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
  }
  const producerEntry = producerTopics.entry(PAGE_VIEWS);
  const ready = createFakeEvents(producerEntry, seed).take(options.producerEvents) as Record<
    string,
    unknown
  >[];
  const producers: ProducerResult[] = [];
  producers.push(
    await withProducer(producerTopics, (producer) =>
      measureAvroProducer(producer, producerEntry, ready, kafkaLogDir),
    ),
  );
  producers.push(await measureJsonProducer(kafka, jsonTopic, producerEntry.key, ready, kafkaLogDir));
  await cleanupLast();
  await cleanupLast();
  for (const p of producers)
    log(`   ${p.format}: ${perSecond(p.perSecond)}, ${p.bytesPerEvent.toFixed(1)} B/event`);

  let transcode: TranscodeResults | undefined;
  if (options.transcodePageViews > 0) {
    log(
      `8. transcode: ${options.transcodePageViews} page views, ${options.transcodeOrders} orders (npm run bench:transcode)`,
    );
    transcode = await runTranscode(options.transcodePageViews, options.transcodeOrders);
    log(`   page views: ${transcode.pageViewFastMicros} µs/row on the fast path`);
  }

  const runs = { pipelineCopyProfiled, pipelineUnnest, pipelineTuned, upsert };
  const profiles: Record<string, ProfileSummary> = {};
  for (const [name, result] of Object.entries(runs)) {
    const summary = result === undefined ? undefined : profileOf(result);
    if (summary !== undefined) profiles[name] = summary;
  }

  const partial = {
    startedAt,
    options,
    machine: info,
    consumerSettings: settingsEnv,
    tunedSettings: tunedEnv,
    backlogProduce: { events: backlog.sent, ms: backlog.ms, bytes: backlog.bytes },
    rawConsume,
    rawCopy,
    rawCopyBinary,
    rawCopyOrders,
    rawUpsert,
    ...(rawUpsertPipelineBatch === undefined ? {} : { rawUpsertPipelineBatch }),
    pipelineCopyFormat: PIPELINE_COPY_FORMAT,
    pipelineOtherFormat: { ...pipelineOtherFormat, copyFormat: otherFormat },
    pipelineCopy,
    ...(pipelineCopyProfiled === undefined ? {} : { pipelineCopyProfiled }),
    pipelineUnnest,
    pipelineTuned,
    pipelineSerial,
    upsert,
    baseline,
    latency,
    producers,
    ...(transcode === undefined ? {} : { transcode }),
    profiles,
  };
  return {
    ...partial,
    targets: evaluateTargets(partial),
    finishedAt: new Date().toISOString(),
    loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

try {
  const results = await run();
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const markdown = renderMarkdown(results);
  writeFileSync(join(resultsDir, 'latest.md'), markdown);
  process.stdout.write(markdown);
} catch (error) {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  while (cleanups.length > 0) await cleanupLast().catch((error: unknown) => log(`cleanup: ${String(error)}`));
  await deleteGroups(kafka, groupIds).catch(() => undefined);
  registry.close();
}
