import { loadConfig } from '../config.ts';
import { entryFor, loadCatalog } from '../contracts/catalog.ts';
import { RegistryClient } from '../contracts/registry-client.ts';
import { UsageError } from '../errors.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { createFakeEvents } from '../producer/fake-events.ts';
import { TokenBucket } from '../producer/token-bucket.ts';
import { type SendResult, TypedProducer } from '../producer/typed-producer.ts';
import type { Command, ParsedArgs } from './command.ts';

/** Events per send without --rate: large enough to amortise a produce request, small enough to pipeline. */
const BATCH = 5000;
const PROGRESS_EVERY_MS = 2000;

function positiveInteger(args: ParsedArgs, name: string): number | undefined {
  const raw = args.values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`--${name} must be a whole number of at least 1, not "${String(raw)}"`);
  }
  return value;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

export const produceCommand: Command = {
  usage:
    'pipeline produce --topic <topic> [--count <n>] [--rate <per-second>] [--schema-version <v>] [--seed <n>]',
  help: [
    '--topic <topic>        a topic of the catalog (schemas/catalog.json)',
    '--count <n>            events to send (default 1000)',
    '--rate <per-second>    at most this many events per second (default: as fast as possible)',
    '--schema-version <v>   the catalog version number of the schema to write with (default: the latest)',
    '--seed <n>             seed of the generator, for a reproducible sequence (default: random)',
    '',
    'Events are generated from the schema ahead of sending, validated, encoded with the registered schema id',
    '(run `pipeline schemas register` first) and sent in batches with acks=all and gzip. Progress goes to',
    'stderr every ~2 s; the last line gives count, bytes and events/s.',
  ].join('\n'),
  options: {
    topic: { type: 'string' },
    count: { type: 'string' },
    rate: { type: 'string' },
    'schema-version': { type: 'string' },
    seed: { type: 'string' },
  },
  async run(args, io) {
    const topic = args.values.topic;
    if (typeof topic !== 'string' || topic === '') throw new UsageError('--topic is required');
    const count = positiveInteger(args, 'count') ?? 1000;
    const rate = positiveInteger(args, 'rate');
    const version = positiveInteger(args, 'schema-version');
    const seed = positiveInteger(args, 'seed');

    const config = loadConfig();
    const catalog = loadCatalog(config.schemasDir);
    const source = createFakeEvents(entryFor(catalog, topic), {
      ...(version !== undefined ? { version } : {}),
      ...(seed !== undefined ? { seed } : {}),
    });
    const registry = new RegistryClient(config.registry);
    const producer = new TypedProducer({
      kafka: createKafka(config.kafka, { logger: io.log }),
      catalog,
      registry,
    });
    // With a rate, about ten sends a second keep the flow smooth instead of one burst per second.
    const batchSize = rate === undefined ? BATCH : Math.max(1, Math.min(BATCH, Math.floor(rate / 10)));
    const bucket = rate === undefined ? undefined : new TokenBucket({ ratePerSecond: rate });

    await producer.connect();
    const started = performance.now();
    let lastProgress = started;
    let sent = 0;
    let bytes = 0;
    try {
      let next = source.take(Math.min(batchSize, count));
      while (next.length > 0) {
        const batch = next;
        await bucket?.take(batch.length);
        const sending: Promise<SendResult> = producer.sendUnchecked(topic, version, batch);
        // Generate the next batch while this one is on the wire.
        const remaining = count - sent - batch.length;
        next = source.take(Math.min(batchSize, remaining));
        const result = await sending;
        sent += result.count;
        bytes += result.bytes;
        const now = performance.now();
        if (now - lastProgress >= PROGRESS_EVERY_MS) {
          io.err(`${sent}/${count} events, ${Math.round(sent / ((now - started) / 1000))} events/s`);
          lastProgress = now;
        }
      }
    } finally {
      await producer.disconnect();
      registry.close();
    }
    const seconds = (performance.now() - started) / 1000;
    io.out(
      `produced ${sent} events (${megabytes(bytes)}) to ${topic} with schema version ${source.schema.version} in ${seconds.toFixed(1)} s: ${Math.round(sent / seconds)} events/s`,
    );
  },
};
