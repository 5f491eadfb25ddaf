/**
 * Avro → PostgreSQL column types: the single statement of the mapping. The row mapper converts values by
 * it, the contract gate compares the database with it, and the migrations were written from it (the gate's
 * integration test proves they agree).
 *
 * | Avro                                 | PostgreSQL (as `format_type` prints it) |
 * | ------------------------------------ | --------------------------------------- |
 * | boolean                              | boolean                                 |
 * | int                                  | integer                                 |
 * | long                                 | bigint                                  |
 * | float / double                       | real / double precision                 |
 * | string                               | text                                    |
 * | string uuid                          | uuid                                    |
 * | enum                                 | text, with a CHECK listing the symbols  |
 * | bytes / fixed                        | bytea                                   |
 * | bytes/fixed decimal(p,s)             | numeric(p,s)                            |
 * | long timestamp-millis / -micros      | timestamp with time zone                |
 * | int date                             | date                                    |
 * | int time-millis / long time-micros   | time without time zone                  |
 * | long local-timestamp-millis / -micros| timestamp without time zone             |
 * | record / array / map / other unions  | jsonb                                   |
 * | [null, X] or [X, null]               | X, nullable (every other column NOT NULL) |
 */
import type avro from 'avsc';
import { PipelineError } from '../errors.ts';

/** How a value of the column is converted; one converter per kind in the row mapper. */
export type ColumnKind =
  | 'boolean'
  | 'integer'
  | 'bigint'
  | 'float'
  | 'text'
  | 'uuid'
  | 'enum'
  | 'bytes'
  | 'decimal'
  | 'timestamp-millis'
  | 'timestamp-micros'
  | 'date'
  | 'time'
  | 'local-timestamp'
  | 'json'
  | 'kafka-timestamp';

export interface ColumnSpec {
  name: string;
  /** The type exactly as PostgreSQL's `format_type()` prints it, e.g. `numeric(14,2)`. */
  pgType: string;
  nullable: boolean;
  kind: ColumnKind;
  /** For enums: the symbols the column's CHECK must allow. */
  symbols?: readonly string[];
}

/** Written by the pipeline beside the fields of every table. */
export const METADATA_COLUMNS: readonly ColumnSpec[] = [
  { name: '_kafka_partition', pgType: 'integer', nullable: false, kind: 'integer' },
  { name: '_kafka_offset', pgType: 'bigint', nullable: false, kind: 'bigint' },
  { name: '_kafka_timestamp', pgType: 'timestamp with time zone', nullable: false, kind: 'kafka-timestamp' },
];

/** Filled by its default (`now()`), never by the pipeline; the gate checks it exists. */
export const INGESTED_AT_COLUMN: ColumnSpec = {
  name: '_ingested_at',
  pgType: 'timestamp with time zone',
  nullable: false,
  kind: 'timestamp-millis',
};

const TIMESTAMPTZ = 'timestamp with time zone';

interface LogicalLike {
  precision?: number;
  scale?: number;
  underlyingType: avro.Type;
}

function logicalColumn(name: string, type: avro.Type, nullable: boolean): ColumnSpec {
  const logical = type as unknown as LogicalLike;
  switch (type.typeName) {
    case 'logical:decimal':
      return {
        name,
        pgType: `numeric(${logical.precision},${logical.scale ?? 0})`,
        nullable,
        kind: 'decimal',
      };
    case 'logical:uuid':
      return { name, pgType: 'uuid', nullable, kind: 'uuid' };
    case 'logical:timestamp-millis':
      return { name, pgType: TIMESTAMPTZ, nullable, kind: 'timestamp-millis' };
    case 'logical:timestamp-micros':
      return { name, pgType: TIMESTAMPTZ, nullable, kind: 'timestamp-micros' };
    case 'logical:date':
      return { name, pgType: 'date', nullable, kind: 'date' };
    // PostgreSQL keeps microseconds in both: millis and micros round-trip exactly.
    case 'logical:time-millis':
    case 'logical:time-micros':
      return { name, pgType: 'time without time zone', nullable, kind: 'time' };
    case 'logical:local-timestamp-millis':
    case 'logical:local-timestamp-micros':
      return { name, pgType: 'timestamp without time zone', nullable, kind: 'local-timestamp' };
    default:
      // A logical type the project does not convert: avsc hands out the underlying value.
      return columnForType(name, logical.underlyingType, nullable);
  }
}

/** The column of one Avro field. `nullable` is set by the enclosing `[null, X]` union. */
export function columnForType(name: string, type: avro.Type, nullable = false): ColumnSpec {
  const typeName = type.typeName;
  if (typeName.startsWith('logical:')) return logicalColumn(name, type, nullable);
  switch (typeName) {
    case 'boolean':
      return { name, pgType: 'boolean', nullable, kind: 'boolean' };
    case 'int':
      return { name, pgType: 'integer', nullable, kind: 'integer' };
    case 'long':
    case 'abstract:long': // exactLongType: Avro long without precision loss
      return { name, pgType: 'bigint', nullable, kind: 'bigint' };
    case 'float':
      return { name, pgType: 'real', nullable, kind: 'float' };
    case 'double':
      return { name, pgType: 'double precision', nullable, kind: 'float' };
    case 'string':
      return { name, pgType: 'text', nullable, kind: 'text' };
    case 'enum':
      return {
        name,
        pgType: 'text',
        nullable,
        kind: 'enum',
        symbols: (type as avro.types.EnumType).symbols,
      };
    case 'bytes':
    case 'fixed':
      return { name, pgType: 'bytea', nullable, kind: 'bytes' };
    case 'record':
    case 'error':
    case 'array':
    case 'map':
      return { name, pgType: 'jsonb', nullable, kind: 'json' };
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branches: avro.Type[] = (type as avro.types.UnwrappedUnionType).types;
      const present = branches.filter((t) => t.typeName !== 'null');
      const withNull = present.length < branches.length || nullable;
      if (present.length === 1) return columnForType(name, present[0]!, withNull);
      return { name, pgType: 'jsonb', nullable: withNull, kind: 'json' };
    }
    default:
      throw new PipelineError('SCHEMA_INVALID', `field "${name}" of type ${typeName} cannot be a column`, {
        details: { field: name, type: typeName },
      });
  }
}

/** The columns of a record's fields, in field order. */
export function fieldColumns(recordType: avro.Type): ColumnSpec[] {
  return (recordType as avro.types.RecordType).fields.map((f) => columnForType(f.name, f.type));
}
