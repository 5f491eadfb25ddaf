import test from 'ava';
import { heartbeatWhile } from '../../src/consumer/heartbeat-while.ts';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('a step longer than the session keeps heartbeating (was: one heartbeat per chunk, after it)', async (t) => {
  const step = deferred<string>();
  let beats = 0;
  const third = deferred<void>();
  const result = heartbeatWhile(
    () => step.promise,
    async () => {
      beats++;
      if (beats === 3) third.resolve();
    },
    5,
  );
  await third.promise;
  step.resolve('written');
  t.is(await result, 'written');
  const after = beats;
  await new Promise((r) => setTimeout(r, 30));
  t.is(beats, after, 'no heartbeat after the step');
});

test('a refused heartbeat does not abandon the step, and heartbeats do not pile up', async (t) => {
  const step = deferred<number>();
  const hanging = deferred<void>();
  let calls = 0;
  const first = deferred<void>();
  const result = heartbeatWhile(
    () => step.promise,
    () => {
      calls++;
      first.resolve();
      // The first heartbeat never answers; the timer must not stack more behind it.
      return hanging.promise.then(() => Promise.reject(new Error('The group is rebalancing')));
    },
    2,
  );
  await first.promise;
  await new Promise((r) => setTimeout(r, 30));
  t.is(calls, 1);
  hanging.resolve();
  step.resolve(7);
  t.is(await result, 7);
});

test('the step error propagates and the timer stops', async (t) => {
  let beats = 0;
  await t.throwsAsync(
    heartbeatWhile(
      () => Promise.reject(new Error('copy failed')),
      async () => {
        beats++;
      },
      1,
    ),
    { message: 'copy failed' },
  );
  const after = beats;
  await new Promise((r) => setTimeout(r, 20));
  t.is(beats, after);
});
