/**
 * Isolation for one benchmark mode, as test/support/pipeline-fixture.ts does for a test: a copy of the catalog
 * whose topics carry a unique prefix (so topics and registry subjects are the mode's own), and PostgreSQL
 * schemas migrated to the newest version. Everything created is dropped by `cleanup()`.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { type DatabaseSettings, type PipelineConfig, projectRoot } from '../src/config.ts';
import { type Catalog, type CatalogEntry, entryFor, loadCatalog } from '../src/contracts/catalog.ts';
import type { RegistryClient } from '../src/contracts/registry-client.ts';
import { registerSchemas } from '../src/contracts/schema-workflow.ts';
import { createTopics } from '../src/producer/topics.ts';
import { createPool } from '../src/sink/database.ts';
import { migrateUp } from '../src/sink/migrations.ts';
import { quoteIdentifier } from '../src/sink/sql-identifier.ts';
import { sleep } from './wait-until.ts';

/** Topics of a renamed catalog copy, created in Kafka, every schema version registered. */
export class TopicSpace {
  private constructor(
    readonly id: string,
    readonly schemasDir: string,
    readonly catalog: Catalog,
  ) {}

  static async create(
    kafka: Kafka,
    registry: RegistryClient,
    id: string,
    partitions: number,
  ): Promise<TopicSpace> {
    const schemasDir = mkdtempSync(join(tmpdir(), 'pipeline-bench-'));
    cpSync(join(projectRoot, 'schemas'), schemasDir, { recursive: true });
    const catalogFile = join(schemasDir, 'catalog.json');
    const raw = JSON.parse(readFileSync(catalogFile, 'utf8')) as {
      topics: { topic: string; partitions?: number }[];
    };
    for (const entry of raw.topics) {
      entry.topic = `${id}.${entry.topic}`;
      entry.partitions = partitions;
    }
    writeFileSync(catalogFile, JSON.stringify(raw, null, 2));
    const space = new TopicSpace(id, schemasDir, loadCatalog(schemasDir));
    await createTopics(kafka, space.catalog);
    await registerSchemas(space.catalog, registry, { allVersions: true });
    return space;
  }

  /** The renamed topic of a catalog topic: `topic('shop.page-views')`. */
  topic(original: string): string {
    return `${this.id}.${original}`;
  }

  entry(original: string): CatalogEntry {
    return entryFor(this.catalog, this.topic(original));
  }

  /** Deletes the topics (and any extra ones named) and the schemas folder; registry subjects stay. */
  async cleanup(kafka: Kafka, extraTopics: readonly string[] = []): Promise<void> {
    rmSync(this.schemasDir, { recursive: true, force: true });
    await deleteTopics(kafka, [...this.catalog.entries.map((e) => e.topic), ...extraTopics]);
  }
}

export async function deleteTopics(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteGroups(kafka: Kafka, groups: readonly string[]): Promise<void> {
  if (groups.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    // A group that never committed is unknown to the broker: nothing to delete, not a failure.
    await admin.deleteGroups([...groups]).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** A PostgreSQL schema of its own, migrated to the newest version, with a pool whose search_path is it. */
export class DatabaseSpace {
  private constructor(
    readonly settings: DatabaseSettings,
    readonly pool: pg.Pool,
  ) {}

  static async create(config: PipelineConfig, schema: string, poolSize = 4): Promise<DatabaseSpace> {
    const settings: DatabaseSettings = { ...config.database, schema };
    await migrateUp(settings, { migrationsDir: config.migrationsDir });
    return new DatabaseSpace(
      settings,
      createPool(settings, { max: poolSize, log: (line) => console.error(line) }),
    );
  }

  get schema(): string {
    return this.settings.schema;
  }

  /** Sum of the stored next offsets of a group on a topic: messages the pipeline has committed. */
  async committedMessages(groupId: string, topic: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      'SELECT coalesce(sum(next_offset), 0)::text AS n FROM pipeline_offsets WHERE consumer_group = $1 AND topic = $2',
      [groupId, topic],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Transactions that stored an offset in this schema (the sink updates `pipeline_offsets` once per batch
   * transaction), from PostgreSQL's statistics: the pipeline's batches as it cut them. Backends report their
   * counts when they exit, after the pipeline process did: read until two readings agree (at most `ms`).
   */
  async offsetUpdates(ms = 5000): Promise<number> {
    const read = async () => {
      const { rows } = await this.pool.query<{ n: string }>(
        "SELECT coalesce(sum(n_tup_upd), 0)::text AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'pipeline_offsets'",
        [this.schema],
      );
      return Number(rows[0]?.n ?? 0);
    };
    const deadline = performance.now() + ms;
    let last = await read();
    while (performance.now() < deadline) {
      await sleep(250);
      const now = await read();
      if (now === last && now > 0) return now;
      last = now;
    }
    return last;
  }

  async count(table: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${quoteIdentifier(table)}`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async cleanup(): Promise<void> {
    try {
      await this.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(this.schema)} CASCADE`);
    } finally {
      await this.pool.end();
    }
  }
}
