import type { Database, Statement } from 'better-sqlite3';
import { parseConversation } from '@chorus/protocol';
import { refKey } from './append.js';
import { toRow, toStoredMessage, withSeq } from './rows.js';
import type { MessagesTable } from './schema.js';
import type { AppendResult, ConversationId, NewMessage, StoredMessage } from './storage.js';

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
 * - Each conversation's counter is read once per batch, its seqs handed out in
 *   the order of the batch, and written back once; a rollback takes the seqs
 *   back with it (no gaps).
 * - A message whose (from, ref) was stored earlier (this batch included) is a
 *   duplicate: its result is the stored message, and it takes no seq.
 */
export class SqliteAppender {
  readonly #readCounter: Statement<[string], { last_seq: number }>;
  readonly #writeCounter: Statement<[string, number, string | null, string | null]>;
  readonly #insert: Statement<MessagesTable>;
  readonly #findByRef: Statement<[string, string], MessagesTable>;
  readonly #transaction: (messages: readonly NewMessage[]) => AppendResult[];

  constructor(db: Database) {
    this.#readCounter = db.prepare('select last_seq from conversations where id = ?');
    this.#writeCounter = db.prepare(
      'insert into conversations (id, last_seq, peer_a, peer_b) values (?, ?, ?, ?) ' +
        'on conflict (id) do update set last_seq = excluded.last_seq',
    );
    // Skips only a (sender, ref) conflict; any other (a taken id) fails the batch.
    this.#insert = db.prepare(
      'insert into messages (id, conversation, seq, sender, recipient, room, text, sent_at, server_at, ref) ' +
        'values (@id, @conversation, @seq, @sender, @recipient, @room, @text, @sent_at, @server_at, @ref) ' +
        'on conflict (sender, ref) where ref is not null do nothing',
    );
    // `ref is not null` lets SQLite use the partial unique index.
    this.#findByRef = db.prepare('select * from messages where sender = ? and ref = ? and ref is not null');
    this.#transaction = db.transaction((messages: readonly NewMessage[]) => this.#appendAll(messages)).immediate;
  }

  /** Stores `messages` in one transaction (rolled back if anything throws); results in the order given. */
  append(messages: readonly NewMessage[]): AppendResult[] {
    return this.#transaction(messages);
  }

  #appendAll(messages: readonly NewMessage[]): AppendResult[] {
    // The last seq of each conversation this batch touches: as stored, and as this batch leaves it.
    const stored = new Map<ConversationId, number>();
    const last = new Map<ConversationId, number>();
    const inBatch = new Map<string, StoredMessage>();
    const results: AppendResult[] = [];
    for (const message of messages) {
      const key = message.ref === null ? null : refKey(message.from, message.ref);
      const earlier = key === null ? undefined : inBatch.get(key);
      if (earlier) {
        results.push({ message: earlier, duplicate: true });
        continue;
      }
      let previous = last.get(message.conversation);
      if (previous === undefined) {
        previous = this.#readCounter.get(message.conversation)?.last_seq ?? 0;
        stored.set(message.conversation, previous);
      }
      const numbered = withSeq(message, previous + 1);
      if (this.#insert.run(toRow(numbered)).changes === 0) {
        // Stored by an earlier call: answer with that one; the seq stays free.
        const row = this.#findByRef.get(message.from, message.ref!);
        if (!row) throw new Error(`message ${message.id}: insert skipped, but no message has its (from, ref)`);
        const original = toStoredMessage(row);
        inBatch.set(key!, original);
        results.push({ message: original, duplicate: true });
        last.set(message.conversation, previous);
        continue;
      }
      last.set(message.conversation, previous + 1);
      if (key !== null) inBatch.set(key, numbered);
      results.push({ message: numbered, duplicate: false });
    }
    for (const [conversation, seq] of last) {
      // Unchanged when every message of the conversation was a duplicate (then a new one gets no counter row).
      if (seq === stored.get(conversation)) continue;
      const peers = parseConversation(conversation);
      const direct = peers?.kind === 'direct';
      this.#writeCounter.run(conversation, seq, direct ? peers.a : null, direct ? peers.b : null);
    }
    return results;
  }
}
