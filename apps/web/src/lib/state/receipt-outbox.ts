import { MAX_RECEIPT_IDS, type ReceiptFrame } from '@chorus/protocol';
import { realTimers, type Timers } from './timers.js';

type Status = ReceiptFrame['status'];

/**
 * Receipts waiting to be sent, batched: everything queued within `delayMs`
 * goes out as one frame per sender and status (split at MAX_RECEIPT_IDS ids).
 * A read receipt makes a pending delivery receipt for the same message
 * redundant (the server counts a reader as a receiver too). What cannot be sent
 * (offline) stays queued for the next {@link ReceiptOutbox.flush}.
 */
export class ReceiptOutbox {
  readonly #send: (frame: ReceiptFrame) => boolean;
  readonly #delayMs: number;
  readonly #timers: Timers;
  /** `status from` -> ids, in the order they were queued. */
  readonly #pending = new Map<string, { readonly status: Status; readonly from: string; readonly ids: Set<string> }>();
  #timer: unknown = null;

  constructor(send: (frame: ReceiptFrame) => boolean, options: { delayMs?: number; timers?: Timers } = {}) {
    this.#send = send;
    this.#delayMs = options.delayMs ?? 100;
    this.#timers = options.timers ?? realTimers;
  }

  /** Queues a receipt for message `id` of `from`. */
  add(status: Status, from: string, id: string): void {
    if (status === 'read') this.#pending.get(keyOf('delivered', from))?.ids.delete(id);
    const key = keyOf(status, from);
    let batch = this.#pending.get(key);
    if (!batch) this.#pending.set(key, (batch = { status, from, ids: new Set() }));
    batch.ids.add(id);
    this.#timer ??= this.#timers.setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, this.#delayMs);
  }

  /** Sends everything queued now; returns false when something could not be sent (it stays queued). */
  flush(): boolean {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    for (const [key, { status, from, ids }] of this.#pending) {
      const all = [...ids];
      for (let start = 0; start < all.length; start += MAX_RECEIPT_IDS) {
        const chunk = all.slice(start, start + MAX_RECEIPT_IDS);
        if (!this.#send({ type: 'receipt', status, from, ids: chunk })) return false;
        for (const id of chunk) ids.delete(id);
      }
      this.#pending.delete(key);
    }
    return true;
  }

  /** How many receipts are waiting. */
  get size(): number {
    let n = 0;
    for (const batch of this.#pending.values()) n += batch.ids.size;
    return n;
  }
}

function keyOf(status: Status, from: string): string {
  return `${status} ${from}`;
}
