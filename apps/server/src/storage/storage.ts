import type { FileInfo } from '@chorus/protocol';
import type { RoomChange } from '../hub/room-registry.js';

/**
 * Durable storage of messages, rooms, seen client ids, accounts and sessions. Implemented on SQLite
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
  /** The id of the message this one answers (same conversation); absent or null: none. */
  readonly replyTo?: string | null | undefined;
}

/** What an action does to its message. */
export type ActionKind = 'edit' | 'delete' | 'react' | 'unreact';

/**
 * A stored entry of a conversation's log: a message, or (with `kind`) an
 * action on the message `target`. The optional fields are present only when
 * set, so that a plain message reads back as it was handed over.
 */
export interface StoredMessage extends NewMessage {
  /** 1, 2, 3, ... per conversation, in commit order, without gaps. */
  readonly seq: number;
  /**
   * The files shared with it. Never read or written by a Storage: the file
   * catalog keeps them, and files/file-aware-log.ts adds them on reads.
   */
  readonly files?: readonly FileInfo[] | undefined;
  /** Absent: a message. Otherwise this entry is an action, and `text` is the new text (edit), the emoji, or ''. */
  readonly kind?: ActionKind;
  /** An action's message id. */
  readonly target?: string;
  /** A message's last edit (server clock). */
  readonly editedAt?: number;
  /** A message's deletion (server clock); its text is then ''. */
  readonly deletedAt?: number;
}

/** An action as the hub hands it over: the actor is `from`, `text` the new text, the emoji, or ''. */
export interface NewAction {
  /** The server's id of the action (unique among messages and actions). */
  readonly id: string;
  readonly kind: ActionKind;
  readonly from: string;
  /** The message acted on. */
  readonly target: string;
  readonly text: string;
  readonly serverAt: number;
  /** The actor's own id for the action (JSON `id`), or null; a retry with the same (from, ref) is stored once. */
  readonly ref: string | null;
}

/** What `act` did. */
export type ActResult =
  | {
      readonly ok: true;
      /** The action's log entry (the earlier one when `duplicate`). */
      readonly action: StoredMessage;
      /** The message acted on, as it is now. */
      readonly message: StoredMessage;
      readonly duplicate: boolean;
    }
  /** Nothing stored: no such message (or `target` is an action), or it was deleted. */
  | { readonly ok: false; readonly reason: 'unknown' | 'deleted' };

/** One emoji on a message, and who reacted with it, first first. */
export interface StoredReaction {
  readonly emoji: string;
  readonly by: readonly string[];
}

export interface AppendResult {
  readonly message: StoredMessage;
  /**
   * True when (from, ref) was stored before: `message` is the earlier one (its
   * id, seq and serverAt), and nothing new was stored.
   */
  readonly duplicate: boolean;
}

/** The receipt counts of one message, as its sender's node computed them. */
export interface StoredReceiptCounts {
  /** The message's id. */
  readonly id: string;
  /** How many clients it was for, its sender excluded: the M of "read by N of M". */
  readonly recipients: number;
  /** How many of them have it, and have seen it. */
  readonly delivered: number;
  readonly read: number;
}

/** How far a text-protocol client has been given one of its private conversations. */
export interface TextCursor {
  readonly clientId: string;
  readonly conversation: ConversationId;
  /** Every message of the conversation up to this seq was given to the client (or was its own). */
  readonly seq: number;
}

/** A room as stored: rooms and their membership survive a restart. */
export interface StoredRoom {
  readonly name: string;
  readonly owner: string;
  readonly members: readonly string[];
}

/** A change to the rooms, as RoomRegistry decides them: the one declaration is the hub's. */
export type StoredRoomChange = RoomChange;

/** The optional profile of an account (as in the original coursework); null where not given. */
export interface UserProfile {
  readonly firstNames: string | null;
  readonly lastNames: string | null;
  readonly age: number | null;
  readonly gender: string | null;
  /**
   * The name people see instead of the username: any script, spaces allowed
   * (protocol's displayNameProblem says what else), stored normalized; null
   * when the person did not choose one.
   */
  readonly displayName: string | null;
}

/**
 * An account. Every string must be well-formed Unicode without U+0000 (the
 * accounts layer validates them), `age` null or an integer, `createdAt`
 * milliseconds since the epoch.
 */
export interface NewUser {
  /** The client id the account owns (case-sensitive, as registered). */
  readonly username: string;
  /** The password's self-describing hash (never the password). */
  readonly passwordHash: string;
  readonly profile: UserProfile;
  readonly createdAt: number;
}

export type StoredUser = NewUser;

/** What createUser did: stored the account, or found the name taken. */
export type CreateUserResult = { readonly created: true } | { readonly created: false; readonly reason: 'exists' };

