import { setTimeout as delay } from 'node:timers/promises';
import { TransientError } from '../errors.ts';

export interface RetryOptions {
  /** Stop retrying (and rethrow) once this turns false, e.g. on shutdown or after losing the partition. */
  shouldContinue(): boolean;
  /** Called while waiting, so that a long outage does not cost the group membership. */
  heartbeat(): Promise<void>;
  onRetry(error: TransientError, attempt: number, waitMs: number): void;
  /** First wait, doubled each time up to `maxDelayMs`. Defaults 200 ms and 10 s. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `operation` until it succeeds, retrying only TransientError (a service down, a deadlock) with capped
 * exponential backoff and jitter. Any other error is final and propagates at once.
 */
export async function retryTransient<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof TransientError) || !options.shouldContinue()) throw error;
      const waitMs = Math.min(max, initial * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      options.onRetry(error, attempt, Math.round(waitMs));
      const until = Date.now() + waitMs;
      while (Date.now() < until && options.shouldContinue()) {
        await delay(Math.min(1000, until - Date.now()));
        // Not swallowed: a heartbeat refused because the group rebalances must end this batch now, or the
        // whole group waits for this member until the rebalance times out.
        await options.heartbeat();
      }
      if (!options.shouldContinue()) throw error;
    }
  }
}
