/**
 * What an error thrown inside a batch (a heartbeat, a commit, our own code) asks the consumer to do.
 *
 * kafkajs marks REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID `retriable: false`, yet
 * they are the normal life of a group that changes size: the member must rejoin, not stop. kafkajs' runner
 * rejoins by itself when such an error reaches it with its `type` on the error itself (runner.js checks
 * `e.type`, not a cause), so a rejoin error is rethrown as the protocol error found in the cause chain, never
 * wrapped in KafkaJSNonRetriableError / KafkaJSNumberOfRetriesExceeded.
 */
import { PipelineError, TransientError } from '../errors.ts';

/** kafkajs protocol error types after which the member rejoins the group (runner.js, consumerGroup.js). */
const REJOIN_TYPES = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
]);

export interface KafkaErrorKind {
  /** The group moved on without this member: end the batch and rethrow `rejoinError` to kafkajs. */
  needsRejoin: boolean;
  /** Retrying the batch can succeed (a service down, kafkajs' own retriable faults). */
  canRetry: boolean;
  /** For `needsRejoin`: the protocol error to rethrow, with the `type` kafkajs' runner checks. */
  rejoinError?: Error;
  /** The broker could not be reached or answered nothing: waiting and reconnecting can fix it. */
  brokerUnavailable: boolean;
}

/** Walks `cause` / `originalError` (kafkajs nests both ways) from the outer error inwards, at most 10 deep. */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = error;
  for (let depth = 0; depth < 10 && current !== undefined && current !== null; depth++) {
    if (chain.includes(current)) break;
    chain.push(current);
    const next =
      (current as { originalError?: unknown }).originalError ?? (current as { cause?: unknown }).cause;
    current = next;
  }
  return chain;
}

/**
 * kafkajs errors that mean "the broker is away", whatever their `retriable` flag: kafkajs reports a
 * coordinator lookup that found no reachable broker as final (KafkaJSGroupCoordinatorNotFound).
 */
const BROKER_UNAVAILABLE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
]);

export function kafkaErrorKind(error: unknown): KafkaErrorKind {
  const chain = causeChain(error);
  const rejoin = chain.find(
    (e) => e instanceof Error && REJOIN_TYPES.has(String((e as { type?: unknown }).type)),
  ) as Error | undefined;
  if (rejoin !== undefined) {
    return { needsRejoin: true, canRetry: false, rejoinError: rejoin, brokerUnavailable: false };
  }
  if (error instanceof TransientError)
    return { needsRejoin: false, canRetry: true, brokerUnavailable: false };
  const brokerUnavailable =
    !chain.some((e) => e instanceof PipelineError) &&
    chain.some((e) => BROKER_UNAVAILABLE_NAMES.has(String((e as { name?: unknown })?.name)));
  const retriable =
    !(error instanceof PipelineError) &&
    ((error as { retriable?: unknown })?.retriable === true ||
      (error as { name?: unknown })?.name === 'KafkaJSNumberOfRetriesExceeded');
  return { needsRejoin: false, canRetry: retriable || brokerUnavailable, brokerUnavailable };
}

/** The error that explains a stop: the innermost PipelineError of the chain, else the error itself. */
export function rootCause(error: unknown): unknown {
  return causeChain(error).find((e) => e instanceof PipelineError) ?? error;
}
