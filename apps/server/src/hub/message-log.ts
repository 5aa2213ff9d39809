import type { AppendResult, ConversationId, NewMessage, StoredMessage } from '../storage/storage.js';

export type { AppendResult, ConversationId, NewMessage, StoredMessage };

/**
 * What the hub needs of durable storage. The composition root builds it from a
 * Storage (SQLite or PostgreSQL) and a group-commit writer.
 */
export interface MessageLog {
  /** Stores one message; resolves once it is durable (group-committed with others). Idempotent on (from, ref). */
  append(message: NewMessage): Promise<AppendResult>;
  /** At most `limit` messages before seq `before` (all when undefined), newest first. */
  history(conversation: ConversationId, limit: number, before?: number): Promise<StoredMessage[]>;
  /** At most `limit` messages after seq `after`, oldest first. */
  since(conversation: ConversationId, after: number, limit: number): Promise<StoredMessage[]>;
  /** The private conversations `clientId` is part of. */
  directConversationsOf(clientId: string): Promise<ConversationId[]>;
  /** Records (durably, batched with others) that `clientId` has connected. */
  markSeen(clientId: string): Promise<void>;
  hasBeenSeen(clientId: string): Promise<boolean>;
}
