/**
 * The start-up gate on the database side: before a message is consumed, the tables must have the shape the
 * reader schemas map to (column-types.ts) and every migration must be applied. Every problem is collected,
 * so that one run names them all.
 */
import type pg from 'pg';
import type { Catalog, CatalogEntry } from '../contracts/catalog.ts';
import { PipelineError, TransientError } from '../errors.ts';
import { type ColumnSpec, fieldColumns, INGESTED_AT_COLUMN, METADATA_COLUMNS } from './column-types.ts';
import { classifyDatabaseError } from './database.ts';
import { listMigrationFiles, readAppliedMigrations } from './migrations.ts';
import { quoteIdentifier } from './sql-identifier.ts';

export type DatabaseContractProblemKind =
  | 'schema-missing'
  | 'migration-pending'
  | 'migration-unknown'
  | 'table-missing'
  | 'column-missing'
  | 'column-type'
  | 'column-nullability'
  | 'column-unexpected'
  | 'enum-check'
  | 'primary-key';

export interface DatabaseContractProblem {
  kind: DatabaseContractProblemKind;
  /** What is wrong: a migration name, `table` or `table.column`. */
  subject: string;
  expected?: string;
  found?: string;
  /** One line for people, naming the subject, expected and found. */
  message: string;
}

/** A column as PostgreSQL has it. */
export interface ColumnRow {
  table: string;
  column: string;
  /** As `format_type()` prints it, comparable with ColumnSpec.pgType. */
  type: string;
  not_null: boolean;
  has_default: boolean;
}

/** A CHECK constraint on one column (one that reads several columns decides per row, not per value). */
export interface CheckRow {
  table: string;
  column: string;
  name: string;
  /** As `pg_get_constraintdef()` prints it: `CHECK (…)`, valid SQL to create it again. */
  definition: string;
  /** The bare expression (`pg_get_expr`), which the gate evaluates for each enum symbol. */
  expression: string;
}

/** What a table is in the database: the facts the gate compares and a migration draft starts from. */
export interface TableShape {
  table: string;
  /** In column order. */
  columns: ColumnRow[];
  checks: CheckRow[];
  primaryKey: string[] | undefined;
}

/** Columns the pipeline's own tables must have (their migrations are the first two). */
const BOOKKEEPING: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  pipeline_offsets: {
    consumer_group: 'text',
    topic: 'text',
    partition: 'integer',
    next_offset: 'bigint',
    updated_at: 'timestamp with time zone',
  },
  dead_letters: {
    id: 'bigint',
    consumer_group: 'text',
    topic: 'text',
    partition: 'integer',
    offset: 'bigint',
    key: 'bytea',
    value: 'bytea',
    header_keys: 'bytea[]',
    header_values: 'bytea[]',
    schema_id: 'integer',
    error_class: 'text',
    sql_state: 'text',
    message: 'text',
    failed_at: 'timestamp with time zone',
    kafka_timestamp: 'timestamp with time zone',
  },
};

const COLUMNS_SQL = `
  SELECT c.relname::text AS table, a.attname::text AS column, format_type(a.atttypid, a.atttypmod) AS type,
         a.attnotnull AS not_null, (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
   WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
     AND c.relname = ANY($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped
   ORDER BY c.relname, a.attnum`;

const PRIMARY_KEYS_SQL = `
  SELECT c.relname::text AS table, array_agg(a.attname::text ORDER BY k.ord) AS columns
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
   WHERE i.indisprimary AND c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1::text[])
   GROUP BY c.relname`;

/**
 * CHECK constraints on one column only: those can be evaluated for a value of that column alone. (One that
 * also reads other columns decides per row, not per symbol; the writer's refusals of it are dead letters.)
 */
const CHECKS_SQL = `
  SELECT c.relname::text AS table, a.attname::text AS column, k.conname::text AS name,
         pg_get_constraintdef(k.oid) AS definition, pg_get_expr(k.conbin, k.conrelid) AS expression
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
   WHERE k.contype = 'c' AND cardinality(k.conkey) = 1
     AND c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1::text[])
   ORDER BY k.conname`;

/** An enum column's CHECK, and the symbols it refuses (or why that could not be told). */
interface EnumCheck {
  definition: string;
  refused: string[];
  error?: string;
}

/**
 * The symbols a single-column CHECK refuses, as PostgreSQL itself decides: the constraint's expression is
 * evaluated with the column bound to each symbol (a CHECK refuses a row only when it is false, not null).
 * Matching the constraint's text instead would take `status <> 'PAID'` for a CHECK allowing PAID. The
 * expression is PostgreSQL's own deparse of a constraint in the schema being checked (CHECK expressions
 * cannot hold subqueries); the symbols are bound parameters and the column name is quoted.
 */
