/**
 * `dead_letters`: messages that can never become a row, with their raw bytes untouched so that a replay
 * re-decodes exactly what Kafka held.
 */
import type pg from 'pg';
import { classifyDatabaseError } from './database.ts';
import type { MessageHeader } from './message-headers.ts';
import { epochMillisText } from './pg-text.ts';
import { quoteIdentifier } from './sql-identifier.ts';

export interface DeadLetter {
  groupId: string;
  topic: string;
  partition: number;
  /** kafkajs offset string. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Every header, in the order kafkajs gives them, bytes untouched (see message-headers.ts). */
  headers: readonly MessageHeader[];
  /** The Kafka timestamp (ms since epoch, kafkajs string): a replayed row's `_kafka_timestamp`. */
  kafkaTimestamp: string | null;
  schemaId: number | null;
  /** `describeError(...).errorClass`, e.g. `PoisonMessageError:ROW_REJECTED`. */
  errorClass: string;
  /** SQLSTATE when PostgreSQL refused the row. */
  sqlState: string | null;
  message: string;
}

export interface DeadLetterRecord extends DeadLetter {
  /** bigserial, as a string. */
  id: string;
  failedAt: Date;
}

export interface ReadDeadLettersOptions {
  /** Only this consumer group's. Default: every group. */
  groupId?: string;
  /** Only this topic's. Default: every topic. */
  topic?: string;
  /** Rows at most, oldest (lowest id) first. */
  limit: number;
  /** Only ids above this one: pages through the table. Default: from the start. */
  afterId?: string;
}

type Queryable = pg.Pool | pg.ClientBase;

const TABLE = quoteIdentifier('dead_letters');
/** Bound as one array per column and unnested; the headers travel as one jsonb per row (see HEADERS_JSON). */
const PARAMETERS = [
  ['consumer_group', 'text'],
  ['topic', 'text'],
  ['partition', 'integer'],
  ['offset', 'bigint'],
  ['key', 'bytea'],
  ['value', 'bytea'],
  ['headers', 'jsonb'],
  ['kafka_timestamp', 'timestamptz'],
  ['schema_id', 'integer'],
  ['error_class', 'text'],
  ['sql_state', 'text'],
  ['message', 'text'],
] as const;
const COLUMNS = PARAMETERS.flatMap(([name]) =>
  name === 'headers' ? ['header_keys', 'header_values'] : [name],
).map(quoteIdentifier);
/**
 * unnest flattens an array of arrays, so the headers of a letter come as a jsonb list of [key, value] in
 * base64 (value null for a null value) and are split back into the two bytea arrays here, in order.
 */
const headerArray = (index: 0 | 1) =>
  `ARRAY(SELECT decode(h.pair ->> ${index}, 'base64') FROM jsonb_array_elements(u.headers) WITH ORDINALITY AS h(pair, n) ORDER BY h.n)`;
const SELECTED = PARAMETERS.flatMap(([name]) =>
  name === 'headers' ? [headerArray(0), headerArray(1)] : [`u.${quoteIdentifier(name)}`],
);
// A replayed message that fails again refreshes its dead letter instead of failing the replay. The bytes are
// refreshed too: after a topic was recreated, the offset's letter must hold the message that failed now,
// not the old log's (a replay would otherwise apply the old message).
const UPDATED = [
  'key',
  'value',
  'header_keys',
  'header_values',
  'kafka_timestamp',
  'schema_id',
  'error_class',
  'sql_state',
  'message',
].map(quoteIdentifier);
const INSERT = `INSERT INTO ${TABLE} (${COLUMNS.join(', ')})
  SELECT ${SELECTED.join(', ')}
    FROM unnest(${PARAMETERS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
      AS u(${PARAMETERS.map(([name]) => quoteIdentifier(name)).join(', ')})
  ON CONFLICT (consumer_group, topic, partition, ${quoteIdentifier('offset')}) DO UPDATE
  SET ${UPDATED.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, failed_at = now()`;

/** text cannot hold NUL; the raw bytes (bytea) keep everything. */
function storable(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\\u0000') : text;
}

function headersJson(headers: readonly MessageHeader[]): string {
  return JSON.stringify(
    headers.map((h) => [h.key.toString('base64'), h.value === null ? null : h.value.toString('base64')]),
  );
}

/** A timestamp that is no number is kept out rather than failing the dead letter (the raw bytes matter). */
function kafkaTimestampText(ms: string | null): string | null {
  const n = Number(ms);
  if (ms === null || !Number.isFinite(n)) return null;
  try {
    return epochMillisText(n);
  } catch {
    return null;
  }
}

/** Inserts dead letters in one statement (one array per column); returns how many were stored. */
export async function insertDeadLetters(db: Queryable, letters: readonly DeadLetter[]): Promise<number> {
  if (letters.length === 0) return 0;
  const columns: unknown[][] = PARAMETERS.map(() => []);
  for (const l of letters) {
    const values = [
      l.groupId,
      l.topic,
      l.partition,
      l.offset,
      l.key,
      l.value,
      headersJson(l.headers),
      kafkaTimestampText(l.kafkaTimestamp),
      l.schemaId,
      storable(l.errorClass),
      l.sqlState,
      storable(l.message),
    ];
    for (let i = 0; i < values.length; i++) columns[i]!.push(values[i]);
  }
  const result = await db.query(INSERT, columns);
  return result.rowCount ?? 0;
}

interface DeadLetterRow {
  id: string;
  consumer_group: string;
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  header_keys: Buffer[];
  header_values: (Buffer | null)[];
  kafka_timestamp: Date | null;
  schema_id: number | null;
  error_class: string;
  sql_state: string | null;
  message: string;
  failed_at: Date;
}

/** Dead letters, oldest first, filtered by group and topic. */
export async function readDeadLetters(
  pool: pg.Pool,
  options: ReadDeadLettersOptions,
): Promise<DeadLetterRecord[]> {
  try {
    const { rows } = await pool.query<DeadLetterRow>(
      `SELECT * FROM ${TABLE}
        WHERE ($1::text IS NULL OR consumer_group = $1) AND ($2::text IS NULL OR topic = $2) AND id > $3::bigint
        ORDER BY id LIMIT $4`,
      [options.groupId ?? null, options.topic ?? null, options.afterId ?? '0', options.limit],
    );
    return rows.map((r) => ({
      id: r.id,
      groupId: r.consumer_group,
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      key: r.key,
      value: r.value,
      headers: r.header_keys.map((key, i) => ({ key, value: r.header_values[i] ?? null })),
      kafkaTimestamp: r.kafka_timestamp === null ? null : String(r.kafka_timestamp.getTime()),
      schemaId: r.schema_id,
      errorClass: r.error_class,
      sqlState: r.sql_state,
      message: r.message,
      failedAt: r.failed_at,
    }));
  } catch (error) {
    throw classifyDatabaseError(error, 'dead_letters');
  }
}

/**
 * Deletes dead letters by id; returns how many were deleted. Pass `client` to delete inside the transaction
 * that wrote the replayed rows, so that a message is never both replayed and still dead.
 */
export async function deleteDeadLetters(
  pool: pg.Pool,
  ids: readonly string[],
  client?: pg.ClientBase,
): Promise<number> {
  if (ids.length === 0) return 0;
  try {
    const result = await (client ?? pool).query(`DELETE FROM ${TABLE} WHERE id = ANY($1::bigint[])`, [ids]);
    return result.rowCount ?? 0;
  } catch (error) {
    throw classifyDatabaseError(error, 'dead_letters');
  }
}
