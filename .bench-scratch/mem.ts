// Scratch (not committed): memory breakdown of the PipelineConsumer replaying a backlog.

import { DatabaseSpace, TopicSpace } from '../bench/bench-space.ts';
import { produceBacklog } from '../bench/produce-backlog.ts';
import { MessageDecoder } from '../src/codec/message-decoder.ts';
import { loadConfig } from '../src/config.ts';
import { PipelineConsumer } from '../src/consumer/pipeline-consumer.ts';
import { RegistryClient } from '../src/contracts/registry-client.ts';
import { createKafka } from '../src/kafka/kafka-client.ts';
import { TypedProducer } from '../src/producer/typed-producer.ts';

const N = Number(process.env.N ?? 200000);
const config = loadConfig();
const kafka = createKafka(config.kafka, { quiet: true });
const registry = new RegistryClient(config.registry);
const id = `scratch_${Date.now().toString(36)}`;
const ts = await TopicSpace.create(kafka, registry, id, 4);
const db = await DatabaseSpace.create(config, id);
const entry = ts.entry('shop.page-views');
const producer = new TypedProducer({ kafka, catalog: ts.catalog, registry });
await producer.connect();
await produceBacklog(producer, entry, N, { seed: 1, now: new Date() });
await producer.disconnect();
(globalThis as { gc?: () => void }).gc?.();
const mb = (n: number) => Math.round(n / 1048576);
const pool = db.pool;
const consumer = new PipelineConsumer({
  kafka,
  pool,
  decoder: new MessageDecoder(registry),
  catalog: ts.catalog,
  settings: { ...config.consumer, groupId: `${id}-g` },
  topics: [entry.topic],
});
const t0 = performance.now();
let maxRss = 0;
const timer = setInterval(() => {
  const m = process.memoryUsage();
  maxRss = Math.max(maxRss, m.rss);
  if (process.env.VERBOSE)
    console.log(
      `${((performance.now() - t0) / 1000).toFixed(1)}s rss ${mb(m.rss)} heapUsed ${mb(m.heapUsed)} heapTotal ${mb(m.heapTotal)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}`,
    );
}, 100);
await consumer.start();
for (let i = 0; i < 600; i++) {
  if ((await db.committedMessages(`${id}-g`, entry.topic)) >= N) break;
  await new Promise((r) => setTimeout(r, 100));
}
console.log(
  `${process.execArgv.join(' ')}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s, max rss ${mb(maxRss)} MB, ${Math.round(N / ((performance.now() - t0) / 1000))}/s`,
);
clearInterval(timer);
await consumer.stop();
await db.cleanup();
await ts.cleanup(kafka);
registry.close();
