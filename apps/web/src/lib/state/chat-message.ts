import type { ConversationId } from './conversation-id.js';

/**
 * Where a message stands: mine are `pending` until the server acks them
 * (`sent`) or refuses them (`failed`); everyone else's are `received`.
 */
export type MessageStatus = 'pending' | 'sent' | 'failed' | 'received';

/** One message as the conversation shows it. */
export interface ChatMessage {
  /** Unique in this tab: the server id once known, else the local send ref. */
  readonly key: string;
  /** The server's id, once the server has accepted the message. */
  id: string | null;
  /** My send ref (only on my own messages). */
  readonly ref: string | null;
  readonly from: string;
  /** The private recipient, or null for everyone. */
  readonly to: string | null;
  readonly text: string;
  readonly conversation: ConversationId;
  /** The sender's clock when sent. */
  readonly sentAt: number;
  /** The server's clock: exact once acked or received, estimated while pending. */
  serverAt: number;
  readonly mine: boolean;
  status: MessageStatus;
  /** Why a message of mine was not sent, in plain words. */
  failure: string | null;
}
