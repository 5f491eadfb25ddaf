/**
 * Decoded Avro value → one table row, as PostgreSQL text per column. The converters are chosen once per
 * catalog entry (from column-types.ts) so that the per-row work is a loop over precomputed functions.
 */
import type avro from 'avsc';
import type { CatalogEntry } from '../contracts/catalog.ts';
import { daysFromCivil, parseIsoDate } from '../contracts/civil-date.ts';
import { PipelineError, PoisonMessageError } from '../errors.ts';
import { type ColumnKind, type ColumnSpec, fieldColumns, METADATA_COLUMNS } from './column-types.ts';
import { byteaText, dateText, epochMillisText, jsonText, microsText, millisText } from './pg-text.ts';

/** A column value as PostgreSQL text; null is SQL NULL. */
export type SqlText = string | null;

/** Where the message came from; becomes the `_kafka_*` columns. */
export interface MessageMeta {
  partition: number;
  /** kafkajs offset string. */
  offset: string;
  /** kafkajs timestamp: milliseconds since the epoch, as a string. */
  timestamp: string;
}

export interface RowMapper {
  /** Columns written, in order: the reader schema's fields, then `_kafka_partition/offset/timestamp`. */
  readonly columns: readonly ColumnSpec[];
  /** Position of the catalog key in `columns`. */
  readonly keyIndex: number;
  /** Position of the upsert version field, when the entry has one. */
  readonly versionIndex: number | undefined;
  /** The row of a decoded value; a value that cannot be a row throws PoisonMessageError('ROW_REJECTED'). */
  toRow(value: Readonly<Record<string, unknown>>, meta: MessageMeta): SqlText[];
  /**
   * The text of each reader field's value, as toRow writes it (throws as toRow does): the compiled
   * transcoder uses these for defaults and for the fields it does not read itself, so both paths agree.
   */
  readonly fieldTexts: readonly ((value: unknown) => SqlText)[];
  /** Fills the `_kafka_*` columns of a row whose fields are set (length: columns.length); returns it. */
  withMeta(row: SqlText[], meta: MessageMeta): SqlText[];
  /** The `_kafka_timestamp` text withMeta writes; throws the refusal withMeta throws. */
  kafkaTimestampText(timestamp: string): string;
  /** A comparable version of a decoded value (upserts); null when the field is null. */
  versionOf(value: Readonly<Record<string, unknown>>): bigint | null;
  /** The key column's text of a row, as the in-batch dedupe compares keys. */
  keyOf(row: readonly SqlText[]): string;
  /** keyOf of a row whose key column holds this text. */
  keyOfText(text: SqlText): string;
  /** The key column's text from a Kafka message key (tombstones carry no value): the key as UTF-8 text. */
  keyFromMessageKey(key: Buffer): string;
}

type Converter = (value: unknown) => string;

function refuse(expected: string, value: unknown): never {
  const shown =
    typeof value === 'bigint'
      ? `${value}n`
      : typeof value === 'number'
        ? `number ${value}`
        : value === null
          ? 'null'
          : typeof value === 'object'
            ? `an object (${Object.prototype.toString.call(value).slice(8, -1)})`
            : typeof value;
  throw new PoisonMessageError('ROW_REJECTED', `expected ${expected}, got ${shown}`);
}