async function evaluateEnumCheck(
  pool: pg.Pool,
  check: CheckRow,
  column: ColumnSpec,
  symbols: readonly string[],
): Promise<EnumCheck> {
  const sql = `
    SELECT symbol FROM unnest($1::text[]) WITH ORDINALITY AS symbols(symbol, n)
     WHERE (SELECT (${check.expression}) IS FALSE
              FROM (SELECT symbols.symbol::${column.pgType} AS ${quoteIdentifier(check.column)}) AS probe)
     ORDER BY n`;
  try {
    const { rows } = await pool.query<{ symbol: string }>(sql, [symbols]);
    return { definition: check.definition, refused: rows.map((r) => r.symbol) };
  } catch (error) {
    // The expression fails for some symbol (a cast, a function raising): an insert of it would fail too.
    const classified = classifyDatabaseError(error);
    if (classified instanceof TransientError || classified.code === 'TLS_CERTIFICATE_REJECTED')
      throw classified;
    return { definition: check.definition, refused: [], error: (error as Error).message };
  }
}

function expectedColumns(entry: CatalogEntry): ColumnSpec[] {
  return [...fieldColumns(entry.reader.type), ...METADATA_COLUMNS, INGESTED_AT_COLUMN];
}

function checkTable(
  entry: CatalogEntry,
  found: Map<string, ColumnRow>,
  primaryKey: string[] | undefined,
  checks: Map<string, EnumCheck[]>,
): DatabaseContractProblem[] {
  const problems: DatabaseContractProblem[] = [];
  const table = entry.table;
  const expected = expectedColumns(entry);
  for (const column of expected) {
    const subject = `${table}.${column.name}`;
    const row = found.get(column.name);
    if (row === undefined) {
      problems.push({
        kind: 'column-missing',
        subject,
        expected: column.pgType,
        message: `${subject}: missing (expected ${column.pgType}${column.nullable ? '' : ' NOT NULL'})`,
      });
      continue;
    }
    if (row.type !== column.pgType) {
      problems.push({
        kind: 'column-type',
        subject,
        expected: column.pgType,
        found: row.type,
        message: `${subject}: expected ${column.pgType}, found ${row.type}`,
      });
    }
    if (column.nullable && row.not_null) {
      problems.push({
        kind: 'column-nullability',
        subject,
        expected: 'nullable',
        found: 'NOT NULL',
        message: `${subject}: the schema allows null but the column is NOT NULL`,
      });
    }
    if (column === INGESTED_AT_COLUMN && !row.has_default) {
      problems.push({
        kind: 'column-type',
        subject,
        expected: 'DEFAULT now()',
        found: 'no default',
        message: `${subject}: needs a default (now()); the pipeline never writes it`,
      });
    }
    if (column.symbols !== undefined) {
      for (const { definition, refused, error } of checks.get(column.name) ?? []) {
        if (error !== undefined) {
          problems.push({
            kind: 'enum-check',
            subject,
            expected: column.symbols.join(', '),
            found: definition,
            message: `${subject}: ${definition} fails for the symbols (${error})`,
          });
        } else if (refused.length > 0) {
          problems.push({
            kind: 'enum-check',
            subject,
            expected: column.symbols.join(', '),
            found: definition,
            message: `${subject}: ${definition} refuses the symbol(s) ${refused.join(', ')}`,
          });
        }
      }
    }
  }
  const names = new Set(expected.map((c) => c.name));
  for (const row of found.values()) {
    if (!names.has(row.column) && row.not_null && !row.has_default) {
      problems.push({
        kind: 'column-unexpected',
        subject: `${table}.${row.column}`,
        found: `${row.type} NOT NULL`,
        message: `${table}.${row.column}: NOT NULL without a default and not in the reader schema: every insert fails`,
      });
    }
  }
  const wantedKey = entry.writeMode === 'upsert' ? [entry.key] : ['_kafka_partition', '_kafka_offset'];
  if (primaryKey?.join(',') !== wantedKey.join(',')) {
    problems.push({
      kind: 'primary-key',
      subject: table,
      expected: `(${wantedKey.join(', ')})`,
      found: primaryKey === undefined ? 'none' : `(${primaryKey.join(', ')})`,
      message: `${table}: primary key must be (${wantedKey.join(', ')}) for ${entry.writeMode} mode, found ${
        primaryKey === undefined ? 'none' : `(${primaryKey.join(', ')})`
      }`,
    });
  }
  return problems;
}

/**
 * Every way the database (the pool's search_path schema) differs from what the catalog and the migrations
 * folder expect: pending or unknown migrations, missing tables, columns missing or of another type
 * (numeric precision and scale included), a NOT NULL column for a nullable field, an enum CHECK refusing a
 * symbol, a wrong primary key. Empty when the pipeline can start.
 */
