import { type Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import type { KafkaSettings } from '../config.ts';
import { CheckedKafka } from './checked-kafka.ts';

/**
 * The one place a kafkajs client is built from settings: TLS verified against the configured CA or the
 * system's CA store (never `rejectUnauthorized: false`), SASL only over TLS (enforced by the configuration);
 * a refused certificate or refused credentials fail the connect at once (CheckedKafka).
 */
export function createKafka(
  settings: KafkaSettings,
  options: { clientId?: string; quiet?: boolean } = {},
): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId ?? settings.clientId,
    brokers: settings.brokers,
    logLevel: options.quiet ? logLevel.NOTHING : logLevel.ERROR,
    connectionTimeout: 3000,
    // kafkajs retries transient broker faults itself; this bounds how long before an error surfaces.
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
  };
  if (settings.tls) {
    config.ssl = {
      ...(settings.tls.ca === undefined ? {} : { ca: [settings.tls.ca] }),
      ...(settings.tls.cert ? { cert: settings.tls.cert } : {}),
      ...(settings.tls.key ? { key: settings.tls.key } : {}),
      rejectUnauthorized: true,
    };
  }
  if (settings.sasl) {
    config.sasl = {
      mechanism: settings.sasl.mechanism,
      username: settings.sasl.username,
      password: settings.sasl.password,
    } as SASLOptions;
  }
  return new CheckedKafka(config, settings);
}
