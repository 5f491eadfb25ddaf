/**
 * The latency mode's consumer, in a process of its own so that the producer pacing events in the parent
 * neither shares its event loop nor its memory: a PipelineConsumer whose `onCommitted` hook records, per
 * message, commit time − Kafka CreateTime. Talks to the parent over the fork IPC channel:
 * parent → `stop`; worker → `ready`, then `result`.
 *
 * Configured like `pipeline consume`, through the environment (DATABASE_SCHEMA, CONSUMER_GROUP_ID,
 * PIPELINE_SCHEMAS_DIR, CONSUMER_BATCH_*); the topic is argv[2].
 */
import { MessageDecoder } from '../src/codec/message-decoder.ts';
import { loadConfig } from '../src/config.ts';
import { PipelineConsumer } from '../src/consumer/pipeline-consumer.ts';
import { loadCatalog } from '../src/contracts/catalog.ts';
import { RegistryClient } from '../src/contracts/registry-client.ts';
import { createKafka } from '../src/kafka/kafka-client.ts';
import { createPool } from '../src/sink/database.ts';

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; latencies: number[]; createTimes: number[]; written: number }
  | { type: 'failed'; error: string };

const topic = process.argv[2];
const send = (message: WorkerMessage) =>
  new Promise<void>((resolve) => {
    if (process.send === undefined) throw new Error('latency-worker runs only as a forked child');
    process.send(message, () => resolve());
  });

if (topic === undefined) throw new Error('usage: latency-worker.ts <topic>');
const config = loadConfig();
const catalog = loadCatalog(config.schemasDir);
const pool = createPool(config.database, {
  max: config.consumer.partitionConcurrency + 2,
  log: (line) => console.error(line),
});
const registry = new RegistryClient(config.registry);
const latencies: number[] = [];
const createTimes: number[] = [];
const consumer = new PipelineConsumer({
  kafka: createKafka(config.kafka, { quiet: true }),
  pool,
  decoder: new MessageDecoder(registry, { fastPath: config.consumer.fastPath }),
  catalog,
  settings: config.consumer,
  topics: [topic],
  onCommitted: ({ timestamps, committedAt }) => {
    for (const created of timestamps) {
      latencies.push(committedAt - created);
      createTimes.push(created);
    }
  },
});

process.on('message', (message: { type?: string }) => {
  if (message.type !== 'stop') return;
  void (async () => {
    await consumer.stop();
    await send({
      type: 'result',
      latencies,
      createTimes,
      written: consumer.counters.get(topic)?.written ?? 0,
    });
    registry.close();
    await pool.end();
    process.disconnect();
  })();
});

try {
  await consumer.start();
  await send({ type: 'ready' });
} catch (error) {
  await send({ type: 'failed', error: (error as Error).stack ?? String(error) });
  process.exitCode = 1;
  process.disconnect();
}
