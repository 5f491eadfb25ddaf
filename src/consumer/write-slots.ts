/**
 * Writes in flight across every partition, at most `size` at once: the pool holds that many connections for
 * them (CONSUMER_PARTITION_CONCURRENCY), and a partition's next chunk waits its turn here rather than in the
 * pool, whose wait is bounded by the connection timeout.
 */
export class WriteSlots {
  readonly #size: number;
  #used = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** Runs `work` once a slot is free; the slot is given back however `work` ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#used >= this.#size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#used++;
    try {
      return await work();
    } finally {
      // Handed straight to the next waiter: the count stays as it is.
      const next = this.#waiting.shift();
      if (next === undefined) this.#used--;
      else next();
    }
  }
}
