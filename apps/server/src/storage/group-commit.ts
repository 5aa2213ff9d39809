import type { AppendResult, NewMessage, Storage } from './storage.js';
import { messageProblem, UnstorableMessageError } from './storable.js';
import { IdleWaiters } from './idle-waiters.js';
import { PerTurn } from '../util/per-turn.js';

export interface GroupCommitOptions {
  /** The most messages one commit carries; default 500. */
  readonly maxBatch?: number;
}

/** Thrown by append() after close(). */
export class WriterClosedError extends Error {
  constructor() {
    super('the group-commit writer is closed');
    this.name = 'WriterClosedError';
  }
}

interface Pending {
  readonly message: NewMessage;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/**
 * Turns many single-message appends into few transactions (group commit), so
 * that the cost of a commit (an fsync, a round trip) is shared by every
 * message that arrived while the previous one was being written:
 *
 * - When no commit is in flight, the first message starts a batch that
 *   commits on the next turn of the event loop (setImmediate), so every
 *   message of a busy turn goes in it; an idle server adds no more delay than
 *   one turn.
 * - While a commit is in flight, new messages queue and go in the next
 *   commit, which starts as soon as that one settles. Batches grow with the
 *   load, up to `maxBatch`.
 * - Messages are handed to the storage in the order append() was called, so
 *   one conversation's seqs follow that order.
 * - A commit that fails rejects every message of its batch with the error
 *   (the caller answers each sender with an error); later batches go on. A
 *   message that can never be stored (see messageProblem) is rejected alone,
 *   before it can fail a batch.
 *
 * Each append resolves only after its transaction has committed: then the
 * message is as durable as the storage makes a commit.
 */
export class GroupCommitWriter {
  readonly #storage: Pick<Storage, 'append'>;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  readonly #commitTurn = new PerTurn(() => void this.#commitNext());
  #inFlight = false;
  #closed = false;
  readonly #idleWaiters = new IdleWaiters(() => this.#idle);

  constructor(storage: Pick<Storage, 'append'>, options: GroupCommitOptions = {}) {
    this.#storage = storage;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 500);
  }

  /** Stores `message` with the next batch; resolves with its result once that batch has committed. */
  append(message: NewMessage): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new WriterClosedError());
    const problem = messageProblem(message);
    if (problem) return Promise.reject(new UnstorableMessageError(message.id, problem));
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ message, resolve, reject });
      if (!this.#inFlight) this.#commitTurn.schedule();
    });
  }

  /** Resolves once every message appended so far has been committed or rejected (for shutdown). */
  flush(): Promise<void> {
    return this.#idleWaiters.wait();
  }

  /** Refuses further appends (WriterClosedError) and flushes. The storage stays open: its owner closes it. */
  close(): Promise<void> {
    this.#closed = true;
    return this.flush();
  }

  get #idle(): boolean {
    return this.#queue.length === 0 && !this.#inFlight && !this.#commitTurn.scheduled;
  }

  /** Commits the head of the queue, then the next batch at once if more arrived meanwhile. */
  async #commitNext(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight = true;
      try {
        const results = await this.#storage.append(batch.map((p) => p.message));
        if (results.length !== batch.length) {
          throw new Error(`storage returned ${results.length} results for ${batch.length} messages`);
        }
        batch.forEach((p, i) => {
          p.resolve(results[i]!);
        });
      } catch (error) {
        for (const p of batch) p.reject(error);
      } finally {
        this.#inFlight = false;
      }
    }
    this.#idleWaiters.settled();
  }
}
