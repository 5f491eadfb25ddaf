/**
 * `pipeline migrate new --from-schema <topic>`: the table as the migrations leave it (applied to a scratch
 * schema that is dropped afterwards, or read from the configured schema), compared with the topic's reader
 * schema, written as a new migration file.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSettings } from '../config.ts';
import type { CatalogEntry } from '../contracts/catalog.ts';
import { PipelineError } from '../errors.ts';
import { readTableShape, type TableShape } from './contract-gate.ts';
import { classifyDatabaseError, createPool } from './database.ts';
import { migrationFileName, renderMigration } from './migration-render.ts';
import { listMigrationFiles, migrateUp, readAppliedMigrations } from './migrations.ts';
import { quoteIdentifier } from './sql-identifier.ts';
import { diffTable, type ReviewStep, type TableStep } from './table-diff.ts';

export interface DraftOptions {
  entry: CatalogEntry;
  migrationsDir: string;
  /** Read the table from the configured schema (every migration must be applied) instead of a scratch one. */
  fromDatabase?: boolean;
  /** The `<change>` part of the file name. Default `v<reader version>`. */
  change?: string;
  now?: Date;
  /** Where a connection that breaks outside a query is reported (see PoolOptions.log). */
  log: (line: string) => void;
}

export interface DraftResult {
  /** The file written, or undefined when the table already takes the reader schema. */
  file: string | undefined;
  steps: TableStep[];
  /** The steps left commented out for a person. */
  review: ReviewStep[];
  /** Where the table's shape came from. */
  source: string;
}

/** The table after every migration, in a schema of its own that is dropped again whatever happens. */
async function shapeFromScratch(
  settings: DatabaseSettings,
  migrationsDir: string,
  table: string,
  log: (line: string) => void,
): Promise<TableShape | undefined> {
  const scratch = { ...settings, schema: `pipeline_draft_${randomBytes(6).toString('hex')}` };
  const pool = createPool(scratch, { max: 1, applicationName: 'schema-first-pipeline migrate new', log });
  let shape: TableShape | undefined;
  try {
    await migrateUp(scratch, { migrationsDir });
    shape = await readTableShape(pool, table);
  } catch (error) {
    // Best effort after a failure: the first error is the one to report.
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(scratch.schema)} CASCADE`).catch(() => {});
    await pool.end();
    throw error;
  }
  try {
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(scratch.schema)} CASCADE`);
  } catch (error) {
    throw classifyDatabaseError(error);
  } finally {
    await pool.end();
  }
  return shape;
}

/** The table in the configured schema, refused while migrations are pending (the draft would repeat them). */
async function shapeFromDatabase(
  settings: DatabaseSettings,
  migrationsDir: string,
  table: string,
  log: (line: string) => void,
): Promise<TableShape | undefined> {
  const pool = createPool(settings, { max: 2, applicationName: 'schema-first-pipeline migrate new', log });
  try {
    const applied = new Set(await readAppliedMigrations(pool, settings.schema));
    const pending = (await listMigrationFiles(migrationsDir)).filter((f) => !applied.has(f));
    if (pending.length > 0) {
      throw new PipelineError(
        'MIGRATIONS_PENDING',
        `schema ${settings.schema} has ${pending.length} pending migration(s) (${pending.join(', ')}): run \`pipeline migrate up\` first, or draft without --from-database`,
        { details: { schema: settings.schema } },
      );
    }
    return await readTableShape(pool, table);
  } finally {
    await pool.end();
  }
}

export async function draftMigration(
  settings: DatabaseSettings,
  options: DraftOptions,
): Promise<DraftResult> {
  const { entry, migrationsDir } = options;
  const source = options.fromDatabase
    ? `the table in schema ${settings.schema}`
    : 'the table as the migrations leave it';
  const shape = options.fromDatabase
    ? await shapeFromDatabase(settings, migrationsDir, entry.table, options.log)
    : await shapeFromScratch(settings, migrationsDir, entry.table, options.log);
  const steps = diffTable(entry, shape);
  const review = steps.filter((s): s is ReviewStep => s.kind === 'review');
  if (steps.length === 0) return { file: undefined, steps, review, source };
  const existing = await listMigrationFiles(migrationsDir);
  const name = migrationFileName(
    existing,
    entry.topic,
    options.change ?? `v${entry.reader.version}`,
    options.now,
  );
  const file = join(migrationsDir, name);
  const text = renderMigration(entry, steps, { source });
  try {
    // wx: never overwrite a migration, even one written a millisecond ago.
    writeFileSync(file, text, { flag: 'wx' });
  } catch (error) {
    throw new PipelineError('MIGRATION_FAILED', `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
      details: { file },
    });
  }
  return { file, steps, review, source };
}
