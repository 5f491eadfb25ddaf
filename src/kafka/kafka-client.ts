import {
  type Admin,
  type AdminConfig,
  type Consumer,
  type ConsumerConfig,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from 'kafkajs';
import type { KafkaSettings } from '../config.ts';
import { checkBrokerTls } from './broker-tls-check.ts';
import { kafkaRefusal } from './kafka-refusal.ts';

const CONNECTION_TIMEOUT_MS = 3000;

/**
 * A refused certificate or refused credentials are raised at once, named after the connection
 * (TLS_CERTIFICATE_REJECTED, BROKER_AUTH_REJECTED), never retried as if the brokers were down. kafkajs
 * retries a TLS failure like an outage, so each seed broker is asked once over TLS before the first connect;
 * after it, the connect's own errors are classified the same way.
 */
class CheckedKafka extends Kafka {
  readonly #settings: KafkaSettings;
  #tlsChecked: Promise<void> | undefined;

  constructor(config: KafkaConfig, settings: KafkaSettings) {
    super(config);
    this.#settings = settings;
  }

  override admin(config?: AdminConfig): Admin {
    return this.#guard(super.admin(config));
  }

  override producer(config?: ProducerConfig): Producer {
    return this.#guard(super.producer(config));
  }

  override consumer(config: ConsumerConfig): Consumer {
    return this.#guard(super.consumer(config));
  }

  #guard<T extends { connect(): Promise<void> }>(client: T): T {
    const connect = client.connect.bind(client);
    client.connect = async () => {
      await this.#checkTls();
      try {
        await connect();
      } catch (error) {
        throw kafkaRefusal(error, this.#settings) ?? error;
      }
    };
    return client;
  }

  /** Once per client while it succeeds; a failed check is asked again at the next connect. */
  #checkTls(): Promise<void> {
    const tls = this.#settings.tls;
    if (tls === undefined) return Promise.resolve();
    this.#tlsChecked ??= (async () => {
      for (const broker of this.#settings.brokers) {
        const answer = await checkBrokerTls(broker, tls, this.#settings.clientId, CONNECTION_TIMEOUT_MS);
        if (answer.kind === 'accepted') return;
        if (answer.kind === 'failed') {
          const refusal = kafkaRefusal(answer.error, this.#settings, broker);
          if (refusal !== undefined) throw refusal;
        }
        // Unreachable or silent: kafkajs tries again and reports it as unavailable if it stays so.
      }
    })().catch((error: unknown) => {
      this.#tlsChecked = undefined;
      throw error;
    });
    return this.#tlsChecked;
  }
}

/**
 * The one place a kafkajs client is built from settings: TLS verified against the configured CA or the
 * system's CA store (never `rejectUnauthorized: false`), SASL only over TLS (enforced by the configuration).
 */
export function createKafka(
  settings: KafkaSettings,
  options: { clientId?: string; quiet?: boolean } = {},
): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId ?? settings.clientId,
    brokers: settings.brokers,
    logLevel: options.quiet ? logLevel.NOTHING : logLevel.ERROR,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
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
