/**
 * Fills a topic with generated events, the setup of the replay modes (not itself measured: the producer mode
 * measures producing). Events are generated in chunks while the previous chunk is on the wire, so a million
 * events never sit in memory at once.
 */
import type { CatalogEntry } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
import type { TypedProducer } from '../src/producer/typed-producer.ts';

/** What makes two generators produce the same events: the raw COPY limit rebuilds the rows from it. */
export interface EventSeed {
  seed: number;
  now: Date;
}

export const CHUNK = 5000;

export async function produceBacklog(
  producer: TypedProducer,
  entry: CatalogEntry,
  count: number,
  seed: EventSeed,
  progress: (sent: number) => void = () => undefined,
): Promise<{ sent: number; bytes: number; ms: number }> {
  const source = createFakeEvents(entry, seed);
  const started = performance.now();
  let sent = 0;
  let bytes = 0;
  let next = source.take(Math.min(CHUNK, count));
  while (next.length > 0) {
    const sending = producer.sendUnchecked(entry.topic, undefined, next);
    const remaining = count - sent - next.length;
    next = source.take(Math.min(CHUNK, remaining));
    const result = await sending;
    sent += result.count;
    bytes += result.bytes;
    progress(sent);
  }
  return { sent, bytes, ms: performance.now() - started };
}
