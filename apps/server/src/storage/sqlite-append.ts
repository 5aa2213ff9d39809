import type { Database, Statement } from 'better-sqlite3';
import type { Selectable } from 'kysely';
import { parseConversation } from '@chorus/protocol';
import { toStoredMessage } from './rows.js';
import type { MessagesTable } from './schema.js';
import type { AppendResult, ConversationId, NewMessage, StoredMessage } from './storage.js';

/** Conversations whose last seq the appender remembers; past it, it forgets them all and reads them again. */
const MAX_REMEMBERED_COUNTERS = 100_000;

/**
 * `Storage.append` on SQLite with prepared statements on the better-sqlite3
 * connection itself, one synchronous transaction per batch: the query
 * building of the portable path (append.ts, through Kysely) was a tenth of
 * the cost of a direct message, and a synchronous transaction can do what the
 * portable one cannot: learn that a (from, ref) is stored already at the
 * moment its insert is skipped, and simply not use a seq for it, instead of
 * rolling back and retrying.
 *
 * Same contract as the portable path (the shared contract suite runs on it):
 * - BEGIN IMMEDIATE takes the write lock before the first read, so the
 *   counters and the dedupe lookups cannot change under the transaction.
 * - Each conversation's seqs are handed out in the order of the batch, and its
 *   counter written once per batch; a rollback takes the seqs back with it (no
 *   gaps).
 * - A message whose (from, ref) was stored earlier (this batch included) is a
 *   duplicate: its result is the stored message, and it takes no seq.
 *
 * Counters are remembered between batches (reading one was a tenth of the
 * cost of a message), but trusted only while the file holds exactly what
 * this appender's last commit left in it: the batch starts by reading, under
 * the write lock, SQLite's count of commits by other connections (`pragma
 * data_version`, any process) and this connection's count of changed rows
 * (`total_changes()`, any statement here outside the appender); if either
 * moved since that commit, every remembered counter is forgotten. A batch's
 * counters are remembered only once its own transaction has committed (not
 * when it ran inside a caller's transaction); a batch that throws (rolled
 * back, or a failed commit) forgets them all.
 */
export class SqliteAppender {
  readonly #db: Database;
  readonly #state: Statement<[], { version: number; changes: number }>;
  readonly #readCounter: Statement<[string], number>;
  readonly #createCounter: Statement<[string, number, string | null, string | null]>;
  readonly #updateCounter: Statement<[number, string]>;
  readonly #insert: Statement<unknown[]>;
  readonly #findByRef: Statement<[string, string], Selectable<MessagesTable>>;
  readonly #transaction: (messages: readonly NewMessage[]) => Batch;
  /** Each conversation's last seq as this appender's last commit left it (0: no counter row). */
  readonly #counters = new Map<ConversationId, number>();
  /** `#state` as that commit left it; null: nothing remembered. */
  #committed: { version: number; changes: number } | null = null;

