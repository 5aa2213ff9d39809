/** What the book remembers of one message a local client sent. */
interface Tracked {
  readonly sender: string;
  /** For a private message, the only client whose receipts count. */
  readonly to: string | null;
  readonly recipients: number;
  readonly delivered: Set<string>;
  readonly read: Set<string>;
}

/** Counts after a receipt changed them. */
export interface ReceiptCounts {
  readonly id: string;
  readonly sender: string;
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
  readonly #capacity: number;

  constructor(capacity = 100_000) {
    this.#capacity = capacity;
  }

  track(id: string, sender: string, to: string | null, recipients: number): void {
    if (recipients === 0) return;
    this.#tracked.set(id, { sender, to, recipients, delivered: new Set(), read: new Set() });
    if (this.#tracked.size > this.#capacity) this.#tracked.delete(this.#tracked.keys().next().value!);
  }

  /**
   * Records that `by` has (or has seen) message `id` of `sender`; returns the
   * new counts, or null when nothing changed (unknown message, someone else's
   * message, a receipt from someone who was not a recipient, or a repeat).
   */
  record(id: string, sender: string, by: string, status: 'delivered' | 'read'): ReceiptCounts | null {
    const entry = this.#tracked.get(id);
    if (!entry || entry.sender !== sender || by === sender) return null;
    if (entry.to !== null && entry.to !== by) return null;
    const before = entry.delivered.size + entry.read.size;
    // Seen implies received.
    if (entry.delivered.size < entry.recipients) entry.delivered.add(by);
    if (status === 'read' && entry.read.size < entry.recipients) entry.read.add(by);
    if (entry.delivered.size + entry.read.size === before) return null;
    return { id, sender, delivered: entry.delivered.size, read: entry.read.size };
  }
}
