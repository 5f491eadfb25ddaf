/**
 * What integration tests share: the configuration of the running services and names no other test uses.
 * Each test gets its own topic, consumer group, registry subject and PostgreSQL schema.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { loadConfig, type PipelineConfig } from '../../src/config.ts';

export const config: PipelineConfig = loadConfig();

/** A name unique to this test run, safe as a topic, group, subject or SQL identifier. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export function kafkaClient(clientId = uniqueName('test')): Kafka {
  return new Kafka({ clientId, brokers: config.kafka.brokers, logLevel: logLevel.ERROR });
}

export async function createTopic(kafka: Kafka, topic: string, numPartitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

export function databasePool(): pg.Pool {
  return new pg.Pool({ connectionString: config.database.connectionString, max: 4 });
}
