import { IdleWaiters } from './idle-waiters.js';

export interface MergingBatchOptions<V> {
  /** Writes one batch (each key once); resolves once it is durable. */
  readonly write: (values: V[]) => Promise<void>;
  /** The value that supersedes both (e.g. the larger counts). */
  readonly merge: (older: V, newer: V) => V;
  /** Told when a write fails; its values are dropped (a later value for the same key writes them again). */
  readonly onError: (err: unknown) => void;
  /**
   * At least this long (ms) between the starts of two writes; 0 (default):
   * the next event-loop turn. A value that changes with every delivery
   * (receipt counts of a message in a big room) then costs one write per
   * interval, not one per turn.
   */
  readonly intervalMs?: number;
}

/**
 * Writes that are as many as deliveries (receipt counts, text cursors), where
 * a new value for a key supersedes the old: values are merged by key over an
 * event-loop turn and written in one call, with at most one write in flight;
 * what arrives meanwhile is merged into the next. A burst of a thousand
 * receipts for a few messages costs one write of a few rows, not a thousand.
 */
export class MergingBatch<V> {
  readonly #options: MergingBatchOptions<V>;
  #pending = new Map<string, V>();
  #inFlight: Map<string, V> | null = null;
  #scheduled = false;
  #lastWriteAt = -Infinity;
  readonly #idleWaiters = new IdleWaiters(() => this.#pending.size === 0 && this.#inFlight === null && !this.#scheduled);

  constructor(options: MergingBatchOptions<V>) {
    this.#options = options;
  }

  /** Queues `value` for `key`, merged with what is queued for it. */
  add(key: string, value: V): void {
    const before = this.#pending.get(key);
    this.#pending.set(key, before === undefined ? value : this.#options.merge(before, value));
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      void this.#writeNext();
    };
    const wait = this.#lastWriteAt + (this.#options.intervalMs ?? 0) - Date.now();
    if (wait <= 0) setImmediate(run);
    // Never keeps the process alive: shutdown calls flush, which waits for it.
    else setTimeout(run, wait).unref();
  }

  /** Every value queued or being written (merged per key): what a read of the storage may not show yet. */
  unwritten(): V[] {
    if (!this.#inFlight) return [...this.#pending.values()];
    const all = new Map(this.#inFlight);
    for (const [key, value] of this.#pending) {
      const before = all.get(key);
      all.set(key, before === undefined ? value : this.#options.merge(before, value));
    }
    return [...all.values()];
  }

  /** Resolves once everything queued so far has been written (or has failed). */
  flush(): Promise<void> {
    return this.#idleWaiters.wait();
  }

  async #writeNext(): Promise<void> {
    while (this.#pending.size > 0) {
      const batch = this.#pending;
      this.#pending = new Map();
      this.#inFlight = batch;
      this.#lastWriteAt = Date.now();
      try {
        await this.#options.write([...batch.values()]);
      } catch (err) {
        this.#options.onError(err);
      } finally {
        this.#inFlight = null;
      }
    }
    this.#idleWaiters.settled();
  }
}
