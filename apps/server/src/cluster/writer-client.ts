import { WriterClosedError } from '../storage/group-commit.js';
import { IdleWaiters } from '../storage/idle-waiters.js';
import { messageProblem, UnstorableMessageError } from '../storage/storable.js';
import type { AppendResult, NewMessage, StoredReceiptCounts, TextCursor } from '../storage/storage.js';
import { postToPrimary } from './ipc.js';
import {
  fromOutcome,
  parseWriterReply,
  receiptCountsToWire,
  textCursorToWire,
  toWire,
  WRITER_TAG,
  type WriterReply,
  type WriterRequest,
} from './writer-protocol.js';
import { PerTurn } from '../util/per-turn.js';

/** How a worker reaches the primary's message writer: process IPC in production, an in-process pair in tests. */
export interface WriterChannel {
  /** Sends one request; false when the primary is gone. */
  post(request: WriterRequest): boolean;
  /** Calls `listener` for every message from the primary (the writer's replies among others). */
  subscribe(listener: (message: unknown) => void): void;
  /** Calls `listener` once when the primary is gone. */
  onClose(listener: () => void): void;
}

/** The channel of a cluster worker: `process.send`, the 'message' and 'disconnect' events. */
export const processWriterChannel: WriterChannel = {
  // A write the primary's departure cuts short: 'disconnect' (onClose) fails what is in flight.
  post: postToPrimary,
  subscribe(listener) {
    process.on('message', listener);
  },
  onClose(listener) {
    process.once('disconnect', listener);
  },
};

/** Thrown for the appends in flight when the primary (the writer) is gone. */
export class WriterGoneError extends Error {
  constructor() {
    super('the message writer (the primary) is gone');
    this.name = 'WriterGoneError';
  }
}

interface Pending {
  readonly message: NewMessage;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface InFlight {
  settle(reply: WriterReply): void;
  fail(error: unknown): void;
}

/**
 * A worker's message writer when the primary owns the only write path
 * (SQLite with WORKERS>1, see writer-service.ts): the same contract as
 * GroupCommitWriter (resolves once the message's transaction has committed;
 * one worker's messages keep their order), but the batch of each event-loop
 * turn is sent to the primary as one request instead of being written here.
 *
 * Requests are not held back while one is in flight: the primary answers
 * them in order and groups whatever arrived together into one transaction,
 * so the batch size follows the load there, and a worker never waits for a
 * round trip before its next batch leaves.
 */
export class WriterClient {
  readonly #channel: WriterChannel;
  readonly #maxRequest: number;
  readonly #inFlight = new Map<number, InFlight>();
  #queue: Pending[] = [];
  readonly #sendTurn = new PerTurn(() => this.#sendQueued());
  #nextBid = 0;
  #closed = false;
  #gone = false;
  readonly #idleWaiters = new IdleWaiters(() => this.#idle);

  constructor(channel: WriterChannel = processWriterChannel, options: { maxRequest?: number } = {}) {
    this.#channel = channel;
    this.#maxRequest = Math.max(1, options.maxRequest ?? 500);
    channel.subscribe((raw) => {
      const reply = parseWriterReply(raw);
      if (!reply) return;
      const request = this.#inFlight.get(reply.bid);
      if (!request) return;
      this.#inFlight.delete(reply.bid);
      request.settle(reply);
      this.#settled();
    });
    channel.onClose(() => {
      this.#gone = true;
      const requests = [...this.#inFlight.values()];
      this.#inFlight.clear();
      for (const request of requests) request.fail(new WriterGoneError());
      this.#sendQueued();
    });
  }

  /** Stores `message` with this turn's batch; resolves with its result once the primary has committed it. */
  append(message: NewMessage): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new WriterClosedError());
    const problem = messageProblem(message);
    if (problem) return Promise.reject(new UnstorableMessageError(message.id, problem));
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ message, resolve, reject });
      this.#sendTurn.schedule();
    });
  }

  /** Records that these client ids have connected, through the primary; resolves once it is durable. */
  markSeen(clientIds: readonly string[]): Promise<void> {
    if (clientIds.length === 0) return Promise.resolve();
    return this.#write((bid) => ({ ch: WRITER_TAG, type: 'seen', bid, ids: [...clientIds] }));
  }

  /** Stores receipt counts through the primary (Storage.saveReceiptCounts); resolves once it is durable. */
  saveReceiptCounts(counts: readonly StoredReceiptCounts[]): Promise<void> {
    if (counts.length === 0) return Promise.resolve();
    return this.#write((bid) => ({ ch: WRITER_TAG, type: 'receipts', bid, counts: counts.map(receiptCountsToWire) }));
  }

  /** Moves text cursors forward through the primary (Storage.saveTextCursors); resolves once it is durable. */
  saveTextCursors(cursors: readonly TextCursor[]): Promise<void> {
    if (cursors.length === 0) return Promise.resolve();
    return this.#write((bid) => ({ ch: WRITER_TAG, type: 'text-cursors', bid, cursors: cursors.map(textCursorToWire) }));
  }

  /** Sends a request that is answered by `done` alone (not an append); resolves once the primary has written it. */
  #write(request: (bid: number) => WriterRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#request(request, {
        settle: (reply) => (reply.type === 'done' ? resolve() : reject(new Error(reply.error))),
        fail: reject,
      });
    });
  }

  /** Resolves once every append and mark so far has been answered (or failed). */
  flush(): Promise<void> {
    return this.#idleWaiters.wait();
  }

  /** Refuses further appends (WriterClosedError) and flushes. */
  close(): Promise<void> {
    this.#closed = true;
    return this.flush();
  }

  get #idle(): boolean {
    return this.#queue.length === 0 && !this.#sendTurn.scheduled && this.#inFlight.size === 0;
  }

  #settled(): void {
    this.#idleWaiters.settled();
  }

  #sendQueued(): void {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxRequest);
      const messages = batch.map((p) => toWire(p.message));
      this.#request((bid) => ({ ch: WRITER_TAG, type: 'append', bid, messages }), {
        settle: (reply) => {
          if (reply.type === 'failed' || reply.results.length !== batch.length) {
            const error = new Error(reply.type === 'failed' ? reply.error : 'the message writer answered for another batch');
            for (const p of batch) p.reject(error);
            return;
          }
          batch.forEach((p, i) => {
            try {
              p.resolve(fromOutcome(p.message, reply.results[i]));
            } catch (error) {
              p.reject(error);
            }
          });
        },
        fail: (error) => {
          for (const p of batch) p.reject(error);
        },
      });
    }
    this.#settled();
  }

  /** Sends the request under a new batch id; `handler` gets the reply, or the reason there will be none. */
  #request(request: (bid: number) => WriterRequest, handler: InFlight): void {
    const bid = ++this.#nextBid;
    if (this.#gone || !this.#channel.post(request(bid))) {
      handler.fail(new WriterGoneError());
      return;
    }
    this.#inFlight.set(bid, handler);
  }
}
