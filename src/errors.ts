/**
 * Every error the pipeline raises on purpose. The code is a closed union so that callers (the CLI's exit
 * codes, the consumer's retry/dead-letter decision, tests) can switch on it exhaustively instead of matching
 * message text.
 */
export type ErrorCode =
  // configuration, command line and local services
  | 'USAGE_INVALID'
  | 'CONFIG_INVALID'
  | 'STACK_PREREQUISITE_MISSING'
  | 'STACK_PORT_TAKEN'
  | 'STACK_DOWNLOAD_FAILED'
  | 'STACK_START_FAILED'
  // contracts: schemas, catalog, registry
  | 'SCHEMA_INVALID'
  | 'CATALOG_INVALID'
  | 'UNKNOWN_TOPIC'
  | 'EVENT_INVALID'
  | 'SCHEMA_INCOMPATIBLE'
  | 'REGISTRY_REJECTED'
  | 'CONTRACT_MISMATCH'
  | 'CODEGEN_STALE'
  // a server whose TLS certificate fails verification: a wrong CA, an expired certificate, another host name
  | 'TLS_CERTIFICATE_REJECTED'
  // a service that refused the credentials (the broker's SASL): fixing it needs a person, not a retry
  | 'BROKER_AUTH_REJECTED'
  // database shape: migrations not applied, or one that failed
  | 'MIGRATIONS_PENDING'
  | 'MIGRATION_FAILED'
  // a drafted migration has steps only a person can decide (commented out in the file)
  | 'MIGRATION_NEEDS_REVIEW'
  // messages that can never become a row
  | 'WIRE_FORMAT_INVALID'
  | 'SCHEMA_ID_UNKNOWN'
  | 'PAYLOAD_UNDECODABLE'
  | 'ROW_REJECTED'
  // faults that go away by themselves
  | 'DATABASE_UNAVAILABLE'
  | 'REGISTRY_UNAVAILABLE'
  | 'BROKER_UNAVAILABLE'
  | 'CONSUMER_CRASHED'
  // the database's stored offsets and the topic disagree: a person decides (topic recreated or truncated)
  | 'OFFSETS_BEYOND_LOG_END'
  // the consumer did not leave the group in time (a broker that never answers); its sockets were closed
  | 'SHUTDOWN_TIMEOUT'
  // a bug in the caller: an invariant of an internal API was broken
  | 'INVARIANT_BROKEN'
  | 'TIMEOUT';

export interface PipelineErrorOptions {
  cause?: unknown;
  /** Structured facts (file, subject, field, topic, offset…) shown beside the message. */
  details?: Readonly<Record<string, unknown>>;
}

export class PipelineError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: PipelineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** The configuration (environment, files, catalog) is wrong: fixing it needs a person, not a retry. */
export class ConfigurationError extends PipelineError {
  /** Every problem found, so that one run reports them all. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options: PipelineErrorOptions = {}) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, options);
    this.problems = problems;
  }
}

/** Wrong command-line words: printed with the command's usage. */
export class UsageError extends PipelineError {
  constructor(message: string) {
    super('USAGE_INVALID', message);
  }
}

export type PoisonCode = 'WIRE_FORMAT_INVALID' | 'SCHEMA_ID_UNKNOWN' | 'PAYLOAD_UNDECODABLE' | 'ROW_REJECTED';

/** This message can never become a row, whatever is retried: it belongs in dead letters. */
export class PoisonMessageError extends PipelineError {
  declare readonly code: PoisonCode;
  /** SQLSTATE when PostgreSQL refused the row. */
  readonly sqlState: string | undefined;

  constructor(code: PoisonCode, message: string, options: PipelineErrorOptions & { sqlState?: string } = {}) {
    super(code, message, options);
    this.sqlState = options.sqlState;
  }
}

export type TransientCode =
  | 'DATABASE_UNAVAILABLE'
  | 'REGISTRY_UNAVAILABLE'
  | 'BROKER_UNAVAILABLE'
  | 'TIMEOUT';

/** A fault outside the message (a service down, a deadlock): retried with backoff, never dead-lettered. */
export class TransientError extends PipelineError {
  declare readonly code: TransientCode;
}

/** Name of the error's class and code, for logs and the dead-letter table. */
export function describeError(error: unknown): { errorClass: string; message: string } {
  if (error instanceof PipelineError)
    return { errorClass: `${error.name}:${error.code}`, message: error.message };
  if (error instanceof Error) return { errorClass: error.name, message: error.message };
  return { errorClass: typeof error, message: String(error) };
}
