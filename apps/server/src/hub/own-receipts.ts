import type { MessageReceipts } from './events.js';
import type { MessageLog, StoredMessage } from './message-log.js';
import type { ReceiptBook } from './receipt-book.js';

/**
 * The receipt counts of `sender`'s own messages among `messages` (a history
 * page, a resume replay), so that a reload or a later session shows the
 * ticks it showed live: what storage has, raised to what this node's book
 * has counted since (the book is ahead of storage by at most a write).
 * Messages without receipts yet, and notes to oneself, have none.
 */
export async function ownReceipts(
  sender: string,
  messages: readonly StoredMessage[],
  book: ReceiptBook,
  log: MessageLog,
): Promise<ReadonlyMap<string, MessageReceipts>> {
  const ids = messages.filter((m) => m.from === sender && m.to !== sender).map((m) => m.id);
  // Most pages of the lobby have none of the reader's own: no query then.
  if (ids.length === 0) return new Map();
  const out = new Map<string, MessageReceipts>();
  for (const [id, c] of await log.receiptCounts(ids)) out.set(id, { recipients: c.recipients, delivered: c.delivered, read: c.read });
  for (const id of ids) {
    const live = book.counts(id);
    if (!live) continue;
    const stored = out.get(id);
    out.set(
      id,
      stored
        ? {
            recipients: Math.max(stored.recipients, live.recipients),
            delivered: Math.max(stored.delivered, live.delivered),
            read: Math.max(stored.read, live.read),
          }
        : live,
    );
  }
  return out;
}
