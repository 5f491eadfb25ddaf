import test from 'ava';
import { logLevel } from 'kafkajs';
import { kafkaEntryLevel, kafkaLogCreator, kafkaLogLevel } from '../../src/log/kafka-log.ts';
import { createLogger } from '../../src/log/logger.ts';

function capture(level: 'info' | 'debug' | 'error' = 'info') {
  const lines: string[] = [];
  const logger = createLogger(
    { level, format: 'json' },
    { destination: { write: (l: string) => lines.push(l) } },
  );
  return { logger, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

// What kafkajs 2.2.4 logs on a fresh broker (src/network/connection.js, consumer/index.js).
const COORDINATOR_LOADING = {
  message: 'Response GroupCoordinator(key: 10, version: 2)',
  error: "The coordinator is loading and hence can't process requests for this group",
  correlationId: 1,
  size: 55,
};

test("a fresh broker's retriable states are debug, not error (was: kafkajs ERROR lines in the demo)", (t) => {
  t.is(kafkaEntryLevel(logLevel.ERROR, COORDINATOR_LOADING), 'debug');
  for (const error of [
    'The group coordinator is not available',
    'This is not the correct coordinator for this group',
    'The group is rebalancing, so a rejoin is needed',
    'There is no leader for this topic-partition as we are in the middle of a leadership election',
    'This server is not the leader for that topic-partition',
    'This server does not host this topic-partition',
  ]) {
    t.is(
      kafkaEntryLevel(logLevel.ERROR, { message: 'Response Metadata(key: 3, version: 6)', error }),
      'debug',
      error,
    );
  }
});

test("kafkajs' warnings about the project's deliberate producer settings are debug (was: two WARN lines per produce)", (t) => {
  t.is(
    kafkaEntryLevel(logLevel.WARN, {
      message: 'KafkaJS v2.0.0 switched default partitioner. To retain the same partitioning behavior …',
    }),
    'debug',
  );
  t.is(
    kafkaEntryLevel(logLevel.WARN, {
      message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees',
    }),
    'debug',
  );
});

test('what kafkajs retries itself is a warning; anything else stays an error', (t) => {
  t.is(
    kafkaEntryLevel(logLevel.ERROR, {
      message: 'Failed to connect to broker, reconnecting',
      retryCount: 1,
      retryTime: 300,
    }),
    'warn',
  );
  t.is(kafkaEntryLevel(logLevel.ERROR, { message: 'Restarting the consumer in 300ms' }), 'warn');
  t.is(kafkaEntryLevel(logLevel.ERROR, { message: 'SASL SCRAM SHA256 authentication failed' }), 'error');
  t.is(kafkaEntryLevel(logLevel.WARN, { message: 'Consumer group received unsubscribed topics' }), 'warn');
  t.is(kafkaEntryLevel(logLevel.INFO, { message: 'Consumer has joined the group' }), 'debug');
  t.is(kafkaEntryLevel(logLevel.DEBUG, { message: 'Request Fetch' }), 'trace');
});

test('kafkajs entries become one structured line of the program logger, level graded, muted on demand', (t) => {
  const { logger, entries } = capture('debug');
  let muted = false;
  const log = kafkaLogCreator(logger, () => muted)(logLevel.DEBUG);
  const at = (level: logLevel, entry: Record<string, unknown> & { message: string }) =>
    log({
      namespace: 'Connection',
      level,
      label: 'ERROR',
      log: { timestamp: 'x', logger: 'kafkajs', ...entry },
    });
  at(logLevel.ERROR, COORDINATOR_LOADING);
  at(logLevel.ERROR, { message: 'SASL SCRAM SHA256 authentication failed', broker: 'b:9092' });
  muted = true;
  at(logLevel.ERROR, { message: 'dropped while muted' });
  t.deepEqual(
    entries().map((e) => [e.level, e.msg, e.component, e.namespace]),
    [
      ['debug', COORDINATOR_LOADING.message, 'kafkajs', 'Connection'],
      ['error', 'SASL SCRAM SHA256 authentication failed', 'kafkajs', 'Connection'],
    ],
  );
  t.is(entries()[0]!.error, COORDINATOR_LOADING.error);
});

test("kafkajs' own level lets through what the logger prints and no more", (t) => {
  t.is(kafkaLogLevel(capture('info').logger), logLevel.WARN);
  t.is(kafkaLogLevel(capture('debug').logger), logLevel.INFO);
  t.is(kafkaLogLevel(capture('error').logger), logLevel.ERROR);
  t.is(
    kafkaLogLevel(createLogger({ level: 'silent' }, { destination: { write: () => 0 } })),
    logLevel.NOTHING,
  );
});
