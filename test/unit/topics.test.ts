import { join } from 'node:path';
import test from 'ava';
import type { Kafka } from 'kafkajs';
import { projectRoot } from '../../src/config.ts';
import { loadCatalog } from '../../src/contracts/catalog.ts';
import { createTopics } from '../../src/producer/topics.ts';

const catalog = loadCatalog(join(projectRoot, 'schemas'));

/** Just the admin calls createTopics makes; the first metadata answers lag, as a fresh broker's did. */
function fakeKafka(laggingAnswers: number) {
  let metadataCalls = 0;
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    listTopics: async () => [],
    createTopics: async () => true,
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
      metadataCalls++;
      if (metadataCalls <= laggingAnswers) {
        throw Object.assign(new Error('This server does not host this topic-partition'), {
          type: 'UNKNOWN_TOPIC_OR_PARTITION',
          retriable: true,
        });
      }
      return {
        topics: topics.map((name) => ({
          name,
          partitions: [0, 1, 2].map((p) => ({ partitionId: p, leader: 1 })),
        })),
      };
    },
  };
  return { kafka: { admin: () => admin } as unknown as Kafka, calls: () => metadataCalls };
}

test('topics just created whose metadata lags are asked for again (was: BROKER_UNAVAILABLE on a fresh broker)', async (t) => {
  const fake = fakeKafka(3);
  const states = await createTopics(fake.kafka, catalog);
  t.is(fake.calls(), 4);
  t.deepEqual(
    states.map((s) => [s.topic, s.status, s.actualPartitions]),
    catalog.entries.map((e) => [e.topic, 'created', 3]),
  );
});