/** Why converting failed, for a cause that says what was wrong whatever was thrown. */
function reasonOf(error: unknown): string {
  if (error instanceof PipelineError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

const INTEGER_TEXT = /^-?\d+$/;

const converters: Record<ColumnKind, Converter> = {
  boolean: (v) => (v === true ? 't' : v === false ? 'f' : refuse('a boolean', v)),
  integer: (v) => (Number.isInteger(v) ? String(v) : refuse('an integer', v)),
  bigint: (v) =>
    typeof v === 'bigint' || Number.isSafeInteger(v)
      ? String(v)
      : typeof v === 'string' && INTEGER_TEXT.test(v)
        ? v
        : refuse('a whole number', v),
  // String(NaN) and String(±Infinity) are the spellings PostgreSQL reads for real/double precision.
  // String(-0) is "0": real and double precision keep the sign of zero, so the text must too.
  float: (v) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : refuse('a number', v)),
  text: (v) => (typeof v === 'string' ? v : refuse('a string', v)),
  uuid: (v) => (typeof v === 'string' ? v : refuse('a uuid string', v)),
  enum: (v) => (typeof v === 'string' ? v : refuse('an enum symbol', v)),
  bytes: (v) => (v instanceof Uint8Array ? byteaText(v) : refuse('bytes', v)),
  // Already exact base-10 text from the decimal logical type; PostgreSQL checks precision and scale.
  decimal: (v) => (typeof v === 'string' ? v : refuse('a decimal string', v)),
  'timestamp-millis': (v) => (v instanceof Date ? millisText(v) : refuse('a Date', v)),
  'timestamp-micros': (v) => (typeof v === 'bigint' ? microsText(v) : refuse('a bigint of microseconds', v)),
  date: (v) => (typeof v === 'string' ? dateText(v) : refuse('a YYYY-MM-DD string', v)),
  // Already PostgreSQL's text from the logical types (HH:MM:SS.f, YYYY-MM-DDTHH:MM:SS.f): no zone to apply.
  time: (v) => (typeof v === 'string' ? v : refuse('an HH:MM:SS time string', v)),
  'local-timestamp': (v) => (typeof v === 'string' ? v : refuse('a local timestamp string', v)),
  json: (v) => jsonText(v),
  'kafka-timestamp': (v) => {
    const ms = Number(v);
    return Number.isSafeInteger(ms) ? epochMillisText(ms) : refuse('a Kafka timestamp in ms', v);
  },
};

/**
 * True when JSON.stringify writes a nested value of this type exactly as jsonText would: no bytes (it would
 * write `{"type":"Buffer",…}`), no float (NaN would become null). Dates and decimal strings come out the
 * same. A long beyond 2^53 is a bigint, on which JSON.stringify throws: the caller then falls back to
 * jsonText, which writes it with all its digits. The native serialiser is several times faster.
 */
const PLAIN_LOGICAL = new Set([
  'logical:decimal',
  'logical:uuid',
  'logical:date',
  'logical:timestamp-millis',
  'logical:time-millis',
  'logical:time-micros',
  'logical:local-timestamp-millis',
  'logical:local-timestamp-micros',
]);

function plainJson(type: avro.Type): boolean {
  const name = type.typeName;
  if (name === 'logical:timestamp-micros' || name === 'bytes' || name === 'fixed') return false;
  if (name === 'float' || name === 'double') return false;
  // The project's other logical types decode to strings and Dates; an unknown one to its underlying value.
  if (PLAIN_LOGICAL.has(name)) return true;
  if (name.startsWith('logical:')) return plainJson((type as avro.types.LogicalType).underlyingType);
  if (name === 'record' || name === 'error') {
    return (type as avro.types.RecordType).fields.every((f) => plainJson(f.type));
  }
  if (name === 'array') return plainJson((type as avro.types.ArrayType).itemsType);
  if (name === 'map') return plainJson((type as avro.types.MapType).valuesType);
  if (name.startsWith('union')) return (type as avro.types.UnwrappedUnionType).types.every(plainJson);
  return true;
}

/** Order of versions, whatever the field's type: numbers, bigint µs, Dates and ISO days. */
export function versionValue(v: unknown): bigint | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (v instanceof Date && !Number.isNaN(v.getTime())) return BigInt(v.getTime());
  if (typeof v === 'string') {
    const date = parseIsoDate(v);
    if (date !== undefined) return BigInt(daysFromCivil(date)) * 86_400_000n;
  }
  return refuse('an integer, timestamp or date version', v);
}

const VERSION_KINDS = new Set<ColumnKind>([
  'integer',
  'bigint',
  'timestamp-millis',
  'timestamp-micros',
  'date',
]);

