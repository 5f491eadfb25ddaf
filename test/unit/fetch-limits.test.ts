import test from 'ava';
import { parseConfig } from '../../src/config.ts';
import { fetchLimits } from '../../src/consumer/fetch-limits.ts';

const env = {
  KAFKA_BROKERS: '127.0.0.1:19092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
  DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:15432/postgres',
};

test('by default a fetch asks for 512 KiB, each of the 4 concurrent partitions a quarter (was: 1 MiB a partition, 10 MiB a fetch, RSS ~400 MB replaying a backlog)', (t) => {
  const { consumer } = parseConfig(env);
  t.is(consumer.fetchMaxBytes, 524_288);
  t.deepEqual(fetchLimits(consumer), { maxBytes: 524_288, maxBytesPerPartition: 131_072 });
});

test('CONSUMER_FETCH_MAX_BYTES is shared by CONSUMER_PARTITION_CONCURRENCY partitions, never below 1 KiB each', (t) => {
  const { consumer } = parseConfig({
    ...env,
    CONSUMER_FETCH_MAX_BYTES: '16384',
    CONSUMER_PARTITION_CONCURRENCY: '64',
  });
  t.deepEqual(fetchLimits(consumer), { maxBytes: 16_384, maxBytesPerPartition: 1024 });
  t.throws(() => parseConfig({ ...env, CONSUMER_FETCH_MAX_BYTES: '1000' }), {
    message: /CONSUMER_FETCH_MAX_BYTES=1000 must be a whole number from 16384 to 268435456/,
  });
});
