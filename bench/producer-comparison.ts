/**
 * Producing ready events: the TypedProducer (validation, Avro, Confluent wire format) against a plain JSON
 * producer of the same events with the same kafkajs settings (idempotent, acks=all, gzip, 5,000 messages per
 * request). Events are generated before timing. Bytes are the values' bytes before compression and, on the
 * local stack, the bytes the broker's log segments took (compressed batches).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CompressionTypes, type Kafka } from 'kafkajs';
import type { CatalogEntry } from '../src/contracts/catalog.ts';
import type { TypedProducer } from '../src/producer/typed-producer.ts';

export interface ProducerResult {
  format: 'avro' | 'json';
  events: number;
  ms: number;
  perSecond: number;
  /** Value bytes per event before compression (Avro: wire format, header included). */
  bytesPerEvent: number;
  /** Bytes per event in the broker's log segments (compressed record batches); undefined if not readable. */
  storedBytesPerEvent: number | undefined;
}

const BATCH = 5000;

/** bigint (timestamp-micros) has no JSON form: it goes as a string, as a JSON producer would have to. */
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Sum of a topic's `.log` segment sizes under the broker's log directory (the local stack's). */
export function storedBytes(logDir: string, topic: string): number | undefined {
  try {
    let bytes = 0;
    for (const dir of readdirSync(logDir)) {
      if (!dir.startsWith(`${topic}-`) || !/^\d+$/.test(dir.slice(topic.length + 1))) continue;
      for (const file of readdirSync(join(logDir, dir))) {
        if (file.endsWith('.log')) bytes += statSync(join(logDir, dir, file)).size;
      }
    }
    return bytes > 0 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

export async function measureAvroProducer(
  producer: TypedProducer,
  entry: CatalogEntry,
  events: readonly unknown[],
  logDir: string,
): Promise<ProducerResult> {
  const started = performance.now();
  let bytes = 0;
  for (let start = 0; start < events.length; start += BATCH) {
    bytes += (await producer.sendUnchecked(entry.topic, undefined, events.slice(start, start + BATCH))).bytes;
  }
  const ms = performance.now() - started;
  const stored = storedBytes(logDir, entry.topic);
  return {
    format: 'avro',
    events: events.length,
    ms,
    perSecond: events.length / (ms / 1000),
    bytesPerEvent: bytes / events.length,
    storedBytesPerEvent: stored === undefined ? undefined : stored / events.length,
  };
}

export async function measureJsonProducer(
  kafka: Kafka,
  topic: string,
  key: string,
  events: readonly Record<string, unknown>[],
  logDir: string,
): Promise<ProducerResult> {
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const started = performance.now();
    let bytes = 0;
    for (let start = 0; start < events.length; start += BATCH) {
      const messages = events.slice(start, start + BATCH).map((event) => {
        const value = Buffer.from(JSON.stringify(event, jsonReplacer));
        bytes += value.length;
        return { key: String(event[key]), value };
      });
      await producer.send({ topic, messages, acks: -1, compression: CompressionTypes.GZIP, timeout: 30_000 });
    }
    const ms = performance.now() - started;
    const stored = storedBytes(logDir, topic);
    return {
      format: 'json',
      events: events.length,
      ms,
      perSecond: events.length / (ms / 1000),
      bytesPerEvent: bytes / events.length,
      storedBytesPerEvent: stored === undefined ? undefined : stored / events.length,
    };
  } finally {
    await producer.disconnect();
  }
}
