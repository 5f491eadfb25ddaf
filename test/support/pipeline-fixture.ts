/**
 * A whole pipeline of its own for one integration test: the catalog's topics renamed with a unique prefix
 * (so its subjects are unique too), created in Kafka, every schema version registered, a PostgreSQL schema
 * migrated to the newest version, and a consumer group name. Tests in parallel never share anything.
 */
import type { ExecutionContext } from 'ava';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { PipelineConfig } from '../../src/config.ts';
import type { Catalog } from '../../src/contracts/catalog.ts';
import { RegistryClient } from '../../src/contracts/registry-client.ts';
import { registerSchemas } from '../../src/contracts/schema-workflow.ts';
import { createKafka } from '../../src/kafka/kafka-client.ts';
import { createTopics } from '../../src/producer/topics.ts';
import { createPool } from '../../src/sink/database.ts';
import { migrateUp } from '../../src/sink/migrations.ts';
import { quoteIdentifier } from '../../src/sink/sql-identifier.ts';
import { config as baseConfig, uniqueName } from './services.ts';
import { type RawCatalogEntry, uniqueCatalog } from './unique-catalog.ts';

export interface PipelineFixture {
  /** The services' configuration with this test's schemas folder, database schema and consumer group. */
  config: PipelineConfig;
  catalog: Catalog;
  /** The catalog topic of the example domain, renamed: `topic('shop.orders')`. */
  topic(original: string): string;
  kafka: Kafka;
  registry: RegistryClient;
  pool: pg.Pool;
  /** Environment for a `pipeline` child process that should see exactly this fixture. */
  env: NodeJS.ProcessEnv;
}

export interface FixtureOptions {
  /** Partitions of every topic (default: the catalog's). */
  partitions?: number;
  /** Skip `migrate up` (for gate tests). */
  migrate?: boolean;
  /** Extra .avsc files and catalog edits (see uniqueCatalog), e.g. a schema version the project does not have. */
  files?: Record<string, unknown>;
  edit?: (entries: RawCatalogEntry[]) => void;
  /** A migrations folder of the test's own (default: the project's). */
  migrationsDir?: string;
  /** Another Kafka than the shared one (a private broker a test may restart). */
  brokers?: string[];
}

export async function createPipelineFixture(
  t: ExecutionContext,
  options: FixtureOptions = {},
): Promise<PipelineFixture> {
  const id = uniqueName('t');
  const unique = uniqueCatalog(id, {
    ...(options.files === undefined ? {} : { files: options.files }),
    edit: (entries) => {
      options.edit?.(entries);
      if (options.partitions !== undefined)
        for (const entry of entries) entry.partitions = options.partitions;
    },
  });
  const { catalog, dir: schemasDir } = unique;

  const config: PipelineConfig = {
    ...baseConfig,
    ...(options.brokers ? { kafka: { ...baseConfig.kafka, brokers: options.brokers } } : {}),
    schemasDir,
    migrationsDir: options.migrationsDir ?? baseConfig.migrationsDir,
    database: { ...baseConfig.database, schema: id },
    consumer: { ...baseConfig.consumer, groupId: `${id}-group`, batchMaxWaitMs: 50 },
  };
  const kafka = createKafka(config.kafka, { clientId: id });
  const registry = new RegistryClient(config.registry);
  await createTopics(kafka, catalog);
  await registerSchemas(catalog, registry, { allVersions: true });
  if (options.migrate !== false) await migrateUp(config.database, { migrationsDir: config.migrationsDir });
  const pool = createPool(config.database, { max: 6, log: t.log });

  t.teardown(async () => {
    registry.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(id)} CASCADE`).catch(() => undefined);
    await pool.end();
    unique.remove();
  });

  return {
    config,
    catalog,
    topic: unique.topic,
    kafka,
    registry,
    pool,
    env: {
      ...process.env,
      KAFKA_BROKERS: config.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: config.registry.url,
      DATABASE_URL: config.database.connectionString,
      DATABASE_SCHEMA: id,
      PIPELINE_SCHEMAS_DIR: schemasDir,
      PIPELINE_MIGRATIONS_DIR: config.migrationsDir,
      CONSUMER_GROUP_ID: config.consumer.groupId,
      CONSUMER_BATCH_MAX_WAIT_MS: '50',
    },
  };
}
