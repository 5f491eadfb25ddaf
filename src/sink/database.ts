/**
 * Connections to the pipeline's database, and what a failure of one means: retry later, refuse one row, or
 * stop because the database does not have the shape the code expects.
 */
import pg from 'pg';
import type { DatabaseSettings } from '../config.ts';
import { ConfigurationError, PipelineError, PoisonMessageError, TransientError } from '../errors.ts';
import { quoteIdentifier } from './sql-identifier.ts';

export interface ConnectionOptions {
  /** `application_name` shown in pg_stat_activity. Default `schema-first-pipeline`. */
  applicationName?: string;
  /** Milliseconds to wait for a connection before it counts as unavailable. Default 10 000. */
  connectTimeoutMs?: number;
  /**
   * Bound statements (120 s), lock waits (20 s), idle transactions (60 s) and reads (150 s), as the consumer
   * needs. Default true; migrations turn it off (an index build may rightly take longer).
   */
  boundedWaits?: boolean;
}

export interface PoolOptions extends ConnectionOptions {
  /** Connections at most. Default 4: one per partition written at the same time, plus one spare. */
  max?: number;
  /**
   * Called when an idle connection breaks (server restart, network). Default: ignore it; the next query on
   * the pool opens a new connection, and a failure there is classified like any other.
   */
  onIdleError?: (error: Error) => void;
}

/**
 * Every wait bounded, so a consumer never hangs without a heartbeat: a statement, a lock (another member's
 * orphaned transaction on the offsets row), a transaction left idle by a dead client. Their SQLSTATEs are
 * transient: the batch is retried. A connection dropped without a FIN (a NAT, a failover) is noticed by
 * keepalives and at the latest by the client-side query timeout, not after the kernel's ~15 minutes.
 */
const BOUNDED_WAITS =
  ' -c statement_timeout=120s -c lock_timeout=20s -c idle_in_transaction_session_timeout=60s';

/**
 * pg client settings shared by the pool and the migration runner: the search_path is the configured schema
 * from the first statement on, so unqualified table names always resolve there.
 */
export function connectionConfig(
  settings: DatabaseSettings,
  options: ConnectionOptions = {},
): pg.ClientConfig {
  // The startup `options` string is split on spaces and unescapes backslashes: escape both.
  const searchPath = quoteIdentifier(settings.schema).replace(/[\\ ]/g, '\\$&');
  const bounded = options.boundedWaits ?? true;
  return {
    connectionString: settings.connectionString,
    application_name: options.applicationName ?? 'schema-first-pipeline',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    options: `-c search_path=${searchPath}${bounded ? BOUNDED_WAITS : ''}`,
    ...(bounded ? { keepAlive: true, keepAliveInitialDelayMillis: 10_000, query_timeout: 150_000 } : {}),
    // Verification is never turned off: with a CA, the server certificate must chain to it and name the host.
    ...(settings.ca === undefined ? {} : { ssl: { ca: settings.ca, rejectUnauthorized: true } }),
  };
}

/** A pool whose every connection uses `settings.schema` as its search_path. */
export function createPool(settings: DatabaseSettings, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ ...connectionConfig(settings, options), max: options.max ?? 4 });
  // Without a listener, an idle connection that breaks would crash the process with an unhandled 'error'.
  pool.on('error', options.onIdleError ?? (() => {}));
  // A connection that breaks while checked out (between two statements of a transaction) emits 'error' on
  // its client, which the pool does not listen to: unhandled, it would kill the process instead of failing
  // the next statement, which the writer classifies as transient and retries.
  pool.on('connect', (client) => client.on('error', options.onIdleError ?? (() => {})));
  return pool;
}

