import { Migrator, type Kysely } from 'kysely';
import { assertStorableUser, insertSession, insertUser, revokeSessionsOf, toStoredSession, toStoredUser, usernameKey } from './accounts.js';
import { actInTransaction, selectReactions } from './actions.js';
import { appendInTransaction, StoredRefsFound } from './append.js';
import { migrationProvider } from './migrations.js';
import { selectReceiptCounts, selectTextCursors, upsertReceiptCounts, upsertTextCursors } from './progress-rows.js';
import { applyRoomChange, loadRooms } from './room-changes.js';
import { byCodeUnits, chunks, toStoredMessage } from './rows.js';
import type { StorageDatabase } from './schema.js';
import type {
  ActResult,
  AppendResult,
  NewAction,
  StoredReaction,
  ConversationId,
  CreateUserResult,
  NewMessage,
  NewSession,
  NewUser,
  Storage,
  StoredMessage,
  StoredReceiptCounts,
  StoredRoom,
  StoredRoomChange,
  StoredSession,
  StoredUser,
  TextCursor,
} from './storage.js';
import { assertStorable, isStorableText } from './storable.js';

/** Thrown by every call on a storage after close(). */
export class StorageClosedError extends Error {
  constructor() {
    super('storage is closed');
    this.name = 'StorageClosedError';
  }
}

/** A function that runs its statements on one connection inside one transaction. */
export type TransactionBody<T> = (tx: Kysely<StorageDatabase>) => Promise<T>;

/**
 * Storage over Kysely: every query is written once here (and in append.ts,
 * room-changes.ts, migrations.ts) for both SQLite and PostgreSQL. A subclass
 * supplies the dialect and the two things that differ: how a write
 * transaction starts and retries (`write`), and how migrations are guarded
 * against several processes (`migrate`).
 */
export abstract class SqlStorage implements Storage {
  readonly #db: Kysely<StorageDatabase>;
  #closed: Promise<void> | null = null;

  protected constructor(db: Kysely<StorageDatabase>) {
    this.#db = db;
  }

  /** The database; throws once the storage is closed, so that late calls fail with a clear reason. */
  protected get db(): Kysely<StorageDatabase> {
    if (this.#closed) throw new StorageClosedError();
    return this.#db;
  }

  /** Throws StorageClosedError once the storage is closed. */
  protected assertOpen(): void {
    if (this.#closed) throw new StorageClosedError();
  }

  /**
   * Runs `body` in one write transaction and resolves once it has committed;
   * rolls back and rejects if it throws. May run `body` again on a conflict
   * that a retry resolves, so `body` must have no effect outside the database.
   */
  protected abstract write<T>(body: TransactionBody<T>): Promise<T>;

  abstract migrate(): Promise<void>;

  /** Runs Kysely's Migrator on `db` and throws its error, if any. */
  protected async runMigrator(db: Kysely<StorageDatabase>, migrationTableSchema?: string): Promise<void> {
    const migrator = new Migrator({ db, provider: migrationProvider, ...(migrationTableSchema && { migrationTableSchema }) });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  }

  async append(messages: readonly NewMessage[]): Promise<AppendResult[]> {
    if (messages.length === 0) return [];
    assertStorable(messages);
    // First optimistically, without looking anything up; if some messages
    // were stored before (a retried send), again, looking those up. A key
    // that conflicts is committed, so the next attempt finds it: each retry
    // learns at least one key, and one retry is the usual case.
    const lookUp = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.write((tx) => appendInTransaction(tx, messages, lookUp));
      } catch (error) {
        if (!(error instanceof StoredRefsFound) || attempt > messages.length) throw error;
        for (const key of error.keys) lookUp.add(key);
      }
    }
  }

