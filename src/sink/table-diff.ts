/**
 * What a table must go through to take the rows of a new reader schema: the steps of a migration, found by
 * comparing the reader's columns (column-types.ts) with the table as it is. Steps that keep every row are
 * automatic; a step that could lose or rewrite data, or that guesses, is left to a person with the reason.
 */
import type avro from 'avsc';
import type { CatalogEntry } from '../contracts/catalog.ts';
import { type ColumnSpec, fieldColumns, INGESTED_AT_COLUMN, METADATA_COLUMNS } from './column-types.ts';
import type { CheckRow, ColumnRow, TableShape } from './contract-gate.ts';
import { defaultLiteral } from './sql-literal.ts';

/** A column to add (or create): its spec and the SQL literal of its default, if the field has one. */
export interface NewColumn {
  column: ColumnSpec;
  defaultSql?: string;
}

/** A step a migration can take without deciding anything about the data. */
export type AutomaticStep =
  | { kind: 'create-table'; columns: NewColumn[]; primaryKey: string[]; indexOn?: string }
  | { kind: 'rename-column'; from: string; to: string }
  | { kind: 'add-column'; added: NewColumn }
  /** An enum CHECK replaced by one allowing every symbol; `replaced` are the constraints dropped. */
  | { kind: 'widen-check'; column: string; symbols: readonly string[]; replaced: CheckRow[] }
  | { kind: 'add-check'; column: string; symbols: readonly string[] }
  | { kind: 'drop-not-null'; column: string }
  | { kind: 'drop-column'; column: ColumnRow }
  | { kind: 'alter-type'; column: string; from: string; to: string }
  /** PostgreSQL's default name `<table>_pkey` is assumed: the project's migrations never name it. */
  | { kind: 'replace-primary-key'; from: string[] | undefined; to: string[] };

/** A step only a person can decide: why, and the ways out (each a list of steps), all left commented out. */
export interface ReviewStep {
  kind: 'review';
  subject: string;
  reason: string;
  options: { label: string; steps: AutomaticStep[] }[];
}

export type TableStep = AutomaticStep | ReviewStep;

const METADATA = new Set([...METADATA_COLUMNS, INGESTED_AT_COLUMN].map((c) => c.name));

/** The name every migration of this project gives an enum column's CHECK (see migrations/*orders.ts). */
export function checkName(table: string, column: string): string {
  return `${table}_${column}_check`;
}

function newColumn(column: ColumnSpec, field: avro.types.Field): NewColumn {
  const value: unknown = field.defaultValue();
  // undefined: no default; null: the null branch's default, which is what a nullable column holds anyway.
  if (value === undefined || value === null) return { column };
  return { column, defaultSql: defaultLiteral(column, value) };
}

/** The columns of a table created for the entry: fields, then the pipeline's own. */
function createTable(entry: CatalogEntry): AutomaticStep {
  const fields = (entry.reader.type as avro.types.RecordType).fields;
  const columns = fieldColumns(entry.reader.type).map((c, i) => newColumn(c, fields[i]!));
  const meta = [...METADATA_COLUMNS, INGESTED_AT_COLUMN].map((column) => ({
    column,
    ...(column === INGESTED_AT_COLUMN ? { defaultSql: 'now()' } : {}),
  }));
  return entry.writeMode === 'upsert'
    ? { kind: 'create-table', columns: [...columns, ...meta], primaryKey: [entry.key] }
    : {
        kind: 'create-table',
        columns: [...columns, ...meta],
        primaryKey: ['_kafka_partition', '_kafka_offset'],
        // Tombstones delete by the catalog key.
        indexOn: entry.key,
      };
}

/** Adding a column, and its CHECK when it is an enum. */
function addSteps(added: NewColumn): AutomaticStep[] {
  const symbols = added.column.symbols;
  return [
    { kind: 'add-column', added },
    ...(symbols === undefined
      ? []
      : [{ kind: 'add-check', column: added.column.name, symbols } satisfies AutomaticStep]),
  ];
}

/** Symbols a CHECK definition (as pg_get_constraintdef prints it) does not list. */
function missingSymbols(definition: string, symbols: readonly string[]): string[] {
  return symbols.filter((s) => !definition.includes(`'${s.replaceAll("'", "''")}'`));
}

/** The string constants of a CHECK definition: the symbols of `x IN ('A', 'B')` as PostgreSQL prints it. */
function listedSymbols(definition: string): string[] {
  return [...definition.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replaceAll("''", "'"));
}

/**
 * The steps from `shape` (undefined: no table yet) to a table that takes the entry's reader schema, in the
 * order they must run: renames first (later steps use the new names), then additions, CHECKs, nullability,
 * and last what needs a person.
 */
