import { setTimeout as delay } from 'node:timers/promises';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { PipelineConsumer } from '../../src/consumer/pipeline-consumer.ts';
import type { PipelineFixture } from './pipeline-fixture.ts';

/**
 * Runs an in-process consumer until every message in the fixture's topics is in the database (lag 0),
 * then stops it gracefully. Bounded: fails after `timeoutMs`.
 */
export async function consumeUntilCaughtUp(
  fixture: PipelineFixture,
  options: { timeoutMs?: number; writeStrategy?: 'copy' | 'unnest' } = {},
): Promise<PipelineConsumer> {
  const consumer = new PipelineConsumer({
    kafka: fixture.kafka,
    pool: fixture.pool,
    decoder: new MessageDecoder(fixture.registry),
    catalog: fixture.catalog,
    settings: fixture.config.consumer,
    ...(options.writeStrategy ? { writeStrategy: options.writeStrategy } : {}),
  });
  await consumer.start();
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  // A consumer that stopped on a fatal error must fail the test with that error, not with a timeout.
  let crashed: unknown;
  consumer.done.catch((error: unknown) => {
    crashed = error;
  });
  try {
    while ((await consumer.lag()) > 0) {
      if (crashed !== undefined) throw crashed;
      if (Date.now() > deadline)
        throw new Error(`consumer did not catch up in ${options.timeoutMs ?? 60_000} ms`);
      await delay(100);
    }
  } finally {
    await consumer.stop();
  }
  await consumer.done;
  return consumer;
}