/** SQLSTATEs after which the same statement can succeed later: connection, resources, concurrency. */
const TRANSIENT_STATES = new Set([
  '25006', // read_only_sql_transaction: a managed database failing over to a new primary
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout)
  '57014', // query_canceled: statement_timeout under load; the retry is the consumer's backoff
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovery)
  '25P03', // idle_in_transaction_session_timeout: the session is gone
]);
const TRANSIENT_CLASSES = new Set(['08', '53']); // connection exception, insufficient resources
/** Classes of data the database refuses: the row is wrong, not the database. */
const ROW_CLASSES = new Set(['22', '23']);
/**
 * Row-level too: 21000 (one statement touching a row twice: two spellings of one key in a batch; bisecting
 * separates them), 54000 (a value beyond a PostgreSQL limit, e.g. an index row too large).
 */
const ROW_STATES = new Set(['21000', '54000']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/**
 * OpenSSL's certificate verification failures as Node reports them in `code` (Node.js documentation, tls,
 * "X509 certificate error codes"). A refused certificate is a configuration problem: retrying cannot help.
 */
const X509_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);
// node-postgres reports a dropped connection or a pool timeout as plain Errors without a code.
const CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|Query read timeout)/;

interface PgErrorFields {
  code?: unknown;
  message?: unknown;
  table?: unknown;
  column?: unknown;
  constraint?: unknown;
}

/**
 * What a database failure means for the pipeline:
 * - `TransientError('DATABASE_UNAVAILABLE')`: connection lost or refused, server shutting down, out of
 *   resources, serialization failure, deadlock, lock timeout. Roll back and retry the whole batch.
 * - `PoisonMessageError('ROW_REJECTED')` with the SQLSTATE: class 22 (data exception) or 23 (integrity
 *   constraint). The row is refused whatever is retried; a candidate for dead letters.
 * - `ConfigurationError`: login refused (class 28), database missing (3D000), TLS certificate refused.
 * - `PipelineError('CONTRACT_MISMATCH')` naming `table` otherwise (undefined column, wrong type, missing
 *   table…): the database does not have the shape the code expects; retrying cannot help.
 * A PipelineError passed in is returned unchanged.
 */
export function classifyDatabaseError(
  error: unknown,
  table?: string,
): TransientError | PoisonMessageError | ConfigurationError | PipelineError {
  if (error instanceof PipelineError) return error;
  const fields: PgErrorFields = typeof error === 'object' && error !== null ? (error as PgErrorFields) : {};
  const code = typeof fields.code === 'string' ? fields.code : '';
  const message = typeof fields.message === 'string' ? fields.message : String(error);
  const sqlClass = /^[0-9A-Z]{5}$/.test(code) ? code.slice(0, 2) : '';
  const details = {
    ...(table === undefined ? {} : { table }),
    ...(code === '' ? {} : { code }),
    ...(typeof fields.column === 'string' ? { column: fields.column } : {}),
    ...(typeof fields.constraint === 'string' ? { constraint: fields.constraint } : {}),
  };

  if (
    NETWORK_CODES.has(code) ||
    TRANSIENT_STATES.has(code) ||
    TRANSIENT_CLASSES.has(sqlClass) ||
    (code === '' && CONNECTION_MESSAGES.test(message))
  ) {
    return new TransientError('DATABASE_UNAVAILABLE', `database unavailable: ${message}`, {
      cause: error,
      details,
    });
  }
  if (ROW_CLASSES.has(sqlClass) || ROW_STATES.has(code)) {
    return new PoisonMessageError('ROW_REJECTED', message, { cause: error, details, sqlState: code });
  }
  if (sqlClass === '28' || code === '3D000' || code.startsWith('ERR_TLS') || X509_CODES.has(code)) {
    return new ConfigurationError([`DATABASE_URL / DATABASE_CA_FILE: ${message}`], { cause: error });
  }
  const where = table === undefined ? 'the database' : `table ${table}`;
  return new PipelineError(
    'CONTRACT_MISMATCH',
    `${where} does not match what the pipeline writes: ${message}`,
    {
      cause: error,
      details,
    },
  );
}
