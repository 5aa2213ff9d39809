import type {
  ActResult,
  AppendResult,
  ConversationId,
  NewAction,
  NewMessage,
  StoredMessage,
  StoredReaction,
  StoredReceiptCounts,
  TextCursor,
} from '../storage/storage.js';

export type {
  ActResult,
  AppendResult,
  ConversationId,
  NewAction,
  NewMessage,
  StoredMessage,
  StoredReaction,
  StoredReceiptCounts,
  TextCursor,
};

/**
 * What the hub needs of durable storage. The composition root builds it from a
 * Storage (SQLite or PostgreSQL) and a group-commit writer.
 */
export interface MessageLog {
  /**
   * Resolves once the receipt counts and cursors queued so far are written
   * (they go in batches, at most every half second): called when a client's
   * last connection here closes, so that its next session, on any node, reads them.
   */
  flushProgress?(): Promise<void>;
  /** Stores one message; resolves once it is durable (group-committed with others). Idempotent on (from, ref). */
  append(message: NewMessage): Promise<AppendResult>;
  /** Stores an edit, delete or reaction and applies it to its message (Storage.act). */
  act(action: NewAction): Promise<ActResult>;
  /** The message (not an action) with this id, or null. */
  messageById(id: string): Promise<StoredMessage | null>;
  /** The log entry at (conversation, seq), or null. */
  entryAt(conversation: ConversationId, seq: number): Promise<StoredMessage | null>;
  /** The last seq of a conversation (0: none). */
  lastSeq(conversation: ConversationId): Promise<number>;
  /** The reactions of these messages (absent: none). */
  reactions(ids: readonly string[]): Promise<Map<string, StoredReaction[]>>;
  /** At most `limit` messages before seq `before` (all when undefined), newest first. */
  history(conversation: ConversationId, limit: number, before?: number): Promise<StoredMessage[]>;
  /** At most `limit` messages after seq `after`, oldest first. */
  since(conversation: ConversationId, after: number, limit: number): Promise<StoredMessage[]>;
  /** The private conversations `clientId` is part of. */
  directConversationsOf(clientId: string): Promise<ConversationId[]>;
  /** Records (durably, batched with others) that `clientId` has connected. */
  markSeen(clientId: string): Promise<void>;
  hasBeenSeen(clientId: string): Promise<boolean>;
  /**
   * Records receipt counts of messages, batched: merged per message over a
   * turn, one write in flight. Counts only grow. Returns at once; a failed
   * write is reported, and the next count of the message writes it again.
   */
  saveReceiptCounts(counts: readonly StoredReceiptCounts[]): void;
  /** The counts recorded for these messages (those still being written included); absent: none. */
  receiptCounts(ids: readonly string[]): Promise<Map<string, StoredReceiptCounts>>;
  /** A text client has been given a private conversation up to a seq (batched like receipt counts; forward only). */
  advanceTextCursor(cursor: TextCursor): void;
  /** A text client's cursors by conversation (those still being written included). */
  textCursors(clientId: string): Promise<Map<ConversationId, number>>;
}