/** Precomputes the columns and converters of a catalog entry's reader schema. */
export function createRowMapper(entry: CatalogEntry): RowMapper {
  const fields = fieldColumns(entry.reader.type);
  const columns = [...fields, ...METADATA_COLUMNS];
  const names = fields.map((c) => c.name);
  const fieldTypes = (entry.reader.type as avro.types.RecordType).fields.map((f) => f.type);
  const fieldConverters = fields.map((column, i) => {
    const convert =
      column.kind === 'json' && plainJson(fieldTypes[i]!)
        ? (v: unknown) => {
            try {
              return JSON.stringify(v);
            } catch {
              // A bigint (a long beyond 2^53) somewhere inside: written exactly by the slower path.
              return jsonText(v);
            }
          }
        : converters[column.kind];
    const { name, nullable } = column;
    return (value: unknown): SqlText => {
      if (value === null || value === undefined) {
        if (nullable) return null;
        throw new PoisonMessageError('ROW_REJECTED', `field ${name} is required but missing`, {
          details: { field: name },
        });
      }
      try {
        return convert(value);
      } catch (error) {
        // Whatever a converter throws is about this value, never a reason to stop the consumer: a dead
        // letter that names the field and what was wrong.
        throw new PoisonMessageError('ROW_REJECTED', `field ${name}: ${reasonOf(error)}`, {
          cause: error,
          details: { field: name },
        });
      }
    };
  });
  const keyIndex = names.indexOf(entry.key);
  if (keyIndex < 0) {
    throw new PipelineError('CATALOG_INVALID', `${entry.topic}: key "${entry.key}" is not a field`);
  }
  const versionIndex = entry.versionField === undefined ? undefined : names.indexOf(entry.versionField);
  if (versionIndex !== undefined && (versionIndex < 0 || !VERSION_KINDS.has(fields[versionIndex]!.kind))) {
    throw new PipelineError(
      'CATALOG_INVALID',
      `${entry.topic}: versionField "${entry.versionField}" must be an int, long, timestamp or date field`,
    );
  }
  // The uuid type ignores case; the in-batch dedupe must too.
  const normalizeKey = fields[keyIndex]!.kind === 'uuid' ? (k: string) => k.toLowerCase() : (k: string) => k;
  const fieldCount = fields.length;
  const kafkaTimestamp = converters['kafka-timestamp'];
  const versionField = entry.versionField;

  const kafkaTimestampText = (timestamp: string): string => {
    try {
      return kafkaTimestamp(timestamp);
    } catch (error) {
      throw new PoisonMessageError('ROW_REJECTED', `the message's Kafka timestamp: ${reasonOf(error)}`, {
        cause: error,
        details: { field: '_kafka_timestamp' },
      });
    }
  };
  const withMeta = (row: SqlText[], meta: MessageMeta): SqlText[] => {
    row[fieldCount] = String(meta.partition);
    row[fieldCount + 1] = meta.offset;
    row[fieldCount + 2] = kafkaTimestampText(meta.timestamp);
    return row;
  };

  return {
    columns,
    keyIndex,
    versionIndex,
    fieldTexts: fieldConverters,
    toRow(value, meta) {
      const row = new Array<SqlText>(fieldCount + 3);
      for (let i = 0; i < fieldCount; i++) row[i] = fieldConverters[i]!(value[names[i]!]);
      return withMeta(row, meta);
    },
    withMeta,
    kafkaTimestampText,
    versionOf(value) {
      if (versionField === undefined) return null;
      try {
        return versionValue(value[versionField]);
      } catch (error) {
        throw new PoisonMessageError('ROW_REJECTED', `version field ${versionField}: ${reasonOf(error)}`, {
          cause: error,
          details: { field: versionField },
        });
      }
    },
    keyOf(row) {
      return normalizeKey(row[keyIndex] ?? '');
    },
    keyOfText(text) {
      return normalizeKey(text ?? '');
    },
    keyFromMessageKey(key) {
      return normalizeKey(key.toString('utf8'));
    },
  };
}