export async function checkDatabaseContract(
  pool: pg.Pool,
  catalog: Catalog,
  migrationsDir: string,
): Promise<DatabaseContractProblem[]> {
  const problems: DatabaseContractProblem[] = [];
  const files = await listMigrationFiles(migrationsDir);
  try {
    const { rows } = await pool.query<{ schema: string | null; search_path: string }>(
      "SELECT current_schema() AS schema, current_setting('search_path') AS search_path",
    );
    const schema = rows[0]?.schema ?? null;
    if (schema === null) {
      problems.push({
        kind: 'schema-missing',
        subject: rows[0]?.search_path ?? '',
        message: `schema ${rows[0]?.search_path} does not exist: run \`pipeline migrate up\``,
      });
    }
    const applied = schema === null ? [] : await readAppliedMigrations(pool, schema);
    const done = new Set(applied);
    const present = new Set(files);
    for (const name of files.filter((f) => !done.has(f))) {
      problems.push({
        kind: 'migration-pending',
        subject: name,
        message: `migration ${name} is not applied`,
      });
    }
    for (const name of applied.filter((a) => !present.has(a))) {
      problems.push({
        kind: 'migration-unknown',
        subject: name,
        message: `migration ${name} is applied but has no file in ${migrationsDir}: code older than the database?`,
      });
    }
    if (schema === null) return problems;

    const tables = [...Object.keys(BOOKKEEPING), ...catalog.entries.map((e) => e.table)];
    const [columns, keys, checks] = await Promise.all([
      pool.query<ColumnRow>(COLUMNS_SQL, [tables]),
      pool.query<{ table: string; columns: string[] }>(PRIMARY_KEYS_SQL, [tables]),
      pool.query<CheckRow>(CHECKS_SQL, [tables]),
    ]);
    const byTable = new Map<string, Map<string, ColumnRow>>();
    for (const row of columns.rows) {
      if (!byTable.has(row.table)) byTable.set(row.table, new Map());
      byTable.get(row.table)!.set(row.column, row);
    }
    const missingTable = (table: string) =>
      problems.push({
        kind: 'table-missing',
        subject: table,
        message: `table ${schema}.${table} does not exist`,
      });

    for (const [table, expected] of Object.entries(BOOKKEEPING)) {
      const found = byTable.get(table);
      if (found === undefined) {
        missingTable(table);
        continue;
      }
      for (const [column, type] of Object.entries(expected)) {
        const actual = found.get(column)?.type;
        if (actual !== type) {
          problems.push({
            kind: actual === undefined ? 'column-missing' : 'column-type',
            subject: `${table}.${column}`,
            expected: type,
            ...(actual === undefined ? {} : { found: actual }),
            message: `${table}.${column}: expected ${type}, found ${actual ?? 'nothing'}`,
          });
        }
      }
    }
    for (const entry of catalog.entries) {
      const found = byTable.get(entry.table);
      if (found === undefined) {
        missingTable(entry.table);
        continue;
      }
      const tableChecks = new Map<string, EnumCheck[]>();
      for (const column of expectedColumns(entry)) {
        // A column of another type is already a problem; its CHECK cannot be evaluated for a symbol.
        if (column.symbols === undefined || found.get(column.name)?.type !== column.pgType) continue;
        for (const c of checks.rows.filter((r) => r.table === entry.table && r.column === column.name)) {
          const evaluated = await evaluateEnumCheck(pool, c, column, column.symbols);
          tableChecks.set(column.name, [...(tableChecks.get(column.name) ?? []), evaluated]);
        }
      }
      const primaryKey = keys.rows.find((k) => k.table === entry.table)?.columns;
      problems.push(...checkTable(entry, found, primaryKey, tableChecks));
    }
    return problems;
  } catch (error) {
    throw classifyDatabaseError(error);
  }
}

/**
 * The shape of one table of the pool's search_path schema, read as the gate reads it; undefined when the
 * table does not exist.
 */
export async function readTableShape(pool: pg.Pool, table: string): Promise<TableShape | undefined> {
  try {
    const [columns, keys, checks] = await Promise.all([
      pool.query<ColumnRow>(COLUMNS_SQL, [[table]]),
      pool.query<{ table: string; columns: string[] }>(PRIMARY_KEYS_SQL, [[table]]),
      pool.query<CheckRow>(CHECKS_SQL, [[table]]),
    ]);
    if (columns.rows.length === 0) return undefined;
    return { table, columns: columns.rows, checks: checks.rows, primaryKey: keys.rows[0]?.columns };
  } catch (error) {
    throw classifyDatabaseError(error);
  }
}

/** The error for a list of problems: MIGRATIONS_PENDING when running migrations is the fix, else CONTRACT_MISMATCH. */
/** True when applying the migrations is the fix: one is pending, or the schema they create is missing. */
export function migrationsPending(problems: readonly DatabaseContractProblem[]): boolean {
  return problems.some((p) => p.kind === 'migration-pending' || p.kind === 'schema-missing');
}

export function databaseContractError(problems: readonly DatabaseContractProblem[]): PipelineError {
  const pending = migrationsPending(problems);
  return new PipelineError(
    pending ? 'MIGRATIONS_PENDING' : 'CONTRACT_MISMATCH',
    `the database does not match the contract${pending ? ' (run `pipeline migrate up`)' : ''}:\n  - ${problems
      .map((p) => p.message)
      .join('\n  - ')}`,
    { details: { problems: problems.length } },
  );
}

/** Throws databaseContractError listing every problem, or resolves when there is none. */
export async function assertDatabaseContract(
  pool: pg.Pool,
  catalog: Catalog,
  migrationsDir: string,
): Promise<void> {
  const problems = await checkDatabaseContract(pool, catalog, migrationsDir);
  if (problems.length > 0) throw databaseContractError(problems);
}
