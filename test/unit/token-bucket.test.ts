import test from 'ava';
import { TokenBucket } from '../../src/producer/token-bucket.ts';

test('batches are paced to the rate with one wait per batch', async (t) => {
  let clock = 0;
  const waits: number[] = [];
  const bucket = new TokenBucket({
    ratePerSecond: 1000,
    now: () => clock,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
  });
  for (let i = 0; i < 10; i++) await bucket.take(500);
  // 5000 tokens at 1000/s from an empty bucket: five seconds, whatever the batch size.
  t.is(Math.round(clock), 5000);
  t.is(waits.length, 10);
});

test('idle time fills the bucket up to its capacity only', async (t) => {
  let clock = 0;
  let slept = 0;
  const bucket = new TokenBucket({
    ratePerSecond: 100,
    capacity: 100,
    now: () => clock,
    sleep: async (ms) => {
      slept += ms;
      clock += ms;
    },
  });
  clock = 60_000;
  await bucket.take(100);
  t.is(slept, 0, 'a full bucket passes one burst');
  await bucket.take(100);
  t.is(Math.round(slept), 1000);
});
