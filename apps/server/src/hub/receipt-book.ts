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
    this.#tracked.set(id, { sender, to, recipients, delivered: null, read: null });
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
    const delivered = (entry.delivered ??= new Set());
    const read = (entry.read ??= new Set());
    const before = delivered.size + read.size;
    // Seen implies received.
    if (delivered.size < entry.recipients) delivered.add(by);
    if (status === 'read' && read.size < entry.recipients) read.add(by);
    if (delivered.size + read.size === before) return null;
    return { id, sender, delivered: delivered.size, read: read.size };
  }
}
