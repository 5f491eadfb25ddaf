/**
 * A server certificate that fails verification is neither an outage (retrying cannot fix it, and retrying
 * an interception attempt only repeats it) nor a contract problem: it is its own error,
 * TLS_CERTIFICATE_REJECTED, raised at once and never retried. Shared by the PostgreSQL and registry clients.
 */
import { PipelineError } from './errors.ts';

/**
 * Node's codes for a certificate that failed verification: OpenSSL's X509_V_ERR_* names (chain, dates,
 * signature, purpose) and the host name check of tls.checkServerIdentity.
 */
const CERTIFICATE_CODES = new Set([
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
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
]);

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** True when `error` (or an error it wraps) says the peer's certificate failed verification. */
export function isCertificateError(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth++) {
    const code = codeOf(current);
    if (code !== undefined && CERTIFICATE_CODES.has(code)) return true;
    current = current instanceof Error ? current.cause : undefined;
  }
  return false;
}

/**
 * The error for a refused certificate. `connection` names what was being reached and how it is configured,
 * e.g. `PostgreSQL (DATABASE_URL, DATABASE_CA_FILE)` or `schema registry https://…`.
 */
export function certificateError(error: unknown, connection: string): PipelineError {
  let cause = error;
  while (cause instanceof Error && !CERTIFICATE_CODES.has(codeOf(cause) ?? '') && cause.cause !== undefined) {
    cause = cause.cause;
  }
  const code = codeOf(cause) ?? 'unknown';
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new PipelineError(
    'TLS_CERTIFICATE_REJECTED',
    `${connection}: the server's TLS certificate was refused (${code}): ${reason}. Not retried: check the CA file and the host name, or whether something intercepts the connection`,
    { cause: error, details: { tls: code } },
  );
}
