/**
 * The broker connection's failures that retrying cannot fix: a server certificate that fails verification,
 * a client certificate the broker refuses, SASL credentials it refuses. Each becomes a PipelineError naming
 * the connection and the reason (never a secret); anything else is left to the caller (an outage).
 */
import type { KafkaSettings } from '../config.ts';
import { PipelineError } from '../errors.ts';
import { certificateError, isCertificateError } from '../tls-error.ts';

/**
 * OpenSSL's names for the alert a server sends when it refuses the client's certificate: expired, signed by
 * a CA it does not trust, missing, revoked (Node: ERR_SSL_<version>_ALERT_<reason>).
 */
const CLIENT_CERTIFICATE_ALERT =
  /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(?:BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_REQUIRED|UNKNOWN_CA)$/;

function* chain(error: unknown): Generator<unknown> {
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth++) {
    yield current;
    current = current instanceof Error ? current.cause : undefined;
  }
}

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** What was being reached and how it is configured, for messages: names of settings, never their values. */
export function describeKafkaConnection(settings: KafkaSettings, broker?: string): string {
  const how: string[] = [];
  if (settings.tls !== undefined) {
    how.push(
      settings.tls.ca === undefined ? 'TLS verified by the system CA store' : 'TLS with KAFKA_CA_FILE',
    );
    if (settings.tls.cert !== undefined) how.push('client certificate KAFKA_CERT_FILE');
  }
  if (settings.sasl !== undefined) how.push(`SASL ${settings.sasl.mechanism} as KAFKA_SASL_USERNAME`);
  const target = broker ?? settings.brokers.join(',');
  return `Kafka brokers ${target} (KAFKA_BROKERS${how.length > 0 ? `; ${how.join(', ')}` : ''})`;
}

/** The refusal `error` stands for, or undefined when it is not one (then it may well be an outage). */
export function kafkaRefusal(
  error: unknown,
  settings: KafkaSettings,
  broker?: string,
): PipelineError | undefined {
  if (error instanceof PipelineError) return undefined;
  const connection = describeKafkaConnection(settings, broker);
  if (isCertificateError(error)) return certificateError(error, connection);
  for (const link of chain(error)) {
    const code = codeOf(link);
    if (code !== undefined && CLIENT_CERTIFICATE_ALERT.test(code)) {
      return new PipelineError(
        'TLS_CERTIFICATE_REJECTED',
        `${connection}: the broker refused this client's TLS certificate (${code}): it is expired, missing, or not signed by a CA the broker trusts. Not retried: check KAFKA_CERT_FILE and KAFKA_KEY_FILE`,
        { cause: error, details: { tls: code } },
      );
    }
    if (link instanceof Error && link.name === 'KafkaJSSASLAuthenticationError') {
      const password = settings.sasl?.password;
      // The broker's reason; a broker that echoed the password would still not get it printed.
      const reason =
        password === undefined || password === '' ? link.message : link.message.replaceAll(password, '***');
      return new PipelineError(
        'BROKER_AUTH_REJECTED',
        `${connection}: the broker refused the SASL credentials (${reason}). Not retried: check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM`,
        { details: { sasl: settings.sasl?.mechanism ?? 'unknown' } },
      );
    }
  }
  return undefined;
}
