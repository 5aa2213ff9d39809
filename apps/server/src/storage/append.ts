import { parseConversation } from '@chorus/protocol';
import { sql, type Kysely } from 'kysely';
import { chunks, toRow, toStoredMessage, withSeq } from './rows.js';
import type { StorageDatabase } from './schema.js';
import type { AppendResult, ConversationId, NewMessage, StoredMessage } from './storage.js';

/** The dedupe key of a message with a ref: (from, ref). A NUL cannot be in either (see storable.ts). */
export function refKey(from: string, ref: string): string {
  return `${from}\0${ref}`;
}

/**
 * Thrown inside the transaction when messages of the batch turned out to be
 * stored already (their insert was skipped): the transaction rolls back, and
 * the caller runs it again knowing these keys, so that they become duplicates
 * and take no seq.
 */
export class StoredRefsFound extends Error {
  constructor(readonly keys: readonly string[]) {
    super(`${keys.length} message(s) of the batch were stored before`);
    this.name = 'StoredRefsFound';
  }
}

/**
 * The body of `Storage.append`, run inside one write transaction that the
 * caller opens (see SqlStorage.append for the retry on StoredRefsFound):
 *
 * 1. Looks up the stored messages for the (from, ref) keys in `lookUp` (empty
 *    on the first attempt: retries are rare, so the common case needs no
 *    lookup query at all).
 * 2. Walks the batch in order: a message whose key is stored, or appeared
 *    earlier in the batch, becomes a duplicate of that one; the others are new.
 * 3. Adds the number of new messages of each conversation to its counter with
 *    one upsert that returns the new `last_seq`: the batch's messages of that
 *    conversation get last_seq-n+1 .. last_seq in order. The counter row is
 *    written in the same transaction as the messages, so a rollback takes the
 *    seqs back with it (no gaps), and its row lock (PostgreSQL) or the write
 *    lock (SQLite) keeps concurrent writers from taking the same seqs.
 * 4. Inserts the new messages, skipping any whose (from, ref) is already
 *    stored. If one was skipped, its seq would be a gap: throws
 *    StoredRefsFound with the skipped keys instead, which rolls back.
 */
export async function appendInTransaction(
  tx: Kysely<StorageDatabase>,
  messages: readonly NewMessage[],
  lookUp: ReadonlySet<string>,
): Promise<AppendResult[]> {
  const stored = await findByRef(tx, messages, lookUp);
  const plan = planAppend(messages, stored);
  const numbered = await numberMessages(tx, plan.fresh);
  await insertMessages(tx, numbered);
  return plan.results(numbered);
}

/**
 * What each message of a batch turns out to be: a duplicate of a stored
 * message (its key is in `stored`) or of one earlier in the batch, or a new
 * one. `fresh` lists the new ones in order; `results` answers for the whole
 * batch once they are numbered (given in the order of `fresh`).
 */
export function planAppend(
  messages: readonly NewMessage[],
  stored: ReadonlyMap<string, StoredMessage>,
): { fresh: NewMessage[]; results(numbered: readonly StoredMessage[]): AppendResult[] } {
  const fresh: NewMessage[] = [];
  const plan: ({ kind: 'stored'; message: StoredMessage } | { kind: 'earlier' | 'new'; index: number })[] = [];
  const firstInBatch = new Map<string, number>();
  for (const message of messages) {
    const key = message.ref === null ? null : refKey(message.from, message.ref);
    const before = key === null ? undefined : stored.get(key);
    const earlier = key === null ? undefined : firstInBatch.get(key);
    if (before) plan.push({ kind: 'stored', message: before });
    else if (earlier !== undefined) plan.push({ kind: 'earlier', index: earlier });
    else {
      if (key !== null) firstInBatch.set(key, fresh.length);
      plan.push({ kind: 'new', index: fresh.length });
      fresh.push(message);
    }
  }
  return {
    fresh,
    results: (numbered) =>
      plan.map((p) =>
        p.kind === 'stored' ? { message: p.message, duplicate: true } : { message: numbered[p.index]!, duplicate: p.kind === 'earlier' },
      ),
  };
}

