import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import type { ConsumerSettings } from '../../src/config.ts';
import { PipelineConsumer, type PipelineConsumerOptions } from '../../src/consumer/pipeline-consumer.ts';
import type { PipelineFixture } from './pipeline-fixture.ts';

/** An in-process consumer of the fixture's services, its settings changed by `settings`. */
export function fixtureConsumer(
  fx: PipelineFixture,
  settings: Partial<ConsumerSettings> = {},
  options: Partial<Omit<PipelineConsumerOptions, 'settings'>> = {},
): PipelineConsumer {
  return new PipelineConsumer({
    kafka: fx.kafka,
    pool: fx.pool,
    decoder: new MessageDecoder(fx.registry),
    catalog: fx.catalog,
    ...options,
    settings: { ...fx.config.consumer, ...settings },
  });
}
