/**
 * Produces catalog events: checked by TypeScript against the generated types, validated at run time
 * against the schema, encoded in the Confluent wire format with the registered schema id, keyed by the
 * catalog's key field, and sent durably (idempotent producer, acks from all in-sync replicas, gzip).
 */
import type avro from 'avsc';
import { CompressionTypes, type Kafka, type Message, type Producer } from 'kafkajs';
import { encodeWireFormat } from '../codec/wire-format.ts';
import { type Catalog, type CatalogEntry, entryFor, type SchemaVersion } from '../contracts/catalog.ts';
import type { TopicEvents, TopicEventsByVersion } from '../contracts/generated/events.ts';
import type { LocalReference } from '../contracts/schema-references.ts';
import { PipelineError, TransientError } from '../errors.ts';
import { validateEvents } from './validate-events.ts';

/** How the producer learns schema ids: a lookup, never a registration (that is `schemas register`'s job). */
export interface SchemaIdLookup {
  schemaIdOf(subject: string, schema: avro.Schema, references?: readonly LocalReference[]): Promise<number>;
}

export interface TypedProducerOptions {
  kafka: Kafka;
  catalog: Catalog;
  registry: SchemaIdLookup;
  /** Messages per produce request at most; larger sends are split. Default 5000. */
  maxBatchMessages?: number;
  /** Compression of each batch; kafkajs implements GZIP natively (others need codecs). Default GZIP. */
  compression?: CompressionTypes;
}

export interface SendOptions {
  /** Milliseconds the broker may wait for all in-sync replicas before failing the request. Default 30 000. */
  timeoutMs?: number;
}

export interface SendResult {
  count: number;
  /** Bytes of the encoded values (wire format), before compression. */
  bytes: number;
}

export class TypedProducer {
  private readonly producer: Producer;
  private readonly catalog: Catalog;
  private readonly registry: SchemaIdLookup;
  private readonly maxBatchMessages: number;
  private readonly compression: CompressionTypes;
  /** Schema ids by `topic#version`: one registry call per schema, not per message or per send. */
  private readonly schemaIds = new Map<string, Promise<number>>();

  constructor(options: TypedProducerOptions) {
    this.catalog = options.catalog;
    this.registry = options.registry;
    this.maxBatchMessages = options.maxBatchMessages ?? 5000;
    this.compression = options.compression ?? CompressionTypes.GZIP;
    // Idempotent: a retried request is not written twice, and per-partition order holds across retries.
    this.producer = options.kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (error) {
      // A refused certificate or refused credentials: raised as they are, never as an outage.
      if (error instanceof PipelineError) throw error;
      throw new TransientError(
        'BROKER_UNAVAILABLE',
        `cannot connect the producer: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }

  /** Sends events of the topic's reader (latest) schema version. */
  send<T extends keyof TopicEvents>(
    topic: T,
    events: readonly TopicEvents[T][],
    options?: SendOptions,
  ): Promise<SendResult> {
    return this.sendUnchecked(topic, undefined, events, options);
  }

  /** Sends events written with an older schema version of the topic (the catalog's version number). */
  sendVersion<T extends keyof TopicEventsByVersion, V extends keyof TopicEventsByVersion[T] & number>(
    topic: T,
    version: V,
    events: readonly TopicEventsByVersion[T][V][],
    options?: SendOptions,
  ): Promise<SendResult> {
    return this.sendUnchecked(topic, version, events, options);
  }

  /**
   * For callers that learn the topic at run time (the CLI): the same validation, encoding and sending,
   * without the compile-time check. `version` undefined means the reader version. Every event is validated
   * before the first is sent: an invalid one (EVENT_INVALID) means nothing of this call was sent.
   */
  async sendUnchecked(
    topic: string,
    version: number | undefined,
    events: readonly unknown[],
    options: SendOptions = {},
  ): Promise<SendResult> {
    const entry = entryFor(this.catalog, topic);
    const schema = this.versionOf(entry, version);
    validateEvents({ topic, version: schema.version, type: schema.type }, events);
    const schemaId = await this.schemaIdFor(entry, schema);

    let bytes = 0;
    const messages: Message[] = events.map((event) => {
      const value = encodeWireFormat(schemaId, schema.type.toBuffer(event));
      bytes += value.length;
      const key = (event as Record<string, unknown>)[entry.key];
      return { key: key === null || key === undefined ? null : String(key), value };
    });

    let sent = 0;
    try {
      for (let start = 0; start < messages.length; start += this.maxBatchMessages) {
        const batch = messages.slice(start, start + this.maxBatchMessages);
        await this.producer.send({
          topic,
          messages: batch,
          acks: -1,
          compression: this.compression,
          timeout: options.timeoutMs ?? 30_000,
        });
        sent += batch.length;
      }
    } catch (error) {
      throw new TransientError(
        'BROKER_UNAVAILABLE',
        `sending to ${topic} failed after ${sent} of ${messages.length} event(s) were acknowledged: ${(error as Error).message}`,
        { cause: error, details: { topic, acknowledged: sent } },
      );
    }
    return { count: messages.length, bytes };
  }

  private versionOf(entry: CatalogEntry, version: number | undefined): SchemaVersion {
    if (version === undefined) return entry.reader;
    const found = entry.versions.find((v) => v.version === version);
    if (found === undefined) {
      throw new PipelineError(
        'CONTRACT_MISMATCH',
        `${entry.topic} has schema versions 1 to ${entry.versions.length} in the catalog, not ${version}`,
        { details: { topic: entry.topic, version } },
      );
    }
    return found;
  }

  private schemaIdFor(entry: CatalogEntry, schema: SchemaVersion): Promise<number> {
    const cacheKey = `${entry.topic}#${schema.version}`;
    let pending = this.schemaIds.get(cacheKey);
    if (pending === undefined) {
      const lookup = this.registry.schemaIdOf(entry.subject, schema.schema, schema.references);
      pending = lookup;
      this.schemaIds.set(cacheKey, lookup);
      // A failed lookup (registry down, schema not registered yet) is asked again next time.
      lookup.catch(() => {
        if (this.schemaIds.get(cacheKey) === lookup) this.schemaIds.delete(cacheKey);
      });
    }
    return pending;
  }
}
