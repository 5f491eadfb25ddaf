/**
 * node-pg-migrate with the project's settings: migrations run in the configured PostgreSQL schema (created
 * if missing), recorded in `<schema>.pgmigrations`, all pending ones in one transaction, over the same
 * verified connection settings as the pipeline's pool.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import pg from 'pg';
import type { DatabaseSettings } from '../config.ts';
import { PipelineError, TransientError } from '../errors.ts';
import { classifyDatabaseError, connectionConfig } from './database.ts';
import { qualified } from './sql-identifier.ts';

/** node-pg-migrate's bookkeeping table, in the pipeline's schema. */
export const MIGRATIONS_TABLE = 'pgmigrations';

export interface MigrateOptions {
  /** Folder of the migration files (`PipelineConfig.migrationsDir`). */
  migrationsDir: string;
  /** Up: how many pending migrations to apply (default all). Down: how many to revert (default 1). */
  count?: number;
  /** Receives node-pg-migrate's progress lines. Default: silent. */
  log?: (line: string) => void;
}

export interface MigrationStatus {
  /** Applied migrations, oldest first. */
  applied: string[];
  /** Files not applied yet, in the order `up` would apply them. */
  pending: string[];
  /** Applied migrations whose file is gone (a down cannot revert them). */
  missingFiles: string[];
}

/**
 * Migration names (file names without extension) in the order node-pg-migrate runs them: by the numeric
 * prefix, files starting with `.` ignored.
 */
export async function listMigrationFiles(migrationsDir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(migrationsDir, { withFileTypes: true });
  } catch (error) {
    throw new PipelineError('MIGRATION_FAILED', `cannot read the migrations folder ${migrationsDir}`, {
      cause: error,
      details: { dir: migrationsDir },
    });
  }
  const prefix = (name: string) => Number(/^\d+/.exec(name)?.[0] ?? Number.NaN);
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .map((e) => basename(e.name, extname(e.name)))
    .sort((a, b) => prefix(a) - prefix(b) || a.localeCompare(b));
}

/** Names recorded in `<schema>.pgmigrations`, in the order they ran; empty when the table does not exist. */
export async function readAppliedMigrations(db: pg.ClientBase | pg.Pool, schema: string): Promise<string[]> {
  const table = qualified(schema, MIGRATIONS_TABLE);
  const exists = await db.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [table]);
  if (exists.rows[0]?.found === null) return [];
  const { rows } = await db.query<{ name: string }>(`SELECT name FROM ${table} ORDER BY run_on, id`);
  return rows.map((r) => r.name);
}

/**
 * One advisory lock per schema: two runners on the same schema wait for each other, runners on different
 * schemas (parallel test files, several pipelines in one database) do not.
 */
function lockValueFor(schema: string): number {
  return createHash('sha256').update(`schema-first-pipeline:${schema}`).digest().readUIntBE(0, 6);
}

async function withClient<T>(
  settings: DatabaseSettings,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(
    connectionConfig(settings, { applicationName: 'schema-first-pipeline migrate', boundedWaits: false }),
  );
  try {
    await client.connect();
    return await work(client);
  } catch (error) {
    if (error instanceof PipelineError) throw error;
    const classified = classifyDatabaseError(error);
    if (
      classified instanceof TransientError ||
      classified.code === 'CONFIG_INVALID' ||
      classified.code === 'TLS_CERTIFICATE_REJECTED'
    )
      throw classified;
    throw new PipelineError('MIGRATION_FAILED', `migration failed: ${(error as Error).message}`, {
      cause: error,
      details: { schema: settings.schema },
    });
  } finally {
    await client.end().catch(() => {});
  }
}

async function run(
  settings: DatabaseSettings,
  direction: 'up' | 'down',
  options: MigrateOptions,
): Promise<string[]> {
  const log = options.log ?? (() => {});
  // Loaded when migrations run, not with this module: `pipeline consume` reads the applied migrations through
  // here (the start-up gate) and never runs one; node-pg-migrate and its loader are ~5 MB of heap.
  const { runner } = await import('node-pg-migrate');
  return withClient(settings, async (client) => {
    const ran = await runner({
      dbClient: client,
      dir: options.migrationsDir,
      direction,
      ...(options.count === undefined ? {} : { count: options.count }),
      migrationsTable: MIGRATIONS_TABLE,
      schema: settings.schema,
      migrationsSchema: settings.schema,
      createSchema: true,
      createMigrationsSchema: true,
      singleTransaction: true,
      checkOrder: true,
      lockValue: lockValueFor(settings.schema),
      advisoryLockMode: 'wait',
      logger: { debug: log, info: log, warn: log, error: log },
    });
    return ran.map((m) => m.name);
  });
}

/** Applies pending migrations (all, or `count`); returns the names applied. */
export function migrateUp(settings: DatabaseSettings, options: MigrateOptions): Promise<string[]> {
  return run(settings, 'up', options);
}

/** Reverts the last applied migration (or the last `count`; `Infinity` for all); returns the names reverted. */
export function migrateDown(settings: DatabaseSettings, options: MigrateOptions): Promise<string[]> {
  return run(settings, 'down', { ...options, count: options.count ?? 1 });
}

/** Which migrations are applied and which are pending, from the files and `<schema>.pgmigrations`. */
export async function migrationStatus(
  settings: DatabaseSettings,
  migrationsDir: string,
): Promise<MigrationStatus> {
  const files = await listMigrationFiles(migrationsDir);
  const applied = await withClient(settings, (client) => readAppliedMigrations(client, settings.schema));
  const done = new Set(applied);
  const present = new Set(files);
  return {
    applied,
    pending: files.filter((f) => !done.has(f)),
    missingFiles: applied.filter((a) => !present.has(a)),
  };
}
