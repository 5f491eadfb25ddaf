/**
 * Where the pipeline stands, from Kafka and PostgreSQL alone (no running consumer needed): lag per
 * partition, rows per table, dead letters per cause. What `pipeline status` prints.
 */
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { kafkaErrorKind } from '../consumer/kafka-error-kind.ts';
import { type PartitionLag, readPartitionLag } from '../consumer/partition-lag.ts';
import type { CatalogEntry } from '../contracts/catalog.ts';
import { PipelineError, TransientError } from '../errors.ts';
import { classifyDatabaseError } from '../sink/database.ts';
import { quoteIdentifier } from '../sink/sql-identifier.ts';

export interface PipelineStatus {
  group: string;
  partitions: PartitionLag[];
  /** Exact row counts; null when the table does not exist (migrations not applied). */
  tables: { topic: string; table: string; rows: number | null }[];
  deadLetters: { topic: string; cause: string; sqlState: string | null; count: number }[];
}

export async function readPipelineStatus(input: {
  kafka: Kafka;
  pool: pg.Pool;
  groupId: string;
  entries: readonly CatalogEntry[];
}): Promise<PipelineStatus> {
  const { kafka, pool, groupId, entries } = input;
  const { rows: offsetsTable } = await pool
    .query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [quoteIdentifier('pipeline_offsets')])
    .catch((error: unknown) => {
      throw classifyDatabaseError(error);
    });
  if (!offsetsTable[0]!.ok) {
    throw new PipelineError(
      'MIGRATIONS_PENDING',
      'no pipeline_offsets table in DATABASE_SCHEMA: nothing was consumed here yet (run `pipeline migrate up`)',
    );
  }
  const admin = kafka.admin();
  let partitions: PartitionLag[];
  try {
    await admin.connect();
    partitions = await readPartitionLag(
      admin,
      pool,
      groupId,
      entries.map((e) => e.topic),
    );
  } catch (error) {
    if (error instanceof PipelineError || !kafkaErrorKind(error).canRetry) throw error;
    throw new TransientError(
      'BROKER_UNAVAILABLE',
      `reading the log ends: ${(error as Error)?.message ?? error}`,
      {
        cause: error,
      },
    );
  } finally {
    await admin.disconnect();
  }
  try {
    const tables: PipelineStatus['tables'] = [];
    for (const entry of entries) {
      const table = quoteIdentifier(entry.table);
      const { rows: exists } = await pool.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
        table,
      ]);
      if (!exists[0]!.ok) {
        tables.push({ topic: entry.topic, table: entry.table, rows: null });
        continue;
      }
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      tables.push({ topic: entry.topic, table: entry.table, rows: Number(rows[0]!.n) });
    }
    const { rows } = await pool.query<{
      topic: string;
      error_class: string;
      sql_state: string | null;
      n: string;
    }>(
      `SELECT topic, error_class, sql_state, count(*) AS n FROM ${quoteIdentifier('dead_letters')}
        WHERE consumer_group = $1 AND topic = ANY($2::text[]) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [groupId, entries.map((e) => e.topic)],
    );
    const deadLetters = rows.map((r) => ({
      topic: r.topic,
      cause: r.error_class,
      sqlState: r.sql_state,
      count: Number(r.n),
    }));
    return { group: groupId, partitions, tables, deadLetters };
  } catch (error) {
    throw classifyDatabaseError(error);
  }
}
