/**
 * kafkajs' log entries into the program's logger. kafkajs logs at ERROR states it retries itself and that
 * are harmless (a fresh broker's coordinator still loading, a rebalance, a leader election, metadata not yet
 * showing a topic just created): at error level they page someone for nothing. These go to debug; what
 * kafkajs retries otherwise (a broker connection, a consumer restart) is a warning; the rest stays an error.
 */
import { type logCreator, logLevel } from 'kafkajs';
import type { Logger } from './logger.ts';

/** kafkajs' messages (src/protocol/error.js) of the retriable broker states a healthy cluster goes through. */
const TRANSIENT_STATES = [
  "The coordinator is loading and hence can't process requests", // GROUP_LOAD_IN_PROGRESS
  'The group coordinator is not available', // GROUP_COORDINATOR_NOT_AVAILABLE
  'This is not the correct coordinator', // NOT_COORDINATOR_FOR_GROUP
  'The group is rebalancing, so a rejoin is needed', // REBALANCE_IN_PROGRESS
  'There is no leader for this topic-partition', // LEADER_NOT_AVAILABLE
  'This server is not the leader for that topic-partition', // NOT_LEADER_FOR_PARTITION
  'This server does not host this topic-partition', // UNKNOWN_TOPIC_OR_PARTITION: metadata behind a creation
  'The coordinator is not aware of this member', // UNKNOWN_MEMBER_ID: kafkajs rejoins
];

/**
 * kafkajs' warnings about choices the project made on purpose (the default partitioner, the producer's
 * bounded retries with an idempotent producer: kafkajs retries them, then the producer's caller does).
 */
const DELIBERATE_SETTINGS = [
  'KafkaJS v2.0.0 switched default partitioner',
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
];

export type PinoLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** The pino level of one kafkajs entry. */
export function kafkaEntryLevel(
  level: logLevel,
  entry: { message: string; [field: string]: unknown },
): PinoLevel {
  if (level === logLevel.DEBUG) return 'trace';
  // kafkajs' INFO is its internal life (starting, joined the group with the whole assignment): detail.
  if (level === logLevel.INFO) return 'debug';
  const text = `${entry.message} ${typeof entry.error === 'string' ? entry.error : ''}`;
  if (TRANSIENT_STATES.some((state) => text.includes(state))) return 'debug';
  if (DELIBERATE_SETTINGS.some((notice) => entry.message.startsWith(notice))) return 'debug';
  if (level === logLevel.WARN) return 'warn';
  // Retried by kafkajs (it says so with retryCount/retryTime), or its consumer restarting itself.
  if ('retryCount' in entry || 'retryTime' in entry || entry.message.startsWith('Restarting the consumer'))
    return 'warn';
  return 'error';
}

/** The kafkajs log level that lets through what the logger will print, and nothing more. */
export function kafkaLogLevel(logger: Logger): logLevel {
  switch (logger.level) {
    case 'trace':
      return logLevel.DEBUG;
    case 'debug':
      return logLevel.INFO;
    case 'info':
    case 'warn':
      // A retried error is a warning here: kafkajs must pass its errors for them to be graded.
      return logLevel.WARN;
    case 'error':
    case 'fatal':
      return logLevel.ERROR;
    default:
      return logLevel.NOTHING;
  }
}

export function kafkaLogCreator(logger: Logger, muted: () => boolean = () => false): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      if (muted()) return;
      const { message, timestamp: _timestamp, logger: _name, ...fields } = entry;
      logger[kafkaEntryLevel(level, entry)]({ component: 'kafkajs', namespace, ...fields }, message);
    };
}
