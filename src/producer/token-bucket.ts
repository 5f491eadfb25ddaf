/**
 * Rate limiting for producing: callers take tokens per batch, not per message, so a high rate costs one
 * timer per batch instead of one per event.
 */
export interface TokenBucketOptions {
  /** Tokens added per second: the sustained rate. */
  ratePerSecond: number;
  /** Most tokens held at once: how large a burst may be. Default one second's worth. */
  capacity?: number;
  /** Clock in milliseconds; tests pass their own. Default `performance.now`. */
  now?: () => number;
  /** How to wait; tests pass their own. Default a timer. */
  sleep?: (ms: number) => Promise<void>;
}

export class TokenBucket {
  private readonly rate: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private tokens: number;
  private updatedAt: number;

  constructor(options: TokenBucketOptions) {
    this.rate = options.ratePerSecond;
    this.capacity = options.capacity ?? options.ratePerSecond;
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    // Start empty: the first second is paced like every other one.
    this.tokens = 0;
    this.updatedAt = this.now();
  }

  /** Waits until `count` tokens are available, then takes them. `count` may exceed the capacity. */
  async take(count: number): Promise<void> {
    this.refill();
    // Going into debt lets a batch larger than the capacity pass once its whole cost has been waited for.
    this.tokens -= count;
    if (this.tokens < 0) {
      await this.sleep((-this.tokens / this.rate) * 1000);
      this.refill();
    }
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = now;
  }
}
