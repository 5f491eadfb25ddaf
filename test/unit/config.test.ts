import { readFileSync } from 'node:fs';
import test from 'ava';
import { parseConfig, parseLogSettings, parseStackSettings } from '../../src/config.ts';
import { ConfigurationError } from '../../src/errors.ts';
import { throwawayPki } from '../support/throwaway-ca.ts';

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
  t.is(config.consumer.sessionTimeoutMs, 10_000);
  t.is(config.kafka.tls, undefined);
  t.true(config.consumer.fastPath);
});

test('CONSUMER_FAST_PATH=false leaves the consumer on the reference decode path', (t) => {
  t.false(parseConfig({ ...valid, CONSUMER_FAST_PATH: 'false' }).consumer.fastPath);
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
  t.regex(error.message, /KAFKA_SASL_MECHANISM needs TLS/);
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

test('a repeated sslmode is refused (was: verify-full checked, no-verify used by pg: rows over unverified TLS)', (t) => {
  const remote = 'postgres://u:secret@db.example:5432/db';
  for (const query of ['sslmode=verify-full&sslmode=no-verify', 'sslmode=verify-full&sslmode=verify-full']) {
    const error = t.throws(() => parseConfig({ ...valid, DATABASE_URL: `${remote}?${query}` }), {
      instanceOf: ConfigurationError,
    });
    t.regex(error.message, /the "sslmode" parameter is given 2 times/, query);
  }
});

test('options in DATABASE_URL is refused (was: it silently replaced the search_path and every bounded timeout)', (t) => {
  for (const name of [
    'options',
    'statement_timeout',
    'lock_timeout',
    'idle_in_transaction_session_timeout',
    'query_timeout',
    'application_name',
    'host',
    'user',
  ]) {
    const error = t.throws(
      () => parseConfig({ ...valid, DATABASE_URL: `${valid.DATABASE_URL}?${name}=-c%20search_path%3Dother` }),
      { instanceOf: ConfigurationError },
    );
    t.regex(error.message, new RegExp(`the "${name}" parameter is refused: .*search_path`), name);
  }
});

test('a remote database without TLS needs DATABASE_TLS=disabled (was: sslmode=disable accepted silently)', (t) => {
  const remote = 'postgres://u:secret@db.example:5432/db';
  for (const url of [remote, `${remote}?sslmode=disable`]) {
    const error = t.throws(() => parseConfig({ ...valid, DATABASE_URL: url }), {
      instanceOf: ConfigurationError,
    });
    t.regex(error.message, /connection to db\.example would not use TLS: .*DATABASE_TLS=disabled/, url);
    t.notThrows(() => parseConfig({ ...valid, DATABASE_URL: url, DATABASE_TLS: 'disabled' }), url);
  }
  t.notThrows(() => parseConfig({ ...valid, DATABASE_URL: `${remote}?sslmode=verify-full` }));
  for (const loopback of ['127.0.0.1', 'localhost', '[::1]']) {
    t.notThrows(() => parseConfig({ ...valid, DATABASE_URL: `postgres://u@${loopback}:5432/db` }), loopback);
    t.notThrows(() =>
      parseConfig({ ...valid, DATABASE_URL: `postgres://u@${loopback}:5432/db?sslmode=disable` }),
    );
  }
  t.throws(
    () => parseConfig({ ...valid, DATABASE_URL: `${remote}?sslmode=verify-full`, DATABASE_TLS: 'disabled' }),
    { message: /DATABASE_TLS=disabled contradicts/ },
  );
  t.throws(() => parseConfig({ ...valid, DATABASE_TLS: 'off' }), {
    message: /DATABASE_TLS=off must be one of disabled/,
  });
  t.throws(() => parseConfig({ ...valid, DATABASE_URL: 'postgres:///db' }), { message: /names no host/ });
});

test('a port outside 1-65535 is refused in KAFKA_BROKERS, the URLs and STACK_* (was: KAFKA_BROKERS=h:99999 passed)', (t) => {
  for (const broker of ['127.0.0.1:99999', '127.0.0.1:0', '127.0.0.1:65536']) {
    t.throws(() => parseConfig({ ...valid, KAFKA_BROKERS: broker }), {
      message: new RegExp(`"${broker}" has a port outside 1-65535`),
    });
  }
  t.is(
    parseConfig({ ...valid, KAFKA_BROKERS: 'kafka.example:65535' }).kafka.brokers[0],
    'kafka.example:65535',
  );
  t.throws(() => parseConfig({ ...valid, SCHEMA_REGISTRY_URL: 'http://127.0.0.1:0/apis' }), {
    message: /SCHEMA_REGISTRY_URL has a port outside 1-65535/,
  });
  t.throws(() => parseConfig({ ...valid, DATABASE_URL: 'postgres://u:p@127.0.0.1:0/db' }), {
    message: /DATABASE_URL has a port outside 1-65535/,
  });
  t.throws(() => parseConfig({ ...valid, DATABASE_URL: 'postgres://u:p@127.0.0.1:70000/db' }), {
    message: /DATABASE_URL is not a valid URL/,
  });
  t.throws(() => parseStackSettings({ STACK_KAFKA_PORT: '70000' }), { message: /from 1024 to 65535/ });
});

test('consumer group timings are settings with documented defaults, heartbeat below a third of the session', (t) => {
  const { consumer } = parseConfig(valid);
  t.is(consumer.sessionTimeoutMs, 10_000);
  t.is(consumer.heartbeatIntervalMs, 1_000);
  t.is(consumer.rebalanceTimeoutMs, 30_000);
  t.is(consumer.shutdownTimeoutMs, 15_000);
  const custom = parseConfig({
    ...valid,
    CONSUMER_SESSION_TIMEOUT_MS: '45000',
    CONSUMER_HEARTBEAT_INTERVAL_MS: '3000',
    CONSUMER_REBALANCE_TIMEOUT_MS: '60000',
    CONSUMER_SHUTDOWN_TIMEOUT_MS: '5000',
  }).consumer;
  t.deepEqual(
    [
      custom.sessionTimeoutMs,
      custom.heartbeatIntervalMs,
      custom.rebalanceTimeoutMs,
      custom.shutdownTimeoutMs,
    ],
    [45_000, 3_000, 60_000, 5_000],
  );
  t.throws(() => parseConfig({ ...valid, CONSUMER_HEARTBEAT_INTERVAL_MS: '4000' }), {
    message:
      /CONSUMER_HEARTBEAT_INTERVAL_MS=4000 must be at most a third of CONSUMER_SESSION_TIMEOUT_MS=10000/,
  });
  // The broker's group.min.session.timeout.ms is 6 s by default: below it the join itself is refused.
  t.throws(() => parseConfig({ ...valid, CONSUMER_SESSION_TIMEOUT_MS: '3000' }), {
    message: /CONSUMER_SESSION_TIMEOUT_MS=3000 must be a whole number from 6000/,
  });
});

test('Kafka TLS without KAFKA_CA_FILE: KAFKA_TLS=true verifies with the system CA store (no CA given, never unverified)', (t) => {
  const config = parseConfig({ ...valid, KAFKA_TLS: 'true' });
  t.deepEqual(config.kafka.tls, {});
  const sasl = parseConfig({
    ...valid,
    KAFKA_TLS: 'true',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'avnadmin',
    KAFKA_SASL_PASSWORD: 'pw',
  });
  t.deepEqual(sasl.kafka.tls, {});
  t.is(sasl.kafka.sasl?.mechanism, 'scram-sha-512');
});

test('KAFKA_TLS=false with KAFKA_CA_FILE is a contradiction; a client certificate needs TLS', (t) => {
  const pki = throwawayPki();
  t.teardown(pki.remove);
  t.throws(() => parseConfig({ ...valid, KAFKA_TLS: 'false', KAFKA_CA_FILE: pki.caFile }), {
    message: /KAFKA_TLS=false contradicts KAFKA_CA_FILE/,
  });
  t.throws(
    () => parseConfig({ ...valid, KAFKA_CERT_FILE: pki.valid.certFile, KAFKA_KEY_FILE: pki.valid.keyFile }),
    { message: /KAFKA_CERT_FILE needs TLS/ },
  );
  const config = parseConfig({ ...valid, KAFKA_CA_FILE: pki.caFile });
  t.is(config.kafka.tls?.ca, readFileSync(pki.caFile, 'utf8'), 'a CA file alone turns TLS on');
});

test('a client key that is not the certificate’s is refused at start-up without echoing the key (was: retried by kafkajs as an outage)', (t) => {
  const pki = throwawayPki();
  t.teardown(pki.remove);
  const error = t.throws(
    () =>
      parseConfig({
        ...valid,
        KAFKA_CA_FILE: pki.caFile,
        KAFKA_CERT_FILE: pki.valid.certFile,
        KAFKA_KEY_FILE: pki.expired.keyFile,
      }),
    { instanceOf: ConfigurationError },
  );
  t.regex(error.message, /KAFKA_KEY_FILE is not the private key of the certificate in KAFKA_CERT_FILE/);
  const keyLines = pki.expired.key.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
  for (const line of keyLines) t.false(error.message.includes(line));
  t.throws(
    () =>
      parseConfig({
        ...valid,
        KAFKA_CA_FILE: pki.caFile,
        KAFKA_CERT_FILE: pki.valid.certFile,
        KAFKA_KEY_FILE: pki.caFile,
      }),
    { message: /KAFKA_KEY_FILE does not hold an unencrypted PEM private key/ },
  );
});

test('STACK_SECURE: off by default; its two listener ports are checked like the others', (t) => {
  const plain = parseStackSettings({});
  t.false(plain.secure);
  const secure = parseStackSettings({ STACK_SECURE: 'true' });
  t.true(secure.secure);
  t.is(secure.kafkaSslPort, 19094);
  t.is(secure.kafkaSaslSslPort, 19095);
  t.throws(() => parseStackSettings({ STACK_SECURE: 'true', STACK_KAFKA_SSL_PORT: '19092' }), {
    message: /must differ/,
  });
  t.throws(() => parseStackSettings({ STACK_SECURE: 'maybe' }), {
    message: /STACK_SECURE=maybe must be true or false/,
  });
});

test('observability settings: metrics off unless METRICS_PORT is set, loopback by default, stall threshold', (t) => {
  const config = parseConfig(valid);
  t.is(config.observability.metricsPort, undefined);
  t.is(config.observability.metricsHost, '127.0.0.1');
  t.is(config.observability.healthStallMs, 60_000);
  t.deepEqual(config.log, { level: 'info' });
  const set = parseConfig({
    ...valid,
    METRICS_PORT: '9464',
    METRICS_HOST: '0.0.0.0',
    HEALTH_STALL_MS: '5000',
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'json',
  });
  t.like(set.observability, { metricsPort: 9464, metricsHost: '0.0.0.0', healthStallMs: 5000 });
  t.deepEqual(set.log, { level: 'debug', format: 'json' });
  const error = t.throws(
    () => parseConfig({ ...valid, METRICS_PORT: '70000', LOG_LEVEL: 'loud', LOG_FORMAT: 'xml' }),
    { instanceOf: ConfigurationError },
  );
  t.is(error.problems.length, 3, error.message);
  t.regex(error.message, /METRICS_PORT=70000/);
  t.regex(error.message, /LOG_LEVEL=loud must be one of fatal, error, warn, info, debug, trace, silent/);
  t.throws(() => parseLogSettings({ LOG_FORMAT: 'xml' }), { message: /LOG_FORMAT=xml/ });
  t.deepEqual(parseLogSettings({}), { level: 'info' });
});
