/**
 * Creates the catalog's topics. Idempotent: a topic that exists is left as it is (its partition count is
 * reported, since Kafka can only grow it and a different count changes which partition a key lands on).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import type { Catalog } from '../contracts/catalog.ts';
import { ConfigurationError, PipelineError, TransientError } from '../errors.ts';

export interface CreateTopicsOptions {
  /** Copies of each partition; 1 on the local single broker, 3 on a production cluster. Default 1. */
  replicationFactor?: number;
}

export interface TopicState {
  topic: string;
  status: 'created' | 'exists';
  /** Partitions the catalog asks for. */
  partitions: number;
  /** Partitions the topic has (differs from `partitions` only for a topic that existed before). */
  actualPartitions: number;
}

/**
 * Metadata of the topics once every partition has a leader. kafkajs' own `waitForLeaders` retries only
 * LEADER_NOT_AVAILABLE, but a broker can also answer UNKNOWN_TOPIC_OR_PARTITION for a moment after
 * CreateTopics returned (its metadata cache lags the controller; seen on a freshly started broker): ask
 * again, for a bounded time.
 */
async function settledMetadata(admin: Admin, topics: string[]): ReturnType<Admin['fetchTopicMetadata']> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics });
      const led = metadata.topics.every(
        (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
      );
      if (led || Date.now() > deadline) return metadata;
    } catch (error) {
      const type = (error as { type?: string }).type;
      const settling = type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE';
      if (!settling || Date.now() > deadline) throw error;
    }
    await delay(200);
  }
}

export async function createTopics(
  kafka: Kafka,
  catalog: Catalog,
  options: CreateTopicsOptions = {},
): Promise<TopicState[]> {
  const replicationFactor = options.replicationFactor ?? 1;
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = catalog.entries.filter((e) => !existing.has(e.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((e) => ({ topic: e.topic, numPartitions: e.partitions, replicationFactor })),
        // Waited for below, where more of the answers a settling broker gives are retried.
        waitForLeaders: false,
      });
    }
    const metadata = await settledMetadata(
      admin,
      catalog.entries.map((e) => e.topic),
    );
    const partitionsOf = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
    return catalog.entries.map((e) => ({
      topic: e.topic,
      status: existing.has(e.topic) ? 'exists' : 'created',
      partitions: e.partitions,
      actualPartitions: partitionsOf.get(e.topic) ?? 0,
    }));
  } catch (error) {
    // Already classified (a refused certificate or credentials, from the client's connect): not an outage.
    if (error instanceof PipelineError) throw error;
    // kafkajs marks the broker's refusals (replication factor above the broker count, a topic policy) as
    // not retriable: the settings need changing; anything else is the cluster being unreachable.
    const refused =
      (error as { retriable?: boolean }).retriable === false ||
      (error as Error).name === 'KafkaJSAggregateError';
    if (refused) {
      const causes = (error as { errors?: Error[] }).errors?.map((e) => e.message) ?? [
        (error as Error).message,
      ];
      throw new ConfigurationError(
        causes.map((c) => `creating topics (replication factor ${replicationFactor}): ${c}`),
        { cause: error },
      );
    }
    throw new TransientError('BROKER_UNAVAILABLE', `creating topics: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await admin.disconnect();
  }
}