export function diffTable(entry: CatalogEntry, shape: TableShape | undefined): TableStep[] {
  if (shape === undefined) {
    const step = createTable(entry);
    const enums = fieldColumns(entry.reader.type).filter((c) => c.symbols !== undefined);
    return [
      step,
      ...enums.map((c): AutomaticStep => ({ kind: 'add-check', column: c.name, symbols: c.symbols! })),
    ];
  }
  const fields = (entry.reader.type as avro.types.RecordType).fields;
  const expected = fieldColumns(entry.reader.type);
  const expectedNames = new Set(expected.map((c) => c.name));
  const found = new Map(shape.columns.map((c) => [c.column, c]));
  const claimed = new Set<string>();

  const renames: TableStep[] = [];
  const additions: { added: NewColumn; field: avro.types.Field }[] = [];
  const later: TableStep[] = [];
  const review: ReviewStep[] = [];

  expected.forEach((column, i) => {
    const field = fields[i]!;
    const subject = `${entry.table}.${column.name}`;
    let row = found.get(column.name);
    if (row === undefined) {
      const aliases = (field.aliases ?? []).filter(
        (a) => found.has(a) && !expectedNames.has(a) && !claimed.has(a) && !METADATA.has(a),
      );
      if (aliases.length > 1) {
        review.push({
          kind: 'review',
          subject,
          reason: `several aliases of ${column.name} are columns (${aliases.join(', ')}): which one holds its data?`,
          options: aliases.map((a) => ({
            label: `rename ${a}`,
            steps: [{ kind: 'rename-column', from: a, to: column.name }],
          })),
        });
        for (const a of aliases) claimed.add(a);
        return;
      }
      if (aliases.length === 0) {
        additions.push({ added: newColumn(column, field), field });
        return;
      }
      const alias = aliases[0]!;
      renames.push({ kind: 'rename-column', from: alias, to: column.name });
      row = found.get(alias)!;
    }
    claimed.add(row.column);

    if (row.type !== column.pgType) {
      review.push({
        kind: 'review',
        subject,
        reason: `type changes from ${row.type} to ${column.pgType}: existing values must be converted (USING), and the conversion may fail or lose precision`,
        options: [
          {
            label: 'convert in place',
            steps: [{ kind: 'alter-type', column: column.name, from: row.type, to: column.pgType }],
          },
        ],
      });
    }
    if (column.nullable && row.not_null) later.push({ kind: 'drop-not-null', column: column.name });
    if (column.symbols !== undefined) {
      const checks = shape.checks.filter((c) => c.column === row.column);
      if (checks.length === 0) {
        review.push({
          kind: 'review',
          subject,
          reason: `an enum column without a CHECK: existing rows may hold values that are not symbols (${column.symbols.join(', ')})`,
          options: [
            {
              label: 'add the CHECK',
              steps: [{ kind: 'add-check', column: column.name, symbols: column.symbols }],
            },
          ],
        });
      } else if (checks.some((c) => missingSymbols(c.definition, column.symbols!).length > 0)) {
        // Widened, never narrowed: a symbol the reader dropped stays allowed, rows may hold it.
        const kept = checks
          .flatMap((c) => listedSymbols(c.definition))
          .filter((s) => !column.symbols!.includes(s));
        const symbols = [...column.symbols, ...new Set(kept)];
        later.push({ kind: 'widen-check', column: column.name, symbols, replaced: checks });
      }
    }
  });

  const leftovers = shape.columns.filter((c) => !claimed.has(c.column) && !METADATA.has(c.column));
  const paired = new Set<NewColumn>();
  for (const left of leftovers) {
    // A field renamed without an alias looks like a column gone and one new of the same type.
    const candidates = additions.filter((a) => a.added.column.pgType === left.type && !paired.has(a.added));
    if (candidates.length === 1) {
      const { added } = candidates[0]!;
      paired.add(added);
      review.push({
        kind: 'review',
        subject: `${entry.table}.${added.column.name}`,
        reason: `${left.column} is no longer in the reader schema and ${added.column.name} is new, both ${left.type}: renamed without an alias? Add "aliases": ["${left.column}"] to the field and draft again to keep the data, or add the column and deal with ${left.column}`,
        options: [
          { label: 'a rename', steps: [{ kind: 'rename-column', from: left.column, to: added.column.name }] },
          { label: 'a new column', steps: addSteps(added) },
        ],
      });
      continue;
    }
    if (left.not_null && !left.has_default) {
      review.push({
        kind: 'review',
        subject: `${entry.table}.${left.column}`,
        reason: `${left.column} is NOT NULL without a default and no longer in the reader schema: every insert would fail. Keep its data and allow NULL, or drop it (its data is lost)`,
        options: [
          { label: 'keep the data', steps: [{ kind: 'drop-not-null', column: left.column }] },
          { label: 'drop it', steps: [{ kind: 'drop-column', column: left }] },
        ],
      });
    }
    // A nullable (or defaulted) column the reader no longer fills is harmless: left alone, with its data.
  }

  const wantedKey = entry.writeMode === 'upsert' ? [entry.key] : ['_kafka_partition', '_kafka_offset'];
  if (shape.primaryKey?.join(',') !== wantedKey.join(',')) {
    review.push({
      kind: 'review',
      subject: entry.table,
      reason: `the primary key is ${shape.primaryKey === undefined ? 'missing' : `(${shape.primaryKey.join(', ')})`} and ${entry.writeMode} mode needs (${wantedKey.join(', ')}): a new key fails while rows share a value of it, and changes which rows count as one`,
      options: [
        {
          label: 'replace the key',
          steps: [{ kind: 'replace-primary-key', from: shape.primaryKey, to: wantedKey }],
        },
      ],
    });
  }

  const steps: TableStep[] = [...renames];
  for (const { added } of additions) {
    if (paired.has(added)) continue;
    if (!added.column.nullable && added.defaultSql === undefined) {
      review.push({
        kind: 'review',
        subject: `${entry.table}.${added.column.name}`,
        reason: `a new NOT NULL column without an Avro default: the rows already in ${entry.table} have no value for it. Give the field a default, make it nullable, or backfill`,
        options: [{ label: 'when the table is empty', steps: addSteps(added) }],
      });
      continue;
    }
    steps.push(...addSteps(added));
  }
  return [...steps, ...later, ...review];
}
