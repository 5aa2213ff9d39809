import type { Generated } from 'kysely';

/**
 * The tables as Kysely sees them. Column names are snake_case; the sender and
 * recipient are `sender` and `recipient` because `from` and `to` are SQL
 * keywords that every hand-written query would have to quote.
 */
export interface StorageDatabase {
  messages: MessagesTable;
  conversations: ConversationsTable;
  rooms: RoomsTable;
  room_members: RoomMembersTable;
  seen_clients: SeenClientsTable;
  users: UsersTable;
  sessions: SessionsTable;
  receipt_counts: ReceiptCountsTable;
  text_cursors: TextCursorsTable;
  reactions: ReactionsTable;
}

/** One row per stored message; primary key (conversation, seq). */
export interface MessagesTable {
  id: string;
  conversation: string;
  seq: number;
  sender: string;
  recipient: string | null;
  room: string | null;
  text: string;
  /** Milliseconds since the epoch (the sender's clock). */
  sent_at: number;
  /** Milliseconds since the epoch (the server's clock). */
  server_at: number;
  ref: string | null;
  /** 'message', or the action this log entry is: 'edit', 'delete', 'react', 'unreact' (migration 0006). */
  kind: Generated<string>;
  /** An action's message (its id); null for a message. */
  target: Generated<string | null>;
  /** The message a message answers (its id), or null. */
  reply_to: Generated<string | null>;
  /** When a message's text was last edited, or null. */
  edited_at: Generated<number | null>;
  /** When a message was deleted (its text is then ''), or null. */
  deleted_at: Generated<number | null>;
}

/**
 * One row per conversation that has messages: the seq counter, and for a
 * private conversation its two participants (for an indexed
 * `directConversationsOf`).
 */
export interface ConversationsTable {
  id: string;
  last_seq: number;
  peer_a: string | null;
  peer_b: string | null;
}

export interface RoomsTable {
  name: string;
  owner: string;
}

export interface RoomMembersTable {
  room: string;
  client_id: string;
}

export interface SeenClientsTable {
  client_id: string;
}

/**
 * One row per registered account. `username` is the client id, exactly as
 * registered; `username_key` is it in lower case (unique), so that two
 * accounts cannot differ only in case.
 */
export interface UsersTable {
  username: string;
  username_key: string;
  /** A self-describing password hash (accounts/passwords.ts). */
  password_hash: string;
  first_names: string | null;
  last_names: string | null;
  age: number | null;
  gender: string | null;
  /** The chosen display name (normalized), or null; added by migration 0005. */
  display_name: string | null;
  /** Milliseconds since the epoch. */
  created_at: number;
}

/** One row per signed-in session (a token carries its id); times in milliseconds since the epoch. */
export interface SessionsTable {
  id: string;
  username: string;
  created_at: number;
  expires_at: number;
  /** Null while the session is active. */
  revoked_at: number | null;
}

/** Receipt counts of a message that has had receipts (counts only grow). */
export interface ReceiptCountsTable {
  message_id: string;
  /** How many clients the message was for, its sender excluded. */
  recipients: number;
  delivered: number;
  read: number;
}

/** Where a text-protocol client is in one private conversation: everything up to `seq` has been given to it. */
export interface TextCursorsTable {
  client_id: string;
  conversation: string;
  seq: number;
}

/** Who reacted to a message with which emoji (a set); `seq` is the reacting action's, for the order. */
export interface ReactionsTable {
  message_id: string;
  client_id: string;
  emoji: string;
  seq: number;
}