  constructor(db: Database) {
    this.#db = db;
    this.#state = db.prepare('select data_version as version, total_changes() as changes from pragma_data_version');
    this.#readCounter = db.prepare<[string], number>('select last_seq from conversations where id = ?').pluck();
    this.#createCounter = db.prepare(
      'insert into conversations (id, last_seq, peer_a, peer_b) values (?, ?, ?, ?) ' +
        'on conflict (id) do update set last_seq = excluded.last_seq',
    );
    this.#updateCounter = db.prepare('update conversations set last_seq = ? where id = ?');
    // Positional parameters bind faster than named ones. Skips only a
    // (sender, ref) conflict; any other (a taken id) fails the batch.
    this.#insert = db.prepare(
      'insert into messages (id, conversation, seq, sender, recipient, room, text, sent_at, server_at, ref, reply_to) ' +
        'values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (sender, ref) where ref is not null do nothing',
    );
    // `ref is not null` lets SQLite use the partial unique index.
    this.#findByRef = db.prepare('select * from messages where sender = ? and ref = ? and ref is not null');
    this.#transaction = db.transaction((messages: readonly NewMessage[]) => this.#appendAll(messages)).immediate;
  }

  /** Stores `messages` in one transaction (rolled back if anything throws); results in the order given. */
  append(messages: readonly NewMessage[]): AppendResult[] {
    // Inside a transaction of the caller's, the batch would only be a
    // savepoint of it, and that transaction could still roll it back.
    const nested = this.#db.inTransaction;
    let batch: Batch;
    try {
      batch = this.#transaction(messages);
    } catch (error) {
      this.#forget();
      throw error;
    }
    if (nested) {
      this.#forget();
      return batch.results;
    }
    // Committed: what it left is what the next batch may trust.
    for (const [conversation, seq] of batch.counters) this.#counters.set(conversation, seq);
    if (this.#counters.size > MAX_REMEMBERED_COUNTERS) this.#counters.clear();
    this.#committed = batch.state;
    return batch.results;
  }

  /**
   * `conversation`'s last seq as stored when this batch began (0: no counter
   * row), remembered from here on: a batch that throws forgets it with the rest.
   */
  #lastSeq(conversation: ConversationId): number {
    let seq = this.#counters.get(conversation);
    if (seq === undefined) this.#counters.set(conversation, (seq = this.#readCounter.get(conversation) ?? 0));
    return seq;
  }

  #forget(): void {
    this.#counters.clear();
    this.#committed = null;
  }

  #appendAll(messages: readonly NewMessage[]): Batch {
    const state = this.#state.get()!;
    const committed = this.#committed;
    if (committed === null || committed.version !== state.version || committed.changes !== state.changes) this.#forget();
    // The last seq of each conversation this batch touches, as this batch leaves it.
    const counters = new Map<ConversationId, number>();
    const results: AppendResult[] = [];
    for (const message of messages) {
      const { conversation } = message;
      let previous = counters.get(conversation);
      if (previous === undefined) previous = this.#lastSeq(conversation);
      const seq = previous + 1;
      const { id, from, to, room, text, sentAt, serverAt, ref } = message;
      const replyTo = message.replyTo ?? null;
      if (this.#insert.run(id, conversation, seq, from, to, room, text, sentAt, serverAt, ref, replyTo).changes === 0) {
        // Stored by an earlier call or earlier in this batch: answer with that one; the seq stays free.
        const row = this.#findByRef.get(from, ref!);
        if (!row) throw new Error(`message ${id}: insert skipped, but no message has its (from, ref)`);
        results.push({ message: toStoredMessage(row), duplicate: true });
        counters.set(conversation, previous);
        continue;
      }
      counters.set(conversation, seq);
      // Only the interface's fields (the caller's object may carry more, e.g. a hub envelope).
      const plain: StoredMessage = { id, conversation, seq, from, to, room, text, sentAt, serverAt, ref };
      const stored: StoredMessage = replyTo === null ? plain : { ...plain, replyTo };
      results.push({ message: stored, duplicate: false });
    }
    for (const [conversation, seq] of counters) {
      const before = this.#counters.get(conversation)!;
      // Unchanged when every message of the conversation was a duplicate (then a new one gets no counter row).
      if (seq === before) continue;
      if (before > 0) {
        if (this.#updateCounter.run(seq, conversation).changes !== 1)
          throw new Error(`conversation ${conversation}: its counter row is gone`);
        continue;
      }
      const peers = parseConversation(conversation);
      const direct = peers?.kind === 'direct';
      this.#createCounter.run(conversation, seq, direct ? peers.a : null, direct ? peers.b : null);
    }
    // This batch's own changes count in total_changes(); the commit does not change either figure.
    return { results, counters, state: this.#state.get()! };
  }
}

interface Batch {
  readonly results: AppendResult[];
  readonly counters: Map<ConversationId, number>;
  readonly state: { version: number; changes: number };
}
