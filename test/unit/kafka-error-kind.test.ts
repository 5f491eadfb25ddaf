import test from 'ava';
import kafkajs from 'kafkajs';
import { kafkaErrorKind, rootCause } from '../../src/consumer/kafka-error-kind.ts';
import { PipelineError, TransientError } from '../../src/errors.ts';

// kafkajs is CommonJS and spreads its error classes into its exports, which ESM named imports cannot see.
const { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;
// Typed with one argument; kafkajs' retrier (src/retry/index.js) passes the cause as a second.
const KafkaJSNonRetriableError = kafkajs.KafkaJSNonRetriableError as unknown as new (
  e: Error,
  options: { cause: Error },
) => Error;

// What kafkajs' broker layer throws (src/protocol/error.js): the type is what its runner rejoins on.
function protocolError(type: string, message: string): Error {
  return new KafkaJSProtocolError(
    Object.assign(new Error(message), { type, code: 0, retriable: false }) as unknown as string,
  );
}

test('a rebalance from a heartbeat needs a rejoin, not a stop (was: CONSUMER_CRASHED "The group is rebalancing")', (t) => {
  for (const type of ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']) {
    const error = protocolError(type, `${type} message`);
    const kind = kafkaErrorKind(error);
    t.true(kind.needsRejoin, type);
    t.false(kind.canRetry, type);
    t.is(kind.rejoinError, error);
    t.is((kind.rejoinError as { type?: string }).type, type);
  }
});

test('a rejoin error wrapped by kafkajs retries is unwrapped to the protocol error its runner checks', (t) => {
  const inner = protocolError('UNKNOWN_MEMBER_ID', 'The coordinator is not aware of this member');
  const exceeded = new KafkaJSNumberOfRetriesExceeded(inner, { retryCount: 5, retryTime: 1000 });
  const wrapped = new KafkaJSNonRetriableError(exceeded, { cause: inner });
  for (const outer of [exceeded, wrapped]) {
    const kind = kafkaErrorKind(outer);
    t.true(kind.needsRejoin);
    t.is(kind.rejoinError, inner);
  }
});

test('transient and kafkajs-retriable errors are retried; contract errors and bugs are not', (t) => {
  t.deepEqual(kafkaErrorKind(new TransientError('DATABASE_UNAVAILABLE', 'down')), {
    needsRejoin: false,
    canRetry: true,
    brokerUnavailable: false,
  });
  t.true(kafkaErrorKind(Object.assign(new Error('Connection error'), { retriable: true })).canRetry);
  t.false(kafkaErrorKind(new PipelineError('CONTRACT_MISMATCH', 'no')).canRetry);
  t.false(kafkaErrorKind(new TypeError('x is undefined')).canRetry);
  t.false(kafkaErrorKind(protocolError('TOPIC_AUTHORIZATION_FAILED', 'denied')).needsRejoin);
});

test('rootCause finds the PipelineError kafkajs wrapped, else keeps the error', (t) => {
  const ours = new PipelineError('CONTRACT_MISMATCH', 'no');
  const exceeded = new KafkaJSNumberOfRetriesExceeded(ours as unknown as Error, {
    retryCount: 1,
    retryTime: 1,
  });
  t.is(rootCause(exceeded), ours);
  const plain = new Error('plain');
  t.is(rootCause(plain), plain);
});

test('a broker away is restartable even where kafkajs calls it final (was: exit 1 "Failed to find group coordinator")', (t) => {
  // Typed without arguments; kafkajs' cluster passes the message.
  const NotFound = kafkajs.KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error;
  const notFound = new NotFound('Failed to find group coordinator');
  const wrapped = new KafkaJSNonRetriableError(notFound, { cause: notFound });
  for (const error of [notFound, wrapped]) {
    const kind = kafkaErrorKind(error);
    t.true(kind.brokerUnavailable);
    t.true(kind.canRetry);
    t.false(kind.needsRejoin);
  }
  const refused = new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  t.true(kafkaErrorKind(refused).brokerUnavailable);
  t.false(kafkaErrorKind(new PipelineError('CONTRACT_MISMATCH', 'no')).brokerUnavailable);
  t.false(kafkaErrorKind(protocolError('TOPIC_AUTHORIZATION_FAILED', 'denied')).brokerUnavailable);
});
