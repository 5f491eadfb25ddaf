import test from 'ava';
import { parseConfig } from '../../src/config.ts';
import { createLogger, prettyLine } from '../../src/log/logger.ts';

function capture(format?: 'json' | 'pretty', isTty = false, level: 'info' | 'debug' = 'info') {
  const lines: string[] = [];
  const logger = createLogger(
    { level, ...(format ? { format } : {}) },
    { destination: { write: (line: string) => lines.push(line) }, isTty },
  );
  return { logger, lines };
}

const SECRETS = {
  KAFKA_BROKERS: '127.0.0.1:19092',
  SCHEMA_REGISTRY_URL: 'https://reg.example:443',
  SCHEMA_REGISTRY_USERNAME: 'avnadmin',
  SCHEMA_REGISTRY_PASSWORD: 'registry-s3cret',
  DATABASE_URL: 'postgres://avnadmin:db-s3cret@db.example:5432/defaultdb?sslmode=verify-full',
};

test('secrets in a logged configuration never reach the output, at any depth, in either format', (t) => {
  const config = parseConfig(SECRETS);
  const withSasl = {
    ...config,
    kafka: {
      ...config.kafka,
      sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'sasl-s3cret' },
      tls: { ca: 'CA', key: '-----BEGIN PRIVATE KEY----- key-s3cret' },
    },
  };
  for (const format of ['json', 'pretty'] as const) {
    const { logger, lines } = capture(format);
    logger.info({ config: withSasl }, 'configuration');
    logger.warn({ details: { env: SECRETS } }, 'environment');
    logger.info(withSasl.database, 'database');
    const text = lines.join('');
    t.is(lines.length, 3);
    for (const secret of ['registry-s3cret', 'db-s3cret', 'sasl-s3cret', 'key-s3cret']) {
      t.false(text.includes(secret), `${format}: ${secret} in ${text}`);
    }
    t.true(text.includes('[redacted]'));
    // Redaction is by path, not a blanket: what is not secret stays readable.
    t.true(text.includes('reg.example'));
    t.true(text.includes('127.0.0.1:19092'));
  }
});

test('JSON lines when not on a terminal, a readable line on one; LOG_FORMAT overrides either', (t) => {
  const piped = capture(undefined, false);
  piped.logger.warn({ topic: 'shop.orders' }, 'database: connection refused; retry 1 in 200 ms');
  const entry = JSON.parse(piped.lines[0]!);
  t.like(entry, {
    level: 'warn',
    topic: 'shop.orders',
    msg: 'database: connection refused; retry 1 in 200 ms',
  });
  t.regex(entry.time, /^\d{4}-\d\d-\d\dT/);

  const tty = capture(undefined, true);
  tty.logger.warn({ topic: 'shop.orders' }, 'retrying');
  t.regex(tty.lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}retrying topic=shop\.orders\n$/);

  const forced = capture('json', true);
  forced.logger.info('x');
  t.like(JSON.parse(forced.lines[0]!), { level: 'info', msg: 'x' });
});

test('LOG_LEVEL filters: debug lines only at debug', (t) => {
  const info = capture('json', false, 'info');
  info.logger.debug('hidden');
  info.logger.info('shown');
  t.deepEqual(
    info.lines.map((l) => JSON.parse(l).msg),
    ['shown'],
  );
  const debug = capture('json', false, 'debug');
  debug.logger.debug('shown');
  t.is(debug.lines.length, 1);
});

test('a line that is not JSON passes the pretty formatter unchanged', (t) => {
  t.is(prettyLine('plain\n'), 'plain\n');
});
