import {
  type Admin,
  type AdminConfig,
  type Consumer,
  type ConsumerConfig,
  Kafka,
  type KafkaConfig,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';
import type { KafkaSettings } from '../config.ts';
import { checkBrokerTls } from './broker-tls-check.ts';
import { kafkaRefusal } from './kafka-refusal.ts';

/**
 * A kafkajs client whose connects raise a refused certificate or refused credentials at once, named after
 * the connection (TLS_CERTIFICATE_REJECTED, BROKER_AUTH_REJECTED), never retried as if the brokers were down.
 * kafkajs retries a TLS failure like an outage, so each seed broker is asked once over TLS before the first
 * connect; after it, the connect's own errors are classified the same way.
 */
export class CheckedKafka extends Kafka {
  readonly #settings: KafkaSettings;
  readonly #timeoutMs: number;
  #tlsChecked: Promise<void> | undefined;

  constructor(config: KafkaConfig, settings: KafkaSettings) {
    super(config);
    this.#settings = settings;
    this.#timeoutMs = config.connectionTimeout ?? 3000;
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
        const answer = await checkBrokerTls(broker, tls, this.#settings.clientId, this.#timeoutMs);
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
