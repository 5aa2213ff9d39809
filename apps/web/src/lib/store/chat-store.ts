import type { FileInfo } from '@chorus/protocol';
import type { RoomSummary } from '@chorus/protocol';

/**
 * A message as the browser keeps it: exactly one per (conversation, seq).
 * Plain data (no reactive proxies): it goes through structured clone.
 */
export interface StoredMessage {
  readonly conversation: string;
  /** Its place in the conversation (1, 2, 3, … without gaps). */
  readonly seq: number;
  /** The server's message id. */
  readonly id: string;
  readonly from: string;
  readonly to: string | null;
  readonly room: string | null;
  readonly text: string;
  readonly sentAt: number;
  readonly serverAt: number;
  /** My send id, for a message of mine sent from this browser; null otherwise. */
  readonly ref: string | null;
  /** Mine: how many clients it was for (from the ack); null when unknown. */
  readonly recipients: number | null;
  /** Mine: how many of them have it, and have seen it (cumulative receipt counts). */
  readonly delivered: number;
  readonly read: number;
  /** Someone else's: whether I told the sender I have seen it. */
  readonly seen: boolean;
  /** Message actions (absent in records from before them): the state, and whether this is an action's place. */
  readonly editedAt?: number | null;
  readonly deleted?: boolean;
  readonly reactions?: readonly { readonly emoji: string; readonly by: readonly string[] }[];
  readonly replyTo?: { readonly id: string; readonly seq: number; readonly from: string; readonly text: string } | null;
  readonly filler?: boolean;
  /** The files shared with it (absent: none); their links are signed and expire, history brings new ones. */
  readonly files?: readonly FileInfo[];
}

/** A message of mine the server has not acknowledged yet (or has refused). */
export interface OutboxEntry {
  /** The send id: the same on every retry, so that the server keeps one copy. */
  readonly ref: string;
  /** The order it was written in (sends go out in this order). */
  readonly order: number;
  readonly conversation: string;
  readonly to: string | null;
  readonly room: string | null;
  readonly text: string;
  /** My clock when it was written. */
  readonly sentAt: number;
  /** The estimated server time when it was written (shown until the ack gives the real one). */
  readonly serverAt: number;
  /** Why the server refused it, in plain words; null while it waits to be sent. */
  readonly failure: string | null;
  /** The message it answers (absent: none). */
  readonly replyTo?: { readonly id: string; readonly seq: number; readonly from: string; readonly text: string } | null;
  /** Uploads it shares (sent by id); absent: none. */
  readonly files?: readonly FileInfo[];
}

/** Small records kept next to the messages. */
export interface StoredMeta {
  /** Per conversation, the highest seq N with every seq up to N held (see Cursors). */
  cursors: Record<string, number>;
  /** The room list and the rooms I am in, as of the last connection. */
  rooms: { rooms: RoomSummary[]; memberOf: string[] };
  /** The open conversation, the direct conversations (peer, recency) and unread counts. */
  conversations: { active: string; direct: [string, number][]; unread: [string, number][] };
}

/** What {@link ChatStore.load} returns: enough to show every conversation at once. */
export interface StoredState {
  /** The newest messages of each conversation, ascending seq within a conversation. */
  readonly messages: StoredMessage[];
  /** Messages of mine not acknowledged yet (and refused ones), in the order they were written. */
  readonly outbox: OutboxEntry[];
  readonly meta: Partial<StoredMeta>;
}

/**
 * Where one user's conversations live in this browser (one store per client
 * id). Every method returns a Promise, even in memory.
 *
 * Contract: writes are applied in the order they were called, and a write
 * called in the same task as others is applied in one transaction with them
 * (an ack's message and the removal of its outbox entry land together). A read
 * sees every write called before it. Records are copied in and out: changing a
 * returned object changes nothing stored.
 */
export interface ChatStore {
  /** The newest `recent` messages of every conversation, the outbox, and the meta records. */
  load(recent: number): Promise<StoredState>;
  /** At most `limit` messages of `conversation` with seq below `before`, newest first. */
  older(conversation: string, before: number, limit: number): Promise<StoredMessage[]>;
  /** Inserts or replaces messages, keyed by (conversation, seq). */
  putMessages(messages: readonly StoredMessage[]): Promise<void>;
  /** Drops every message of `conversation` (a room that was deleted). */
  deleteConversation(conversation: string): Promise<void>;
  /** Inserts or replaces an outbox entry, keyed by its ref. */
  putOutbox(entry: OutboxEntry): Promise<void>;
  /** Removes an outbox entry (acknowledged). */
  deleteOutbox(ref: string): Promise<void>;
  putMeta<K extends keyof StoredMeta>(key: K, value: StoredMeta[K]): Promise<void>;
  /** Commits what is pending and lets the store go. */
  close(): void;
}