/** A signed-in session: a token carries its id. Times are milliseconds since the epoch. */
export interface NewSession {
  /** Unique (random, unguessable). */
  readonly id: string;
  readonly username: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface StoredSession extends NewSession {
  /** When it was revoked (logout, password change, too many sessions), or null while it is not. */
  readonly revokedAt: number | null;
}

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
   * Pages back through a conversation's messages (its actions left out: the
   * messages carry their current state): at most `limit` messages with seq <
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

  /**
   * Stores an action on a message, in one transaction: appends its log entry
   * to the message's conversation with the next seq (gap-free with the
   * messages; the entry's `to` and `room` are the message's, except a private
   * message's entry, whose `to` is the participant other than the actor), and
   * applies it to the message: edit replaces the text and sets editedAt; delete
   * empties the text, sets deletedAt and removes its reactions; react and
   * unreact add and remove (from, emoji) in its reactions (a set: a second react
   * changes nothing but is logged). Nothing is stored when the message does not
   * exist or is deleted. Idempotent on (from, ref) like append, across messages
   * and actions. Permission is the caller's to check.
   */
  act(action: NewAction): Promise<ActResult>;

  /** The message (not an action) with this id, or null. */
  messageById(id: string): Promise<StoredMessage | null>;

  /** The log entry at (conversation, seq), or null. */
  entryAt(conversation: ConversationId, seq: number): Promise<StoredMessage | null>;

  /** The reactions of these messages; messages without any are absent. */
  reactions(ids: readonly string[]): Promise<Map<string, StoredReaction[]>>;

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

  /**
   * Stores receipt counts, in one transaction. Counts only grow: a stored
   * count is replaced by a larger one only, so batches may be written in any
   * order, or twice, from several processes at once. A message deleted with
   * its room loses its counts.
   */
  saveReceiptCounts(counts: readonly StoredReceiptCounts[]): Promise<void>;
  /** The stored counts of these messages; ids without any are absent. */
  receiptCounts(ids: readonly string[]): Promise<Map<string, StoredReceiptCounts>>;

  /**
   * Moves text clients' cursors forward, in one transaction; a cursor never
   * moves back (a smaller seq changes nothing). Several processes may write
   * at once.
   */
  saveTextCursors(cursors: readonly TextCursor[]): Promise<void>;
  /**
   * The cursors of `clientId`, by conversation. A private conversation
   * without one started after the client's last cursor was written (or after
   * migration 0004): all of it is new to the client.
   */
  textCursors(clientId: string): Promise<Map<ConversationId, number>>;

  /** Records that these client ids have connected at least once. */
  markSeen(clientIds: readonly string[]): Promise<void>;
  /** Whether `clientId` has ever connected. */
  hasBeenSeen(clientId: string): Promise<boolean>;

  /**
   * Stores a new account, atomically: if an account with the same username
   * exists, ignoring the case of ASCII letters (`Alice` and `alice` are one
   * name), nothing is stored and the result is `{created: false, reason:
   * 'exists'}`, also when two processes register the name at once (exactly one
   * of them gets `created: true`).
   */
  createUser(user: NewUser): Promise<CreateUserResult>;

  /** The account with exactly this username (case-sensitive), or null. */
  findUser(username: string): Promise<StoredUser | null>;

  /**
   * Whether an account owns this name or one that differs from it only in the
   * case of ASCII letters (the names createUser would refuse).
   */
  nameTaken(username: string): Promise<boolean>;

  /** Sets (or, with null, clears) the account's display name; false when there is no such account. */
  setDisplayName(username: string, displayName: string | null): Promise<boolean>;

  /**
   * The display names of those of `usernames` (exact, case-sensitive) that are
   * accounts with one; names without an account or without a display name are
   * absent from the map.
   */
  displayNames(usernames: readonly string[]): Promise<Map<string, string>>;

  /** Replaces an account's password hash (a rehash with new parameters); false if there is no such account. */
  setPasswordHash(username: string, passwordHash: string): Promise<boolean>;

  /**
   * Replaces an account's password hash and, in the same transaction, revokes
   * (at `at`) every session of the account that is not yet revoked, except
   * `keepSession`. False (and nothing changed) if there is no such account.
   */
  changePassword(username: string, passwordHash: string, at: number, keepSession?: string): Promise<boolean>;

  /**
   * Stores a new session. Rejects if the account does not exist or the id is
   * taken. With `keepAtMost`, in the same transaction, revokes (at the new
   * session's createdAt) the account's oldest sessions that are neither
   * revoked nor expired beyond the newest `keepAtMost` (the new one counts),
   * so that an account's live sessions stay bounded.
   */
  createSession(session: NewSession, keepAtMost?: number): Promise<void>;

  /** The session with this id, revoked or expired ones included (until deleteExpiredSessions), or null. */
  findSession(id: string): Promise<StoredSession | null>;

  /**
   * Revokes one session at `at`. True if this call revoked it; false if it
   * was already revoked (its revokedAt is kept) or does not exist. Once this
   * resolves, findSession in any process sees it revoked.
   */
  revokeSession(id: string, at: number): Promise<boolean>;

  /**
   * Revokes at `at` every session of the account that is not yet revoked,
   * except `except`; resolves with how many it revoked.
   */
  revokeAllSessions(username: string, at: number, except?: string): Promise<number>;

  /**
   * Deletes the sessions whose expiresAt is at or before `now` (revoked or not);
   * resolves with how many. A deleted session's tokens were already expired.
   */
  deleteExpiredSessions(now: number): Promise<number>;

  /** Waits for writes in flight, then closes the connections; idempotent. Every call after it rejects. */
  close(): Promise<void>;
}
