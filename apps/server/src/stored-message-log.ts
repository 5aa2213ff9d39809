import type { MessageLog } from './hub/message-log.js';
import { MergingBatch } from './storage/merging-batch.js';
import type {
  ActResult,
  NewAction,
  StoredReaction,
  AppendResult,
  ConversationId,
  NewMessage,
  Storage,
  StoredMessage,
  StoredReceiptCounts,
  TextCursor,
} from './storage/storage.js';

/**
 * Where appends and "seen" marks go: a GroupCommitWriter on this process's
 * storage (with `markSeen` from the storage), or the primary's single writer
 * (cluster/writer-client.ts).
 */
export interface MessageWriter {
  /** Resolves once the message is committed. */
  append(message: NewMessage): Promise<AppendResult>;
  /** Resolves once every append so far has settled. */
  flush(): Promise<void>;
}

/** Where the small writes go besides messages: this process's storage, or the primary's single writer. */
export type SideWriter = Pick<Storage, 'markSeen' | 'saveReceiptCounts' | 'saveTextCursors'>;

export interface StoredMessageLogOptions {
  /** Told when a batched write (receipt counts, text cursors) fails. */
  readonly onError?: (what: string, err: unknown) => void;
}

/**
 * The hub's MessageLog on a Storage: appends go through the writer; "seen"
 * marks are batched per event-loop turn; ids known to be seen are remembered
 * (an id never becomes unseen), so repeated checks cost nothing. Receipt
 * counts and text cursors are merged per key and written a batch at a time
 * (MergingBatch). Reads go to the storage itself, and see what is still
 * being written of the last two.
 */
/** How often receipt counts are written at most. */
const RECEIPT_COUNTS_INTERVAL_MS = 500;

export class StoredMessageLog implements MessageLog {
  readonly #storage: Storage;
  readonly #writer: MessageWriter;
  readonly #sideWriter: SideWriter;
  readonly #seen = new Set<string>();
  #pendingSeen: { ids: string[]; done: Promise<void> } | null = null;
  readonly #receipts: MergingBatch<StoredReceiptCounts>;
  readonly #textCursors: MergingBatch<TextCursor>;

  /** `sideWriter` records seen ids, receipt counts and text cursors; default the storage. */
  constructor(storage: Storage, writer: MessageWriter, sideWriter: SideWriter = storage, options: StoredMessageLogOptions = {}) {
    this.#storage = storage;
    this.#writer = writer;
    this.#sideWriter = sideWriter;
    const onError = options.onError ?? (() => {});
    this.#receipts = new MergingBatch({
      write: (counts) => this.#sideWriter.saveReceiptCounts(counts),
      merge: largerCounts,
      onError: (err) => onError('receipt counts', err),
      // Counts change with every delivery of a fanout; reads merge in what is not written yet (unwritten()),
      // and a crash loses at most this much of them (never a message): one write per half second.
      intervalMs: RECEIPT_COUNTS_INTERVAL_MS,
    });
    this.#textCursors = new MergingBatch({
      write: (cursors) => this.#sideWriter.saveTextCursors(cursors),
      merge: (older, newer) => (newer.seq > older.seq ? newer : older),
      onError: (err) => onError('text cursors', err),
    });
  }

  append(message: NewMessage): Promise<AppendResult> {
    return this.#writer.append(message);
  }

  // Actions are rare (a person's clicks), so they skip the group commit and go
  // to this process's storage in a transaction of their own.
  act(action: NewAction): Promise<ActResult> {
    return this.#storage.act(action);
  }

  messageById(id: string): Promise<StoredMessage | null> {
    return this.#storage.messageById(id);
  }

  entryAt(conversation: ConversationId, seq: number): Promise<StoredMessage | null> {
    return this.#storage.entryAt(conversation, seq);
  }

  async lastSeq(conversation: ConversationId): Promise<number> {
    return (await this.#storage.lastSeqs([conversation])).get(conversation) ?? 0;
  }

  reactions(ids: readonly string[]): Promise<Map<string, StoredReaction[]>> {
    return this.#storage.reactions(ids);
  }

  history(conversation: ConversationId, limit: number, before?: number): Promise<StoredMessage[]> {
    return this.#storage.history(conversation, limit, before);
  }

  since(conversation: ConversationId, after: number, limit: number): Promise<StoredMessage[]> {
    return this.#storage.since(conversation, after, limit);
  }

  directConversationsOf(clientId: string): Promise<ConversationId[]> {
    return this.#storage.directConversationsOf(clientId);
  }

  markSeen(clientId: string): Promise<void> {
    if (this.#seen.has(clientId)) return Promise.resolve();
    if (!this.#pendingSeen) {
      const ids: string[] = [];
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.#pendingSeen = null;
        await this.#sideWriter.markSeen(ids);
        for (const id of ids) this.#seen.add(id);
      });
      this.#pendingSeen = { ids, done };
    }
    this.#pendingSeen.ids.push(clientId);
    return this.#pendingSeen.done;
  }

  async hasBeenSeen(clientId: string): Promise<boolean> {
    if (this.#seen.has(clientId)) return true;
    const seen = await this.#storage.hasBeenSeen(clientId);
    if (seen) this.#seen.add(clientId);
    return seen;
  }

  saveReceiptCounts(counts: readonly StoredReceiptCounts[]): void {
    for (const c of counts) this.#receipts.add(c.id, c);
  }

  async receiptCounts(ids: readonly string[]): Promise<Map<string, StoredReceiptCounts>> {
    if (ids.length === 0) return new Map();
    const stored = await this.#storage.receiptCounts(ids);
    const wanted = new Set(ids);
    for (const c of this.#receipts.unwritten()) {
      if (!wanted.has(c.id)) continue;
      const before = stored.get(c.id);
      stored.set(c.id, before ? largerCounts(before, c) : c);
    }
    return stored;
  }

  advanceTextCursor(cursor: TextCursor): void {
    // A space is in neither a client id nor a conversation id.
    this.#textCursors.add(`${cursor.clientId} ${cursor.conversation}`, cursor);
  }

  async textCursors(clientId: string): Promise<Map<ConversationId, number>> {
    const cursors = await this.#storage.textCursors(clientId);
    for (const c of this.#textCursors.unwritten()) {
      if (c.clientId === clientId && c.seq > (cursors.get(c.conversation) ?? 0)) cursors.set(c.conversation, c.seq);
    }
    return cursors;
  }

  async flushProgress(): Promise<void> {
    await Promise.all([this.#receipts.flush(), this.#textCursors.flush()]);
  }

  /** Writes what is pending; the storage itself is closed by its owner. */
  async flush(): Promise<void> {
    await this.#pendingSeen?.done;
    await Promise.all([this.#receipts.flush(), this.#textCursors.flush()]);
    await this.#writer.flush();
  }
}

function largerCounts(a: StoredReceiptCounts, b: StoredReceiptCounts): StoredReceiptCounts {
  return {
    id: a.id,
    recipients: Math.max(a.recipients, b.recipients),
    delivered: Math.max(a.delivered, b.delivered),
    read: Math.max(a.read, b.read),
  };
}
