import test from 'ava';
import { parseConfig, parseStackSettings } from '../../src/config.ts';
import { ConfigurationError } from '../../src/errors.ts';

const valid = {
  KAFKA_BROKERS: '127.0.0.1:19092, 127.0.0.2:19092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7/',
  DATABASE_URL: 'postgres://u:secret@127.0.0.1:15432/db',
};

test('a valid environment gives typed settings with documented defaults', (t) => {
  const config = parseConfig(valid);
  t.deepEqual(config.kafka.brokers, ['127.0.0.1:19092', '127.0.0.2:19092']);
  t.is(config.registry.url, 'http://127.0.0.1:18081/apis/ccompat/v7');
  t.is(config.consumer.batchMaxRows, 5000);
  t.is(config.consumer.batchMaxWaitMs, 100);
  t.true(config.consumer.fromBeginning);
  t.is(config.consumer.sessionTimeoutMs, 30_000);
  t.is(config.kafka.tls, undefined);
});

test('the session timeout can be lowered to the broker minimum, not below', (t) => {
  t.is(parseConfig({ ...valid, CONSUMER_SESSION_TIMEOUT_MS: '6000' }).consumer.sessionTimeoutMs, 6000);
  const error = t.throws(() => parseConfig({ ...valid, CONSUMER_SESSION_TIMEOUT_MS: '5999' }), {
    instanceOf: ConfigurationError,
  });
  t.regex(error!.message, /CONSUMER_SESSION_TIMEOUT_MS=5999/);
});

test('every problem is reported in one error', (t) => {
  const error = t.throws(
    () =>
      parseConfig({
        KAFKA_BROKERS: 'no-port',
        DATABASE_URL: 'mysql://x',
        CONSUMER_BATCH_MAX_ROWS: '0',
        KAFKA_SASL_MECHANISM: 'kerberos',
      }),
    { instanceOf: ConfigurationError },
  );
  t.is(error.code, 'CONFIG_INVALID');
  t.is(error.problems.length, 5, error.message);
  t.regex(error.message, /KAFKA_BROKERS: "no-port" is not host:port/);
  t.regex(error.message, /SCHEMA_REGISTRY_URL is not set/);
  t.regex(error.message, /DATABASE_URL must start with postgres:/);
  t.regex(error.message, /CONSUMER_BATCH_MAX_ROWS=0/);
  t.regex(error.message, /KAFKA_SASL_MECHANISM=kerberos/);
});

test('a malformed URL is reported without echoing it, since it may hold a password', (t) => {
  const error = t.throws(() => parseConfig({ ...valid, DATABASE_URL: 'postgres://u:hunter2@[bad' }), {
    instanceOf: ConfigurationError,
  });
  t.notRegex(error.message, /hunter2/);
});

test('SASL credentials are refused without TLS', (t) => {
  const error = t.throws(
    () =>
      parseConfig({
        ...valid,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'avnadmin',
        KAFKA_SASL_PASSWORD: 'pw',
      }),
    { instanceOf: ConfigurationError },
  );
  t.regex(error.message, /needs KAFKA_CA_FILE/);
});

test('TLS that cannot be verified is refused', (t) => {
  t.throws(() => parseConfig({ ...valid, DATABASE_URL: `${valid.DATABASE_URL}?sslmode=no-verify` }), {
    message: /no-verify is refused/,
  });
  t.throws(() => parseConfig({ ...valid, KAFKA_CA_FILE: '/nonexistent/ca.pem' }), {
    message: /KAFKA_CA_FILE=\/nonexistent\/ca.pem cannot be read: ENOENT/,
  });
});

test('stack settings: services named by the user are external, ports must differ', (t) => {
  const settings = parseStackSettings({ DATABASE_URL: valid.DATABASE_URL });
  t.deepEqual(settings.external, { kafka: false, registry: false, postgres: true });
  t.is(settings.kafkaPort, 19092);
  t.throws(() => parseStackSettings({ STACK_KAFKA_PORT: '15432' }), { message: /must differ/ });
  t.throws(() => parseStackSettings({ STACK_POSTGRES_PORT: '80' }), { message: /from 1024 to 65535/ });
});

test('no URL parameter or PG* variable can weaken PostgreSQL TLS verification', (t) => {
  for (const query of [
    'ssl=no-verify',
    'ssl=0',
    'uselibpqcompat=true&sslmode=require',
    'sslmode=require',
    'sslmode=prefer',
  ]) {
    t.throws(
      () => parseConfig({ ...valid, DATABASE_URL: `${valid.DATABASE_URL}?${query}` }),
      {
        instanceOf: ConfigurationError,
        message: /DATABASE_URL: .*refused/,
      },
      query,
    );
  }
  t.notThrows(() => parseConfig({ ...valid, DATABASE_URL: `${valid.DATABASE_URL}?sslmode=verify-full` }));
  t.notThrows(() => parseConfig({ ...valid, DATABASE_URL: `${valid.DATABASE_URL}?sslmode=disable` }));
  t.throws(() => parseConfig({ ...valid, PGSSLMODE: 'no-verify' }), { message: /PGSSLMODE is set/ });
});

test('registry credentials are refused over plain http, except on loopback', (t) => {
  const auth = { SCHEMA_REGISTRY_USERNAME: 'avnadmin', SCHEMA_REGISTRY_PASSWORD: 'pw' };
  t.throws(() => parseConfig({ ...valid, ...auth, SCHEMA_REGISTRY_URL: 'http://registry.example:8081' }), {
    message: /clear: use https/,
  });
  t.notThrows(() => parseConfig({ ...valid, ...auth, SCHEMA_REGISTRY_URL: 'https://registry.example:8081' }));
  t.notThrows(() => parseConfig({ ...valid, ...auth }));
});
