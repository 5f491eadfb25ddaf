import { type ErrorCode, PipelineError } from '../errors.ts';

/**
 * Exit codes of `pipeline`, documented in the README:
 * 0 success · 1 unexpected failure · 2 usage · 3 configuration · 4 contract refused (schema, registry,
 * table, migration, stored offsets beyond the topic's end) · 5 local stack · 6 a service unavailable (also: a
 * shutdown that ran out of time waiting for the broker) · 7 bad event data · 8 a TLS certificate refused (the
 * server's, or ours by the broker) · 9 credentials refused (the broker's SASL).
 */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  configuration: 3,
  contract: 4,
  stack: 5,
  unavailable: 6,
  data: 7,
  tls: 8,
  credentials: 9,
} as const;

const byCode: Record<ErrorCode, number> = {
  USAGE_INVALID: EXIT.usage,
  CONFIG_INVALID: EXIT.configuration,
  STACK_PREREQUISITE_MISSING: EXIT.stack,
  STACK_PORT_TAKEN: EXIT.stack,
  STACK_DOWNLOAD_FAILED: EXIT.stack,
  STACK_START_FAILED: EXIT.stack,
  SCHEMA_INVALID: EXIT.contract,
  CATALOG_INVALID: EXIT.contract,
  UNKNOWN_TOPIC: EXIT.contract,
  SCHEMA_INCOMPATIBLE: EXIT.contract,
  REGISTRY_REJECTED: EXIT.contract,
  CONTRACT_MISMATCH: EXIT.contract,
  CODEGEN_STALE: EXIT.contract,
  TLS_CERTIFICATE_REJECTED: EXIT.tls,
  BROKER_AUTH_REJECTED: EXIT.credentials,
  MIGRATIONS_PENDING: EXIT.contract,
  MIGRATION_FAILED: EXIT.contract,
  MIGRATION_NEEDS_REVIEW: EXIT.contract,
  EVENT_INVALID: EXIT.data,
  WIRE_FORMAT_INVALID: EXIT.data,
  SCHEMA_ID_UNKNOWN: EXIT.data,
  PAYLOAD_UNDECODABLE: EXIT.data,
  ROW_REJECTED: EXIT.data,
  DATABASE_UNAVAILABLE: EXIT.unavailable,
  REGISTRY_UNAVAILABLE: EXIT.unavailable,
  BROKER_UNAVAILABLE: EXIT.unavailable,
  TIMEOUT: EXIT.unavailable,
  OFFSETS_BEYOND_LOG_END: EXIT.contract,
  SHUTDOWN_TIMEOUT: EXIT.unavailable,
  CONSUMER_CRASHED: EXIT.unexpected,
  INVARIANT_BROKEN: EXIT.unexpected,
};

export function exitCodeOf(error: unknown): number {
  return error instanceof PipelineError ? byCode[error.code] : EXIT.unexpected;
}