/** The stored messages of the batch whose key is in `lookUp`, by key. */
export async function findByRef(
  tx: Kysely<StorageDatabase>,
  messages: readonly NewMessage[],
  lookUp: ReadonlySet<string>,
): Promise<Map<string, StoredMessage>> {
  const pairs = messages.flatMap((m) => (m.ref !== null && lookUp.has(refKey(m.from, m.ref)) ? [[m.from, m.ref] as const] : []));
  const found = new Map<string, StoredMessage>();
  for (const part of chunks(pairs)) {
    const rows = await tx
      .selectFrom('messages')
      .selectAll()
      // `ref is not null` lets SQLite use the partial unique index. A VALUES
      // list rather than `in ((a, b), (c, d), ...)`: PostgreSQL plans the
      // latter as one OR arm per pair, which costs milliseconds per 100 pairs.
      .where('ref', 'is not', null)
      .where(
        sql<boolean>`(${sql.ref('sender')}, ${sql.ref('ref')}) in (values ${sql.join(part.map(([from, ref]) => sql`(${from}, ${ref})`))})`,
      )
      .execute();
    for (const row of rows) found.set(refKey(row.sender, row.ref!), toStoredMessage(row));
  }
  return found;
}

/** Takes seqs for `fresh` from the conversations' counters and returns the messages with them, in order. */
async function numberMessages(tx: Kysely<StorageDatabase>, fresh: readonly NewMessage[]): Promise<StoredMessage[]> {
  const counts = new Map<ConversationId, number>();
  for (const m of fresh) counts.set(m.conversation, (counts.get(m.conversation) ?? 0) + 1);
  // Sorted, so that two transactions lock the counter rows they share in the
  // same order and cannot deadlock on them.
  const conversations = [...counts.keys()].sort();

  const next = new Map<ConversationId, number>();
  for (const part of chunks(conversations)) {
    const rows = await tx
      .insertInto('conversations')
      .values(
        part.map((id) => {
          const peers = parseConversation(id);
          const direct = peers?.kind === 'direct';
          return { id, last_seq: counts.get(id)!, peer_a: direct ? peers.a : null, peer_b: direct ? peers.b : null };
        }),
      )
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          last_seq: eb('conversations.last_seq', '+', eb.ref('excluded.last_seq')),
        })),
      )
      .returning(['id', 'last_seq'])
      .execute();
    // The first seq of this batch in each conversation.
    for (const row of rows) next.set(row.id, row.last_seq - counts.get(row.id)! + 1);
  }

  return fresh.map((m) => {
    const seq = next.get(m.conversation)!;
    next.set(m.conversation, seq + 1);
    return withSeq(m, seq);
  });
}

/**
 * Inserts the numbered messages; throws StoredRefsFound if any (from, ref)
 * was stored already. On PostgreSQL, ON CONFLICT also settles a race with a
 * concurrent transaction inserting the same key: it waits for that one, and
 * skips the row if it committed (instead of failing with a unique violation).
 */
async function insertMessages(tx: Kysely<StorageDatabase>, numbered: readonly StoredMessage[]): Promise<void> {
  const skipped: string[] = [];
  for (const part of chunks(numbered)) {
    const rows = await tx
      .insertInto('messages')
      .values(part.map(toRow))
      .onConflict((oc) => oc.columns(['sender', 'ref']).where('ref', 'is not', null).doNothing())
      .returning('id')
      .execute();
    if (rows.length === part.length) continue;
    const inserted = new Set(rows.map((r) => r.id));
    for (const m of part) if (!inserted.has(m.id)) skipped.push(refKey(m.from, m.ref!));
  }
  if (skipped.length > 0) throw new StoredRefsFound(skipped);
}
