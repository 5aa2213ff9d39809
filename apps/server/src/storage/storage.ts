/**
 * Durable storage of messages, rooms and seen client ids. Implemented on SQLite
 * (the embedded default: a file under DATA_DIR) and on PostgreSQL
 * (DATABASE_URL); both pass test/helpers/storage-contract.ts.
 */

/**
 * A conversation id: `everyone` (the lobby), `room:<name>`, or `dm:<a>,<b>`
 * with the two client ids sorted (a comma cannot be in a client id).
 */
export type ConversationId = string;

/**
 * A message as the hub hands it over for storing. Every string must be
 * well-formed Unicode without U+0000, and sentAt and serverAt integers
 * (milliseconds), so that it round-trips exactly on both engines (see
 * storable.ts; `messageProblem` tells why one is not).
 */
export interface NewMessage {
  /** The server's id of the message (unique). */
  readonly id: string;
  readonly conversation: ConversationId;
  readonly from: string;
  /** The recipient of a private message; null otherwise. */
  readonly to: string | null;
  /** The room of a room message; null otherwise. */
  readonly room: string | null;
  readonly text: string;
  readonly sentAt: number;
  readonly serverAt: number;
  /**
   * The sender's own id for the message (the JSON protocol's `send.id`), or
   * null (text protocol). A retry with the same (from, ref) is stored once.
   */
  readonly ref: string | null;
}

/** A stored message: what was handed over, plus its place in its conversation. */
export interface StoredMessage extends NewMessage {
  /** 1, 2, 3, ... per conversation, in commit order, without gaps. */
  readonly seq: number;
}

export interface AppendResult {
  readonly message: StoredMessage;
  /**
   * True when (from, ref) was stored before: `message` is the earlier one (its
   * id, seq and serverAt), and nothing new was stored.
   */
  readonly duplicate: boolean;
}

/** A room as stored: rooms and their membership survive a restart. */
export interface StoredRoom {
  readonly name: string;
  readonly owner: string;
  readonly members: readonly string[];
}

/** A change to the rooms, as RoomRegistry produces them (same shape). */
export type StoredRoomChange =
  | { readonly kind: 'created'; readonly room: string; readonly owner: string }
  | { readonly kind: 'joined'; readonly room: string; readonly clientId: string }
  | { readonly kind: 'left'; readonly room: string; readonly clientId: string }
  | { readonly kind: 'deleted'; readonly room: string; readonly by: string; readonly members: readonly string[] };

export interface Storage {
  /** Brings the schema up to date (idempotent; safe to call from several processes at once). */
  migrate(): Promise<void>;

  /**
   * Stores messages in one transaction, in the order given, and resolves once
   * the transaction has committed: then they survive a process crash (and,
   * with the default durability, an OS crash for PostgreSQL and an SQLite
   * file with synchronous=FULL). Assigns each new message the next seq of its
   * conversation. A message whose (from, ref) is already stored, in an earlier
   * call or earlier in the same batch, is not stored again: its result is the
   * stored one with duplicate: true. Several processes may append at once.
   * Results are in the order of `messages`. If the call rejects, nothing of
   * the batch was stored and no seq was used; a batch with a message that
   * cannot be stored exactly (see NewMessage) rejects with
   * UnstorableMessageError before anything is written.
   */
  append(messages: readonly NewMessage[]): Promise<AppendResult[]>;

  /**
   * Pages back through a conversation: at most `limit` messages with seq <
   * `beforeSeq` (all, when beforeSeq is undefined), newest first. The next
   * page is `history(conversation, limit, last page's lowest seq)`; an empty
   * page is the end. A limit below 1 gives an empty page.
   */
  history(conversation: ConversationId, limit: number, beforeSeq?: number): Promise<StoredMessage[]>;

  /**
   * At most `limit` messages with seq > `afterSeq`, oldest first (for
   * resuming); fewer than `limit` means that was the last one committed. A
   * seq is never visible before every lower seq of its conversation is.
   */
  since(conversation: ConversationId, afterSeq: number, limit: number): Promise<StoredMessage[]>;

  /** The last seq of each of these conversations that has messages (the others are absent). */
  lastSeqs(conversations: readonly ConversationId[]): Promise<Map<ConversationId, number>>;

  /**
   * The private conversations (`dm:...`) that `clientId` is part of and that
   * have messages, sorted (by UTF-16 code units). An indexed lookup.
   */
  directConversationsOf(clientId: string): Promise<ConversationId[]>;

  /**
   * Applies room changes in order, in one transaction, with RoomRegistry.apply's
   * meaning: `created` starts the room afresh (no members), a join to a room
   * that does not exist is ignored, `deleted` removes the room and its members.
   */
  saveRoomChanges(changes: readonly StoredRoomChange[]): Promise<void>;
  /** Every room with its members; rooms sorted by name, members by id. */
  loadRooms(): Promise<StoredRoom[]>;

  /** Records that these client ids have connected at least once. */
  markSeen(clientIds: readonly string[]): Promise<void>;
  /** Whether `clientId` has ever connected. */
  hasBeenSeen(clientId: string): Promise<boolean>;

  /** Waits for writes in flight, then closes the connections; idempotent. Every call after it rejects. */
  close(): Promise<void>;
}
