import { EvictionRing } from './eviction-ring.js';

/** What the book remembers of one message a local client sent. */
interface Tracked {
  readonly sender: string;
  /** For a private message, the only client whose receipts count. */
  readonly to: string | null;
  readonly recipients: number;
  /** Made on the first receipt: most tracked messages never get one before they are forgotten. */
  delivered: Set<string> | null;
  read: Set<string> | null;
}

/** How many clients a message was for, how many distinct ones have it, and how many have seen it. */
export interface ReceiptCounts {
  readonly recipients: number;
  readonly delivered: number;
  readonly read: number;
}

/**
 * Receipt counts for the messages this node's clients sent: how many distinct
 * recipients have each message, and how many have seen it. Bounded: past
 * `capacity` messages the oldest are forgotten (their counts stop changing).
 */
export class ReceiptBook {
  readonly #tracked = new Map<string, Tracked>();
  /** The tracked ids, oldest first. */
  readonly #order: EvictionRing;

  constructor(capacity = 100_000) {
    this.#order = new EvictionRing(capacity);
  }

  track(id: string, sender: string, to: string | null, recipients: number): void {
    if (recipients === 0) return;
    const size = this.#tracked.size;
    this.#tracked.set(id, { sender, to, recipients, delivered: null, read: null });
    // A known id keeps its place (and its slot in the ring).
    if (this.#tracked.size === size) return;
    const evicted = this.#order.push(id);
    if (evicted !== undefined) this.#tracked.delete(evicted);
  }

  /**
   * Records that `by` has (or has seen) message `id` of `sender`; false when
   * nothing changed (unknown message, someone else's message, a receipt from
   * someone who was not a recipient, or a repeat). Allocates nothing but the
   * message's sets, on its first receipt.
   */
  record(id: string, sender: string, by: string, status: 'delivered' | 'read'): boolean {
    const entry = this.#tracked.get(id);
    if (!entry || entry.sender !== sender || by === sender) return false;
    if (entry.to !== null && entry.to !== by) return false;
    let changed = false;
    // Seen implies received.
    const delivered = (entry.delivered ??= new Set());
    if (delivered.size < entry.recipients && !delivered.has(by)) {
      delivered.add(by);
      changed = true;
    }
    if (status === 'read') {
      const read = (entry.read ??= new Set());
      if (read.size < entry.recipients && !read.has(by)) {
        read.add(by);
        changed = true;
      }
    }
    return changed;
  }

  /** The counts of a tracked message (null once it is forgotten). */
  counts(id: string): ReceiptCounts | null {
    const entry = this.#tracked.get(id);
    return entry ? { recipients: entry.recipients, delivered: entry.delivered?.size ?? 0, read: entry.read?.size ?? 0 } : null;
  }
}
