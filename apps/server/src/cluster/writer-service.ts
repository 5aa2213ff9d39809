import { IdleWaiters } from '../storage/idle-waiters.js';
import { messageProblem } from '../storage/storable.js';
import type { NewMessage, Storage } from '../storage/storage.js';
import { PerTurn } from '../util/per-turn.js';

/** What the service writes: messages, and the small writes that go with them. */
export type WriterStorage = Pick<Storage, 'append' | 'markSeen' | 'saveReceiptCounts' | 'saveTextCursors'>;
import {
  fromWire,
  parseWriterRequest,
  receiptCountsFromWire,
  textCursorFromWire,
  toOutcome,
  WRITER_TAG,
  type WireOutcome,
  type WriterReply,
} from './writer-protocol.js';

/** Where a reply goes: the worker that asked. Sending to a worker that is gone does nothing. */
export interface WriterPeer {
  send(reply: WriterReply): void;
}

interface AppendRequest {
  readonly peer: WriterPeer;
  readonly bid: number;
  readonly messages: readonly NewMessage[];
}

export interface MessageWriterServiceOptions {
  /** A transaction takes whole requests until it carries at least this many messages; default 1000. */
  readonly maxBatch?: number;
  readonly onError?: (err: unknown) => void;
}

/**
 * The primary's side of the machine's single message writer (SQLite only; see
 * main.ts). Workers send their group-commit batches here over IPC
 * (writer-client.ts) instead of taking SQLite's write lock themselves, which
 * made the worker that found it taken wait inside SQLite's busy handler with
 * its event loop blocked. Here:
 *
 * - Requests are committed in the order they arrived, and every request of a
 *   busy event-loop turn (both workers' batches) goes in one transaction,
 *   committed on the next turn (setImmediate) or as soon as the previous
 *   transaction settles. A request is never split, so one worker's messages
 *   keep their order, and the seqs of a conversation follow commit order.
 * - Each message's outcome (its seq, the earlier message it duplicates, or an
 *   error) goes back to the worker once the transaction has committed: the
 *   worker acknowledges nothing before that.
 * - A worker that died with requests in flight: they are committed (or not)
 *   all the same and the reply is dropped; its clients were not acknowledged,
 *   send again with the same refs on another worker and are answered with the
 *   stored message (dedupe on (from, ref)).
 * - `seen` marks, receipt counts and text cursors are written at once, each
 *   request in a transaction of its own: seen marks are rare (once per client
 *   id per worker), and a worker sends the others already merged, at most one
 *   request of each in flight (stored-message-log.ts).
 */
export class MessageWriterService {
  readonly #storage: WriterStorage;
  readonly #maxBatch: number;
  readonly #onError: (err: unknown) => void;
  #queue: AppendRequest[] = [];
  readonly #commitTurn = new PerTurn(() => void this.#commitNext());
  #inFlight = false;
  #closed = false;
  /** Seen marks, receipt counts and text cursors being written. */
  #sideInFlight = 0;
  readonly #idleWaiters = new IdleWaiters(() => this.#idle);

  constructor(storage: WriterStorage, options: MessageWriterServiceOptions = {}) {
    this.#storage = storage;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 1000);
    this.#onError = options.onError ?? (() => {});
  }

  /** Handles `raw` if it is a request to the writer (and answers `peer`); false if it is someone else's message. */
  receive(peer: WriterPeer, raw: unknown): boolean {
    const request = parseWriterRequest(raw);
    if (!request) return false;
    if ('problem' in request) {
      peer.send({ ch: WRITER_TAG, type: 'failed', bid: request.bid, error: `bad request to the message writer: ${request.problem}` });
      return true;
    }
    if (this.#closed) {
      peer.send({ ch: WRITER_TAG, type: 'failed', bid: request.bid, error: 'the message writer is closed' });
      return true;
    }
    if (request.type === 'seen') {
      const { ids } = request;
      this.#sideWrite(peer, request.bid, () => this.#storage.markSeen(ids));
      return true;
    }
    if (request.type === 'receipts') {
      const counts = request.counts.map(receiptCountsFromWire);
      this.#sideWrite(peer, request.bid, () => this.#storage.saveReceiptCounts(counts));
      return true;
    }
    if (request.type === 'text-cursors') {
      const cursors = request.cursors.map(textCursorFromWire);
      this.#sideWrite(peer, request.bid, () => this.#storage.saveTextCursors(cursors));
      return true;
    }
    this.#queue.push({ peer, bid: request.bid, messages: request.messages.map(fromWire) });
    if (!this.#inFlight) this.#commitTurn.schedule();
    return true;
  }

  /** Refuses further requests, and resolves once every request received so far has been answered. */
  close(): Promise<void> {
    this.#closed = true;
    return this.#idleWaiters.wait();
  }

  get #idle(): boolean {
    return this.#queue.length === 0 && !this.#inFlight && !this.#commitTurn.scheduled && this.#sideInFlight === 0;
  }

  #settled(): void {
    this.#idleWaiters.settled();
  }

  /** Runs one small write and answers `done` (or `failed`) once it has committed. */
  #sideWrite(peer: WriterPeer, bid: number, write: () => Promise<void>): void {
    this.#sideInFlight++;
    write()
      .then(
        () => peer.send({ ch: WRITER_TAG, type: 'done', bid, results: [] }),
        (err: unknown) => {
          this.#onError(err);
          peer.send({ ch: WRITER_TAG, type: 'failed', bid, error: (err as Error).message });
        },
      )
      .finally(() => {
        this.#sideInFlight--;
        this.#settled();
      });
  }

  /** Commits whole requests from the head of the queue, one transaction after another, until it is empty. */
  async #commitNext(): Promise<void> {
    while (this.#queue.length > 0) {
      let take = 0;
      let count = 0;
      while (take < this.#queue.length && (take === 0 || count < this.#maxBatch)) count += this.#queue[take++]!.messages.length;
      const requests = this.#queue.splice(0, take);
      this.#inFlight = true;
      // A message that can never be stored fails alone, before it can fail the transaction.
      const outcomes = requests.map((r) => r.messages.map((m): WireOutcome | null => messageProblem(m)));
      const batch = requests.flatMap((r, i) => r.messages.filter((_, j) => outcomes[i]![j] === null));
      let fill: (message: NewMessage) => WireOutcome;
      try {
        const results = batch.length === 0 ? [] : await this.#storage.append(batch);
        if (results.length !== batch.length) throw new Error(`storage returned ${results.length} results for ${batch.length} messages`);
        let k = 0;
        fill = (message) => toOutcome(message, results[k++]!);
      } catch (err) {
        this.#onError(err);
        const reason = `could not store the message: ${(err as Error).message}`;
        fill = () => reason;
      } finally {
        this.#inFlight = false;
      }
      // In batch order, as the results are.
      requests.forEach((r, i) => {
        r.messages.forEach((m, j) => {
          outcomes[i]![j] ??= fill(m);
        });
      });
      requests.forEach((r, i) => {
        r.peer.send({ ch: WRITER_TAG, type: 'done', bid: r.bid, results: outcomes[i] as WireOutcome[] });
      });
    }
    this.#settled();
  }
}
