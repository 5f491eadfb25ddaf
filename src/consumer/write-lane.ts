/**
 * One partition's chunks on their way to PostgreSQL, written one after the other while the next ones are
 * fetched and decoded: the overlap that keeps the consumer busy during a COPY.
 *
 * Its whole reason to exist is one rule: a chunk is never written after an earlier chunk of its partition
 * failed or was abandoned. The moment a write does not complete, the lane is broken and every chunk queued
 * behind it is dropped unwritten; nothing more is accepted until the owner replaces the lane, starting from
 * the offset the database stores. (The database checks the same rule on its side: see `follows` in partition-writer.ts.)
 */

/** What a write reports: `abandoned` when it stopped before its messages were all stored (a shutdown). */
export type LaneWriteResult = 'written' | 'abandoned';

export type LaneJob = () => Promise<LaneWriteResult>;

export interface WriteLaneOptions {
  /**
   * Chunks that may wait behind the one being written: 0 lets a batch return to kafkajs (which then fetches
   * again) only once its chunks are written, 1 (the consumer's default) fetches and decodes the next chunk
   * while one is written.
   */
  writeAhead: number;
  /** Called once when a write throws (not for `abandoned`), with the error; the lane is broken by then. */
  onError(error: unknown): void;
}

export class WriteLane {
  readonly #options: WriteLaneOptions;
  readonly #queue: LaneJob[] = [];
  #running = false;
  #broken = false;
  /** Chunks accepted and not yet finished (queued and the one running). */
  #pending = 0;
  #wakers: (() => void)[] = [];
  /**
   * Offset (kafkajs string) of the last message of the last chunk accepted, or where the lane was reset
   * from, less one: the next chunk may be written only once the database stores a next offset above it.
   * Undefined when the lane starts at an offset the database does not know yet (a new partition).
   */
  follows: string | undefined;
  /**
   * The offset kafkajs should fetch next for the partition: after the last chunk accepted, where the lane was
   * sought to, or past a batch kafkajs resolved by itself (control records). Undefined until known. A batch
   * fetched from anywhere else means kafkajs moved the position on its own (its out-of-range recovery).
   */
  next: string | undefined;

  constructor(options: WriteLaneOptions, start: { follows?: string; next?: string } = {}) {
    this.#options = options;
    this.follows = start.follows;
    this.next = start.next;
  }

  /** True once a write failed or was abandoned: the lane takes nothing more until it is replaced. */
  get broken(): boolean {
    return this.#broken;
  }

  get pending(): number {
    return this.#pending;
  }

  /**
   * Queues a chunk whose last message is at `lastOffset`; its job runs after every chunk accepted before it
   * has been written. Refused (false) on a broken lane.
   */
  accept(job: LaneJob, lastOffset: string): boolean {
    if (this.#broken) return false;
    this.#queue.push(job);
    this.#pending++;
    this.follows = lastOffset;
    this.next = (BigInt(lastOffset) + 1n).toString();
    if (!this.#running) void this.#drain();
    return true;
  }

  /**
   * Resolves once at most `writeAhead` chunks (or `limit`, when lower) are pending, so that one more may be
   * accepted and memory stays bounded; at once when the lane is broken or `stop()` returns true.
   */
  async room(stop: () => boolean = () => false, limit = this.#options.writeAhead): Promise<void> {
    const most = Math.min(limit, this.#options.writeAhead);
    while (this.#pending > most && !this.#broken && !stop()) {
      await new Promise<void>((resolve) => this.#wakers.push(resolve));
    }
  }

  /** Resolves once nothing is pending (written, dropped or broken). */
  async idle(): Promise<void> {
    while (this.#pending > 0) await new Promise<void>((resolve) => this.#wakers.push(resolve));
  }

  /**
   * Takes the lane out of service when an assignment replaces it: nothing more is accepted, what is queued
   * is dropped unwritten (the new lane reads it again from the stored offset), a write in flight finishes.
   * Unlike a failure, no error is reported.
   */
  retire(): void {
    this.#broken = true;
    this.#queue.length = 0;
    this.#pending = this.#running ? 1 : 0;
    this.wake();
  }

  /** Wakes every `room()` and `idle()` waiter to look again (a stop began). */
  wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      for (let job = this.#queue.shift(); job !== undefined; job = this.#queue.shift()) {
        let result: LaneWriteResult;
        try {
          result = await job();
        } catch (error) {
          this.#break();
          this.#options.onError(error);
          return;
        }
        this.#pending--;
        if (result === 'abandoned') {
          this.#break();
          return;
        }
        this.wake();
      }
    } finally {
      this.#running = false;
    }
  }

  #break(): void {
    this.#broken = true;
    // The failed chunk and every one behind it: none of them will be written by this lane.
    this.#queue.length = 0;
    this.#pending = 0;
    this.wake();
  }
}
