// Scratch (not committed): where does the latency at 10k/s go? raw kafkajs vs PipelineConsumer.
import { spawn } from 'node:child_process';
import { DatabaseSpace, TopicSpace } from '../bench/bench-space.ts';
import { distribution } from '../bench/percentiles.ts';
import { MessageDecoder } from '../src/codec/message-decoder.ts';
import { loadConfig } from '../src/config.ts';
import { PipelineConsumer } from '../src/consumer/pipeline-consumer.ts';
import { RegistryClient } from '../src/contracts/registry-client.ts';
import { createKafka } from '../src/kafka/kafka-client.ts';

const RATE = Number(process.env.RATE ?? 10000);
const SECONDS = Number(process.env.SECONDS ?? 12);
const MODE = process.env.MODE ?? 'pipeline';
const config = loadConfig();
const kafka = createKafka(config.kafka, { quiet: true });
const registry = new RegistryClient(config.registry);
const id = `scratch_${Date.now().toString(36)}`;
const ts = await TopicSpace.create(kafka, registry, id, 4);
const db = await DatabaseSpace.create(config, id);
const entry = ts.entry('shop.page-views');
const lat: number[] = [];
const created: number[] = [];
const fetchLat: number[] = [];
const waves: number[] = [];
let stop: () => Promise<void>;
const settings = {
  ...config.consumer,
  groupId: `${id}-g`,
  batchMaxWaitMs: Number(process.env.WAIT ?? 100),
  partitionConcurrency: Number(process.env.CONC ?? 2),
};
if (MODE === 'raw') {
  const c = kafka.consumer({
    groupId: `${id}-g`,
    maxWaitTimeInMs: settings.batchMaxWaitMs,
    maxBytesPerPartition: 1 << 20,
  });
  await c.connect();
  await c.subscribe({ topic: entry.topic, fromBeginning: true });
  await c.run({
    partitionsConsumedConcurrently: settings.partitionConcurrency,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        lat.push(now - Number(m.timestamp));
        created.push(Number(m.timestamp));
      }
    },
  });
  stop = () => c.disconnect();
} else {
  const txMs: number[] = [];
  const origConnect = db.pool.connect.bind(db.pool) as () => Promise<import('pg').PoolClient>;
  (db.pool as unknown as { connect: () => Promise<unknown> }).connect = async () => {
    const t = performance.now();
    const c = await origConnect();
    const rel = c.release.bind(c);
    c.release = (e?: boolean | Error) => {
      txMs.push(performance.now() - t);
      return rel(e);
    };
    return c;
  };
  process.on('beforeExit', () => {});
  (globalThis as { txMs?: number[] }).txMs = txMs;
  const consumer = new PipelineConsumer({
    kafka,
    pool: db.pool,
    decoder: new MessageDecoder(registry),
    catalog: ts.catalog,
    settings,
    topics: [entry.topic],
    onCommitted: ({ timestamps, committedAt }) => {
      waves.push(timestamps.length);
      for (const t of timestamps) {
        lat.push(committedAt - t);
        created.push(t);
      }
    },
  });
  await consumer.start();
  stop = () => consumer.stop();
}
const started = Date.now();
const child = spawn(
  process.execPath,
  [
    'bin/pipeline.js',
    'produce',
    '--topic',
    entry.topic,
    '--count',
    String(RATE * SECONDS),
    '--rate',
    String(RATE),
  ],
  { env: { ...process.env, PIPELINE_SCHEMAS_DIR: ts.schemasDir }, stdio: 'inherit' },
);
await new Promise((r) => child.once('exit', r));
await new Promise((r) => setTimeout(r, 3000));
await stop();
const measured = lat.filter((_, i) => created[i]! >= started + 3000);
const d = distribution(measured);
const w = distribution(waves);
const tx = distribution((globalThis as { txMs?: number[] }).txMs ?? []);
console.log(`tx ms p50 ${tx.p50.toFixed(1)} p99 ${tx.p99.toFixed(1)} max ${tx.max.toFixed(1)} n ${tx.count}`);
console.log(
  `${MODE} rate ${RATE} wait ${settings.batchMaxWaitMs} conc ${settings.partitionConcurrency}: n=${d.count} p50 ${d.p50} p99 ${d.p99} p99.9 ${d.p999} max ${d.max}; chunk rows p50 ${w.p50} max ${w.max} chunks ${w.count}`,
);
await db.cleanup();
await ts.cleanup(kafka);
registry.close();
