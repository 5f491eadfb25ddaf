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
  try {
    await consumer.caughtUp(options.timeoutMs ?? 60_000);
  } finally {
    await consumer.stop();
  }
  await consumer.done;
  return consumer;
}
