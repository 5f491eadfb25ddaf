import test from 'ava';
import kafkajs from 'kafkajs';
import { exitCodeOf } from '../../src/cli/exit-codes.ts';
import type { KafkaSettings } from '../../src/config.ts';
import { PipelineError } from '../../src/errors.ts';
import { describeKafkaConnection, kafkaRefusal } from '../../src/kafka/kafka-refusal.ts';

// kafkajs' own error classes (a CommonJS module: no named ESM exports; its typings omit the constructors'
// options, which these tests need to build the chains kafkajs builds).
type ErrorClass = new (message: unknown, options?: Record<string, unknown>) => Error;
const {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSSASLAuthenticationError,
} = kafkajs as unknown as Record<string, ErrorClass>;

const PASSWORD = 'hunter2-sasl';
const settings: KafkaSettings = {
  brokers: ['kafka-a.example:12345', 'kafka-b.example:12345'],
  clientId: 'test',
  tls: { ca: '-----BEGIN CERTIFICATE-----', cert: 'c', key: 'k' },
  sasl: { mechanism: 'scram-sha-512', username: 'avnadmin', password: PASSWORD },
};

/** What kafkajs hands back once its retries give up on a socket error with Node's `code`. */
function exhausted(code: string, message: string): Error {
  const connection = new KafkaJSConnectionError!(`Connection error: ${message}`, {
    broker: 'kafka-a.example:12345',
    code,
  });
  return new KafkaJSNumberOfRetriesExceeded!(connection, { retryCount: 8, retryTime: 10_000 });
}

test('a server certificate kafkajs gave up on is TLS_CERTIFICATE_REJECTED, exit 8, naming the brokers and the CA setting', (t) => {
  const refusal = kafkaRefusal(exhausted('CERT_HAS_EXPIRED', 'certificate has expired'), settings);
  t.is(refusal?.code, 'TLS_CERTIFICATE_REJECTED');
  t.is(exitCodeOf(refusal), 8);
  t.regex(refusal!.message, /Kafka brokers kafka-a\.example:12345,kafka-b\.example:12345/);
  t.regex(refusal!.message, /KAFKA_CA_FILE/);
  t.regex(refusal!.message, /CERT_HAS_EXPIRED/);
});

test('the broker refusing our client certificate (a TLS alert) is TLS_CERTIFICATE_REJECTED pointing at KAFKA_CERT_FILE', (t) => {
  for (const code of [
    'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
    'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
    'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
    'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
    'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  ]) {
    const refusal = kafkaRefusal(exhausted(code, 'alert'), settings, 'kafka-b.example:12345');
    t.is(refusal?.code, 'TLS_CERTIFICATE_REJECTED', code);
    t.regex(refusal!.message, /Kafka brokers kafka-b\.example:12345 /);
    t.regex(refusal!.message, /KAFKA_CERT_FILE and KAFKA_KEY_FILE/);
    t.is(refusal!.details.tls, code);
  }
});

test('refused SASL credentials are BROKER_AUTH_REJECTED, exit 9, and a broker echoing the password does not get it printed', (t) => {
  const sasl = new KafkaJSSASLAuthenticationError!(
    `SASL SCRAM SHA512 authentication failed: bad password ${PASSWORD}`,
  );
  for (const error of [sasl, new KafkaJSNonRetriableError!(sasl, { cause: sasl })]) {
    const refusal = kafkaRefusal(error, settings);
    t.is(refusal?.code, 'BROKER_AUTH_REJECTED');
    t.is(exitCodeOf(refusal), 9);
    t.false(refusal!.message.includes(PASSWORD));
    t.regex(refusal!.message, /KAFKA_SASL_PASSWORD/);
    t.is(refusal!.cause, undefined, 'the kafkajs error, which holds the raw message, is not kept');
  }
});

test('an outage is not a refusal: refused connections, timeouts and PipelineErrors are left to the caller', (t) => {
  t.is(kafkaRefusal(exhausted('ECONNREFUSED', 'connect ECONNREFUSED'), settings), undefined);
  t.is(kafkaRefusal(new KafkaJSConnectionError!('Connection timeout'), settings), undefined);
  t.is(kafkaRefusal(new PipelineError('BROKER_UNAVAILABLE', 'down'), settings), undefined);
});

test('the connection is described by setting names, never by their values', (t) => {
  const text = describeKafkaConnection(settings);
  t.is(
    text,
    'Kafka brokers kafka-a.example:12345,kafka-b.example:12345 (KAFKA_BROKERS; TLS with KAFKA_CA_FILE, client certificate KAFKA_CERT_FILE, SASL scram-sha-512 as KAFKA_SASL_USERNAME)',
  );
  t.regex(describeKafkaConnection({ brokers: ['b:1'], clientId: 'x', tls: {} }), /system CA store/);
});
