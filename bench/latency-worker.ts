/**
 * The latency mode's consumer, in a process of its own so that the producer pacing events in the parent
 * neither shares its event loop nor its memory: a PipelineConsumer whose observer's `committed` hook records,
 * per message, commit time − Kafka CreateTime, split in four by kafkajs' instrumentation events: until the
 * fetch that brought it began (`consumer.fetch_start`; kafkajs fetches again only when the last fetch's
 * batches are processed), that fetch until the batch was handed over (`consumer.start_batch_process`), from
 * there until the chunk's write began (decode, earlier chunks of the batch, a free connection), and the write
 * itself (BEGIN … COMMIT). Talks to the parent over the fork IPC channel: parent → `stop`; worker → `ready`, then
 * `samples` every second (what it recorded since, then forgotten), and `result` with the rest.
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

/** Per committed message, in the order committed; sent to the parent a second at a time (see `flush`). */
export interface LatencySamples {
  latencies: number[];
  createTimes: number[];
  /** Per message as `latencies`: fetch began − CreateTime, ms (NaN if not matched; may be negative). */
  fetchStartedAfter: number[];
  /** Batch handed to the consumer − CreateTime, ms (NaN if not matched). */
  fetchedAfter: number[];
  /** Write began − batch handed over, ms. */
  writeStartedAfter: number[];
  /** BEGIN … COMMIT of the message's chunk, ms. */
  writeMs: number[];
}

export type WorkerMessage =
  | { type: 'ready' }
  | ({ type: 'samples' } & LatencySamples)
  | ({ type: 'result'; written: number } & LatencySamples)
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
const emptySamples = (): LatencySamples => ({
  latencies: [],
  createTimes: [],
  fetchStartedAfter: [],
  fetchedAfter: [],
  writeStartedAfter: [],
  writeMs: [],
});
let samples = emptySamples();
/**
 * The samples so far, handed to the parent and forgotten: kept here until the end, 200,000 events' six
 * arrays grew this process' old and large-object spaces by 10–15 MB, which the steady RSS then charged to
 * the consumer.
 */
function takeSamples(): LatencySamples {
  const taken = samples;
  samples = emptySamples();
  return taken;
}
const flushTimer = setInterval(() => {
  if (samples.latencies.length > 0) void send({ type: 'samples', ...takeSamples() });
}, 1000);

/** Batches kafkajs handed over, per partition, until a commit past their last offset. */
const started = new Map<number, { at: number; fetchAt: number; first: bigint; last: bigint }[]>();
/** The last fetch begun: one broker here, and kafkajs' fetcher runs one fetch at a time. */
let fetchStartedAt = Number.NaN;
const kafka = createKafka(config.kafka, { quiet: true });
const makeConsumer = kafka.consumer.bind(kafka);
// Only the bench listens: the consumer the PipelineConsumer makes gets one instrumentation listener more.
kafka.consumer = (consumerConfig) => {
  const made = makeConsumer(consumerConfig);
  made.on(made.events.FETCH_START, ({ timestamp }) => {
    fetchStartedAt = timestamp;
  });
  made.on(made.events.START_BATCH_PROCESS, ({ timestamp, payload }) => {
    const list = started.get(payload.partition) ?? [];
    list.push({
      at: timestamp,
      fetchAt: fetchStartedAt,
      first: BigInt(payload.firstOffset),
      last: BigInt(payload.lastOffset),
    });
    started.set(payload.partition, list);
  });
  return made;
};

function batchOf(partition: number, lastCommitted: bigint): { at: number; fetchAt: number } {
  const list = started.get(partition) ?? [];
  const batch = list.find((b) => b.first <= lastCommitted && lastCommitted <= b.last);
  // Batches wholly committed are not looked at again.
  started.set(
    partition,
    list.filter((b) => b.last > lastCommitted),
  );
  return batch ?? { at: Number.NaN, fetchAt: Number.NaN };
}

const consumer = new PipelineConsumer({
  kafka,
  pool,
  decoder: new MessageDecoder(registry, { fastPath: config.consumer.fastPath }),
  catalog,
  settings: config.consumer,
  topics: [topic],
  observer: {
    committed: ({ partition, timestamps, committedAt, writeSeconds, result }) => {
      if (timestamps.length === 0 || result.nextOffset === undefined) return;
      const write = writeSeconds * 1000;
      const writeStart = committedAt - write;
      const batch = batchOf(partition, BigInt(result.nextOffset) - 1n);
      for (const created of timestamps) {
        samples.latencies.push(committedAt - created);
        samples.createTimes.push(created);
        samples.fetchStartedAfter.push(batch.fetchAt - created);
        samples.fetchedAfter.push(batch.at - created);
        samples.writeStartedAfter.push(writeStart - batch.at);
        samples.writeMs.push(write);
      }
    },
  },
});

process.on('message', (message: { type?: string }) => {
  if (message.type !== 'stop') return;
  void (async () => {
    await consumer.stop();
    clearInterval(flushTimer);
    await send({
      type: 'result',
      ...takeSamples(),
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
  clearInterval(flushTimer);
  process.exitCode = 1;
  process.disconnect();
}
