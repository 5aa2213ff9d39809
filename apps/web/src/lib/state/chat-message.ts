import type { FileInfo, Reaction, ReplyRef } from '@chorus/protocol';
import type { ConversationId } from './conversation-id.js';

/**
 * Where a message stands: mine are `pending` until the server acks them
 * (`sent`) or refuses them (`failed`); everyone else's are `received`. How far
 * a sent message got (delivered, read) is in its receipt counts.
 */
export type MessageStatus = 'pending' | 'sent' | 'failed' | 'received';

/** One message as the conversation shows it. */
export interface ChatMessage {
  readonly kind: 'message';
  /** Unique in this tab: the server id once known, else the local send ref. */
  readonly key: string;
  /** The server's id, once the server has accepted the message. */
  id: string | null;
  /** Its place in the conversation (1, 2, 3, …), once the server has stored it; null while pending. */
  seq: number | null;
  /** My send ref (only on my own messages). */
  readonly ref: string | null;
  readonly from: string;
  /** The private recipient, or null for a room or everyone. */
  readonly to: string | null;
  /** The room, or null for a private message or everyone. */
  readonly room: string | null;
  /** The current text ('' once deleted). */
  text: string;
  readonly conversation: ConversationId;
  /** When its text was last edited (server clock), or null. */
  editedAt: number | null;
  /** Deleted: shown as "message deleted". */
  deleted: boolean;
  /** Reactions: per emoji, who (in the order they reacted). */
  reactions: Reaction[];
  /** The message it answers, or null. */
  readonly replyTo: ReplyRef | null;
  /**
   * Not a message but the place of an action (edit, delete, reaction) in the
   * conversation's log: held so that seqs stay without gaps, never shown.
   */
  readonly filler: boolean;
  /** The sender's clock when sent. */
  readonly sentAt: number;
  /** The server's clock: exact once acked or received, estimated while pending. */
  serverAt: number;
  readonly mine: boolean;
  status: MessageStatus;
  /** Why a message of mine was not sent, in plain words. */
  failure: string | null;
  /** Mine: how many clients it was for, the M of "delivered to N of M" (from the ack); null before. */
  recipients: number | null;
  /** Mine: how many of them have it (cumulative, from `receipts` frames). */
  delivered: number;
  /** Mine: how many of them have seen it. */
  read: number;
  /** Someone else's: whether I told the sender I have seen it. */
  seen: boolean;
  /** The files shared with it (absent or empty: none). */
  files?: readonly FileInfo[];
}

/** A line about the conversation itself ("bob joined the room"), not a message; never stored. */
export interface ChatNote {
  readonly kind: 'note';
  readonly key: string;
  readonly conversation: ConversationId;
  readonly text: string;
  /** The conversation's newest seq when it happened: it shows after that message. */
  readonly afterSeq: number;
  /** The server's clock when it happened. */
  readonly serverAt: number;
}

/** What a conversation's timeline shows, oldest first. */
export type TimelineItem = ChatMessage | ChatNote;
