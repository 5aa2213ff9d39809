import { sql, type Kysely } from 'kysely';
import { byCodeUnits, chunks } from './rows.js';
import type { StorageDatabase } from './schema.js';
import type { ConversationId, StoredReceiptCounts, TextCursor } from './storage.js';

// Receipt counts and text cursors: what recipients have had of messages. Both
// are written in batches that may overlap (two writers, a batch retried), so
// every write keeps the larger value, and a batch names each key once (one
// statement may not update a row twice on PostgreSQL), sorted (two writers
// lock rows in the same order, so they cannot deadlock each other).

/** `counts` with one entry per message id (the largest of each count), sorted by id. */
export function mergedCounts(counts: readonly StoredReceiptCounts[]): StoredReceiptCounts[] {
  const byId = new Map<string, StoredReceiptCounts>();
  for (const c of counts) {
    const before = byId.get(c.id);
    byId.set(
      c.id,
      before
        ? {
            id: c.id,
            recipients: Math.max(before.recipients, c.recipients),
            delivered: Math.max(before.delivered, c.delivered),
            read: Math.max(before.read, c.read),
          }
        : c,
    );
  }
  return [...byId.values()].sort((a, b) => byCodeUnits(a.id, b.id));
}

/** The larger of the stored value and the one written (`excluded`), on both engines. */
const larger = (table: string, column: string) =>
  sql<number>`case when ${sql.ref(`excluded.${column}`)} > ${sql.ref(`${table}.${column}`)} then ${sql.ref(`excluded.${column}`)} else ${sql.ref(`${table}.${column}`)} end`;

/** Upserts receipt counts inside the caller's transaction, keeping the larger counts. */
export async function upsertReceiptCounts(tx: Kysely<StorageDatabase>, counts: readonly StoredReceiptCounts[]): Promise<void> {
  for (const part of chunks(mergedCounts(counts))) {
    await tx
      .insertInto('receipt_counts')
      .values(part.map((c) => ({ message_id: c.id, recipients: c.recipients, delivered: c.delivered, read: c.read })))
      .onConflict((oc) =>
        oc.column('message_id').doUpdateSet({
          recipients: larger('receipt_counts', 'recipients'),
          delivered: larger('receipt_counts', 'delivered'),
          read: larger('receipt_counts', 'read'),
        }),
      )
      .execute();
  }
}

export async function selectReceiptCounts(db: Kysely<StorageDatabase>, ids: readonly string[]): Promise<Map<string, StoredReceiptCounts>> {
  const out = new Map<string, StoredReceiptCounts>();
  for (const part of chunks([...new Set(ids)])) {
    const rows = await db.selectFrom('receipt_counts').selectAll().where('message_id', 'in', part).execute();
    for (const r of rows) out.set(r.message_id, { id: r.message_id, recipients: r.recipients, delivered: r.delivered, read: r.read });
  }
  return out;
}

/** Deletes the counts of a conversation's messages (inside the caller's transaction, before the messages go). */
export async function deleteReceiptCountsOf(tx: Kysely<StorageDatabase>, conversation: ConversationId): Promise<void> {
  await tx
    .deleteFrom('receipt_counts')
    .where('message_id', 'in', (eb) => eb.selectFrom('messages').select('id').where('conversation', '=', conversation))
    .execute();
}

/** `cursors` with one entry per (client, conversation), the furthest, sorted. */
function mergedCursors(cursors: readonly TextCursor[]): TextCursor[] {
  const byKey = new Map<string, TextCursor>();
  // A space is in neither a client id nor a conversation id.
  for (const c of cursors) {
    const key = `${c.clientId} ${c.conversation}`;
    const before = byKey.get(key);
    if (!before || c.seq > before.seq) byKey.set(key, c);
  }
  return [...byKey.entries()].sort(([a], [b]) => byCodeUnits(a, b)).map(([, c]) => c);
}

/** Upserts text cursors inside the caller's transaction; a cursor only moves forward. */
export async function upsertTextCursors(tx: Kysely<StorageDatabase>, cursors: readonly TextCursor[]): Promise<void> {
  for (const part of chunks(mergedCursors(cursors))) {
    await tx
      .insertInto('text_cursors')
      .values(part.map((c) => ({ client_id: c.clientId, conversation: c.conversation, seq: c.seq })))
      .onConflict((oc) => oc.columns(['client_id', 'conversation']).doUpdateSet({ seq: larger('text_cursors', 'seq') }))
      .execute();
  }
}

export async function selectTextCursors(db: Kysely<StorageDatabase>, clientId: string): Promise<Map<ConversationId, number>> {
  const rows = await db.selectFrom('text_cursors').select(['conversation', 'seq']).where('client_id', '=', clientId).execute();
  return new Map(rows.map((r) => [r.conversation, r.seq]));
}
