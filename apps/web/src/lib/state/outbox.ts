import type { SendFrame } from '@chorus/protocol';
import type { OutboxEntry } from '../store/chat-store.js';
import { realTimers, type Timers } from './timers.js';

/** What an {@link Outbox} needs from its owner. */
export interface OutboxOptions {
  /** Sends one frame; false when it could not go out (not connected). */
  send(frame: SendFrame): boolean;
  /** Keeps an entry (new, or refused) where it survives a reload. */
  save(entry: OutboxEntry): void;
  /** Removes an entry that was acknowledged. */
  remove(ref: string): void;
  readonly timers?: Timers;
  /** Delay before the n-th resend of a send the server could not store (n from 0). */
  readonly retryDelayMs?: (attempt: number) => number;
}

/**
 * My messages until the server acknowledges them: kept in the store (they
 * survive a reload) and sent in the order they were written, each always with
 * its original send id, so that a retry is stored once. While the connection
 * is not ready (offline, or not resumed yet) they wait; when it becomes ready
 * every waiting one goes out, in order. A send the server could not store
 * (STORAGE_FAILED) is sent again after a delay; one it refused for good stays
 * as failed, and is never sent again.
 */
export class Outbox {
  readonly #options: OutboxOptions;
  readonly #timers: Timers;
  /** By ref, in the order written. */
  readonly #entries = new Map<string, OutboxEntry>();
  readonly #retries = new Map<string, { timer: unknown; attempt: number }>();
  #ready = false;
  #order = 0;

  constructor(options: OutboxOptions) {
    this.#options = options;
    this.#timers = options.timers ?? realTimers;
  }

  /** Takes back what the store kept (before connecting). */
  restore(entries: readonly OutboxEntry[]): void {
    for (const entry of [...entries].sort((a, b) => a.order - b.order)) {
      this.#entries.set(entry.ref, entry);
      this.#order = Math.max(this.#order, entry.order);
    }
  }

  /** The order number of the next message written (increasing, across reloads too). */
  nextOrder(now = Date.now()): number {
    this.#order = Math.max(this.#order + 1, now);
    return this.#order;
  }

  /** A new message: kept, and sent at once if the connection is ready. */
  add(entry: OutboxEntry): void {
    this.#entries.set(entry.ref, entry);
    this.#options.save(entry);
    if (this.#ready) this.#send(entry);
  }

  /** The connection is ready (welcomed, resume sent): sends every waiting message, in order. */
  ready(): void {
    this.#ready = true;
    for (const entry of this.#entries.values()) {
      if (entry.failure === null && !this.#send(entry)) break;
    }
  }

  /**
   * Sends every waiting message again, in order, with its original id: the
   * server dropped frames without saying which (RATE_LIMITED). One it had
   * stored is acknowledged again, not stored twice.
   */
  resend(): void {
    if (this.#ready) this.ready();
  }

  /** The connection is gone: nothing is sent until the next {@link ready}. */
  lost(): void {
    this.#ready = false;
    for (const { timer } of this.#retries.values()) this.#timers.clearTimeout(timer);
    this.#retries.clear();
  }

  /** The server acknowledged `ref`: returns the entry it was (undefined for a repeated ack). */
  acked(ref: string): OutboxEntry | undefined {
    const entry = this.#entries.get(ref);
    if (!entry) return undefined;
    this.#entries.delete(ref);
    this.#clearRetry(ref);
    this.#options.remove(ref);
    return entry;
  }

  /** The server refused `ref` for good: it stays, marked, and is not sent again. */
  failed(ref: string, reason: string): OutboxEntry | undefined {
    const entry = this.#entries.get(ref);
    if (!entry) return undefined;
    this.#clearRetry(ref);
    const failed = { ...entry, failure: reason };
    this.#entries.set(ref, failed);
    this.#options.save(failed);
    return failed;
  }

  /** The server could not store `ref` (retryable): sends it again, same id, after a delay. */
  retryLater(ref: string): boolean {
    const entry = this.#entries.get(ref);
    if (!entry || entry.failure !== null) return false;
    const attempt = (this.#retries.get(ref)?.attempt ?? -1) + 1;
    this.#clearRetry(ref);
    const delay = this.#options.retryDelayMs?.(attempt) ?? Math.min(30_000, 500 * 2 ** attempt);
    const timer = this.#timers.setTimeout(() => {
      const retry = this.#retries.get(ref);
      if (retry) retry.timer = null;
      const current = this.#entries.get(ref);
      if (current && current.failure === null && this.#ready) this.#send(current);
    }, delay);
    this.#retries.set(ref, { timer, attempt });
    return true;
  }

  /** Whether `ref` is one of mine waiting for its ack. */
  has(ref: string): boolean {
    return this.#entries.get(ref)?.failure === null;
  }

  /** Every entry, waiting or refused, in the order written. */
  get entries(): OutboxEntry[] {
    return [...this.#entries.values()];
  }

  /** How many wait for an ack. */
  get waiting(): number {
    let n = 0;
    for (const entry of this.#entries.values()) if (entry.failure === null) n++;
    return n;
  }

  #send(entry: OutboxEntry): boolean {
    const frame: SendFrame = { type: 'send', id: entry.ref, text: entry.text, sentAt: entry.sentAt };
    if (entry.to !== null) frame.to = entry.to;
    if (entry.room !== null) frame.room = entry.room;
    if (entry.replyTo) frame.replyTo = entry.replyTo.id;
    if (entry.files && entry.files.length > 0) frame.files = entry.files.map((f) => f.id);
    return this.#options.send(frame);
  }

  #clearRetry(ref: string): void {
    const retry = this.#retries.get(ref);
    if (!retry) return;
    if (retry.timer !== null) this.#timers.clearTimeout(retry.timer);
    this.#retries.delete(ref);
  }
}