  async history(conversation: ConversationId, limit: number, beforeSeq?: number): Promise<StoredMessage[]> {
    // SQLite reads a negative LIMIT as "no limit": a bad limit means nothing.
    if (!(limit >= 1)) return [];
    // Actions are entries of the log too, but a page shows messages, which carry their current state.
    let query = this.db.selectFrom('messages').selectAll().where('conversation', '=', conversation).where('kind', '=', 'message');
    if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq);
    const rows = await query.orderBy('seq', 'desc').limit(Math.floor(limit)).execute();
    return rows.map(toStoredMessage);
  }

  async since(conversation: ConversationId, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    if (!(limit >= 1)) return [];
    const rows = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('conversation', '=', conversation)
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(Math.floor(limit))
      .execute();
    return rows.map(toStoredMessage);
  }

  async act(action: NewAction): Promise<ActResult> {
    if (!isStorableText(action.text) || !isStorableText(action.id) || (action.ref !== null && !isStorableText(action.ref))) {
      throw new Error('an action must be well-formed Unicode without NUL characters');
    }
    return this.write((tx) => actInTransaction(tx, action));
  }

  async messageById(id: string): Promise<StoredMessage | null> {
    const row = await this.db.selectFrom('messages').selectAll().where('id', '=', id).where('kind', '=', 'message').executeTakeFirst();
    return row ? toStoredMessage(row) : null;
  }

  async entryAt(conversation: ConversationId, seq: number): Promise<StoredMessage | null> {
    if (!Number.isSafeInteger(seq)) return null;
    const row = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('conversation', '=', conversation)
      .where('seq', '=', seq)
      .executeTakeFirst();
    return row ? toStoredMessage(row) : null;
  }

  reactions(ids: readonly string[]): Promise<Map<string, StoredReaction[]>> {
    return selectReactions(this.db, ids);
  }

  async lastSeqs(conversations: readonly ConversationId[]): Promise<Map<ConversationId, number>> {
    const out = new Map<ConversationId, number>();
    // A counter row exists exactly when its conversation has messages: it is
    // created by the append that stores the first one, in the same transaction.
    for (const part of chunks([...new Set(conversations)])) {
      const rows = await this.db.selectFrom('conversations').select(['id', 'last_seq']).where('id', 'in', part).execute();
      for (const row of rows) out.set(row.id, row.last_seq);
    }
    return out;
  }

  async directConversationsOf(clientId: string): Promise<ConversationId[]> {
    // Two indexed lookups (peer_a, peer_b) rather than a scan of conversation ids.
    const rows = await this.db
      .selectFrom('conversations')
      .select('id')
      .where((eb) => eb.or([eb('peer_a', '=', clientId), eb('peer_b', '=', clientId)]))
      .execute();
    return rows.map((r) => r.id).sort(byCodeUnits);
  }

  async saveRoomChanges(changes: readonly StoredRoomChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.write(async (tx) => {
      for (const change of changes) await applyRoomChange(tx, change);
    });
  }

  async loadRooms(): Promise<StoredRoom[]> {
    return loadRooms(this.db);
  }

  async saveReceiptCounts(counts: readonly StoredReceiptCounts[]): Promise<void> {
    if (counts.length === 0) return;
    await this.write((tx) => upsertReceiptCounts(tx, counts));
  }

  async receiptCounts(ids: readonly string[]): Promise<Map<string, StoredReceiptCounts>> {
    return selectReceiptCounts(this.db, ids);
  }

  async saveTextCursors(cursors: readonly TextCursor[]): Promise<void> {
    if (cursors.length === 0) return;
    await this.write((tx) => upsertTextCursors(tx, cursors));
  }

  async textCursors(clientId: string): Promise<Map<ConversationId, number>> {
    return selectTextCursors(this.db, clientId);
  }

  async markSeen(clientIds: readonly string[]): Promise<void> {
    const unique = [...new Set(clientIds)];
    if (unique.length === 0) return;
    await this.write(async (tx) => {
      for (const part of chunks(unique)) {
        await tx
          .insertInto('seen_clients')
          .values(part.map((client_id) => ({ client_id })))
          .onConflict((oc) => oc.column('client_id').doNothing())
          .execute();
      }
    });
  }

  async hasBeenSeen(clientId: string): Promise<boolean> {
    const row = await this.db.selectFrom('seen_clients').select('client_id').where('client_id', '=', clientId).executeTakeFirst();
    return row !== undefined;
  }

  async createUser(user: NewUser): Promise<CreateUserResult> {
    assertStorableUser(user);
    return this.write((tx) => insertUser(tx, user));
  }

  async findUser(username: string): Promise<StoredUser | null> {
    const row = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return row ? toStoredUser(row) : null;
  }

  async nameTaken(username: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('username').where('username_key', '=', usernameKey(username)).executeTakeFirst();
    return row !== undefined;
  }

  async setDisplayName(username: string, displayName: string | null): Promise<boolean> {
    if (displayName !== null && !isStorableText(displayName))
      throw new Error('display name cannot be stored: text contains U+0000 or a lone surrogate');
    return this.write(async (tx) => {
      const result = await tx.updateTable('users').set({ display_name: displayName }).where('username', '=', username).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    });
  }

  async displayNames(usernames: readonly string[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    if (usernames.length === 0) return names;
    const rows = await this.db
      .selectFrom('users')
      .select(['username', 'display_name'])
      .where('username', 'in', [...new Set(usernames)])
      .where('display_name', 'is not', null)
      .execute();
    for (const row of rows) if (row.display_name !== null) names.set(row.username, row.display_name);
    return names;
  }

  async setPasswordHash(username: string, passwordHash: string): Promise<boolean> {
    return this.write(async (tx) => {
      const result = await tx.updateTable('users').set({ password_hash: passwordHash }).where('username', '=', username).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    });
  }

  async changePassword(username: string, passwordHash: string, at: number, keepSession?: string): Promise<boolean> {
    return this.write(async (tx) => {
      const result = await tx.updateTable('users').set({ password_hash: passwordHash }).where('username', '=', username).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await revokeSessionsOf(tx, username, at, keepSession);
      return true;
    });
  }

  async createSession(session: NewSession, keepAtMost?: number): Promise<void> {
    await this.write((tx) => insertSession(tx, session, keepAtMost));
  }

  async findSession(id: string): Promise<StoredSession | null> {
    const row = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toStoredSession(row) : null;
  }

  async revokeSession(id: string, at: number): Promise<boolean> {
    return this.write(async (tx) => {
      const result = await tx
        .updateTable('sessions')
        .set({ revoked_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    });
  }

  async revokeAllSessions(username: string, at: number, except?: string): Promise<number> {
    return this.write((tx) => revokeSessionsOf(tx, username, at, except));
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return this.write(async (tx) => {
      const result = await tx.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  /** Closes the connections (idempotent). Calls after it reject. */
  close(): Promise<void> {
    this.#closed ??= this.#db.destroy();
    return this.#closed;
  }
}
