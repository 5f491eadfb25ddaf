import test from 'ava';
import { type RetryOptions, retryTransient } from '../../src/consumer/retry-transient.ts';
import { PipelineError, PoisonMessageError, TransientError } from '../../src/errors.ts';

const down = () => new TransientError('DATABASE_UNAVAILABLE', 'database unavailable: Connection terminated');

/** Options that record every retry and heartbeat; waits of a few milliseconds keep the test fast. */
function recording(overrides: Partial<RetryOptions> = {}) {
  const retries: { attempt: number; waitMs: number; code: string }[] = [];
  let heartbeats = 0;
  const options: RetryOptions = {
    shouldContinue: () => true,
    heartbeat: async () => {
      heartbeats++;
    },
    onRetry: (error, attempt, waitMs) => retries.push({ attempt, waitMs, code: error.code }),
    initialDelayMs: 2,
    maxDelayMs: 8,
    ...overrides,
  };
  return { options, retries, heartbeats: () => heartbeats };
}

/** An operation that fails with the given errors in turn, then returns 'done'. */
function failing(...errors: Error[]) {
  let calls = 0;
  return {
    calls: () => calls,
    operation: async () => {
      const error = errors[calls++];
      if (error !== undefined) throw error;
      return 'done';
    },
  };
}

test('transient faults are retried until the operation succeeds', async (t) => {
  const { options, retries } = recording();
  const op = failing(down(), down(), down(), down());
  t.is(await retryTransient(op.operation, options), 'done');
  t.is(op.calls(), 5);
  t.deepEqual(
    retries.map((r) => r.attempt),
    [1, 2, 3, 4],
  );
  t.true(retries.every((r) => r.code === 'DATABASE_UNAVAILABLE'));
});

// The waits below are long enough (≥ 750 ms) that the wait loop surely runs its heartbeat at least once.
const LONG_WAIT = { initialDelayMs: 1000, maxDelayMs: 1000 };

test('the consumer heartbeats while it waits to retry, so a long outage keeps the group membership', async (t) => {
  const { options, heartbeats } = recording(LONG_WAIT);
  t.is(await retryTransient(failing(down()).operation, options), 'done');
  t.true(heartbeats() >= 1);
});

test('the wait doubles from the initial delay up to the cap, within ±25 % jitter', async (t) => {
  const { options, retries } = recording({ initialDelayMs: 4, maxDelayMs: 16 });
  await retryTransient(failing(down(), down(), down(), down(), down()).operation, options);
  const nominal = [4, 8, 16, 16, 16];
  retries.forEach((r, i) => {
    t.true(r.waitMs >= Math.floor(nominal[i]! * 0.75), `attempt ${r.attempt}: ${r.waitMs} ms`);
    t.true(r.waitMs <= Math.ceil(nominal[i]! * 1.25), `attempt ${r.attempt}: ${r.waitMs} ms`);
  });
});

test('a poison message or a contract error is final: thrown at once, never retried', async (t) => {
  for (const error of [
    new PoisonMessageError('ROW_REJECTED', 'value too long', { sqlState: '22001' }),
    new PipelineError('CONTRACT_MISMATCH', 'column "x" does not exist'),
    new Error('a bug'),
  ]) {
    const { options, retries } = recording();
    const op = failing(error);
    t.is(await t.throwsAsync(retryTransient(op.operation, options)), error);
    t.is(op.calls(), 1);
    t.deepEqual(retries, []);
  }
});

test('a transient fault after shutdown began is rethrown instead of retried', async (t) => {
  const { options, retries } = recording({ shouldContinue: () => false });
  const error = down();
  t.is(await t.throwsAsync(retryTransient(failing(error).operation, options)), error);
  t.deepEqual(retries, []);
});

test('losing the partition during the wait ends the retry with the fault, without another attempt', async (t) => {
  let live = true;
  const { options, retries } = recording({
    ...LONG_WAIT,
    shouldContinue: () => live,
    heartbeat: async () => {
      live = false;
    },
  });
  const error = down();
  const op = failing(error, down());
  t.is(await t.throwsAsync(retryTransient(op.operation, options)), error);
  t.is(op.calls(), 1, 'not tried again once the partition is gone');
  t.is(retries.length, 1);
});

test('a refused heartbeat (the group rebalances) ends the retry with that error', async (t) => {
  const rebalancing = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
  const { options } = recording({
    ...LONG_WAIT,
    heartbeat: async () => {
      throw rebalancing;
    },
  });
  const op = failing(down(), down());
  t.is(await t.throwsAsync(retryTransient(op.operation, options)), rebalancing);
  t.is(op.calls(), 1);
});
