import { parseConversation } from '@chorus/protocol';
import type { Kysely } from 'kysely';
import { chunks, toStoredMessage } from './rows.js';
import type { StorageDatabase } from './schema.js';
import type { ActResult, NewAction, StoredMessage, StoredReaction } from './storage.js';

/**
 * The body of `Storage.act`, inside one write transaction the caller opens:
 * the action's log entry takes the conversation's next seq from the same
 * counter as messages (so the log stays gap-free and a resume replays actions
 * in order with messages), and its effect on the message is written with it.
 */
export async function actInTransaction(tx: Kysely<StorageDatabase>, action: NewAction): Promise<ActResult> {
  if (action.ref !== null) {
    // A retry: answer with what the first attempt stored.
    const before = await tx
      .selectFrom('messages')
      .selectAll()
      .where('sender', '=', action.from)
      .where('ref', '=', action.ref)
      .where('ref', 'is not', null)
      .executeTakeFirst();
    if (before) {
      const target = before.target ?? action.target;
      const message = await tx.selectFrom('messages').selectAll().where('id', '=', target).executeTakeFirst();
      const entry = toStoredMessage(before);
      return { ok: true, action: entry, message: message ? toStoredMessage(message) : entry, duplicate: true };
    }
  }
  const row = await tx.selectFrom('messages').selectAll().where('id', '=', action.target).executeTakeFirst();
  if (row?.kind !== 'message') return { ok: false, reason: 'unknown' };
  if (row.deleted_at !== null) return { ok: false, reason: 'deleted' };

  // The counter row exists: the message took a seq from it. Its row lock
  // (PostgreSQL) or the write lock (SQLite) orders concurrent writers.
  const counter = await tx
    .updateTable('conversations')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', row.conversation)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const seq = Number(counter.last_seq);
  const entry: StoredMessage = {
    id: action.id,
    conversation: row.conversation,
    seq,
    from: action.from,
    to: entryRecipient(row.conversation, row.recipient, action.from),
    room: row.room,
    text: action.text,
    sentAt: action.serverAt,
    serverAt: action.serverAt,
    ref: action.ref,
    kind: action.kind,
    target: row.id,
  };
  await tx
    .insertInto('messages')
    .values({
      id: entry.id,
      conversation: entry.conversation,
      seq,
      sender: entry.from,
      recipient: entry.to,
      room: entry.room,
      text: entry.text,
      sent_at: entry.sentAt,
      server_at: entry.serverAt,
      ref: entry.ref,
      kind: action.kind,
      target: row.id,
    })
    .execute();

  switch (action.kind) {
    case 'edit':
      await tx.updateTable('messages').set({ text: action.text, edited_at: action.serverAt }).where('id', '=', row.id).execute();
      break;
    case 'delete':
      // The text goes: a deleted message keeps only its place.
      await tx.updateTable('messages').set({ text: '', deleted_at: action.serverAt }).where('id', '=', row.id).execute();
      await tx.deleteFrom('reactions').where('message_id', '=', row.id).execute();
      break;
    case 'react':
      await tx
        .insertInto('reactions')
        .values({ message_id: row.id, client_id: action.from, emoji: action.text, seq })
        .onConflict((oc) => oc.columns(['message_id', 'emoji', 'client_id']).doNothing())
        .execute();
      break;
    case 'unreact':
      await tx
        .deleteFrom('reactions')
        .where('message_id', '=', row.id)
        .where('client_id', '=', action.from)
        .where('emoji', '=', action.text)
        .execute();
      break;
  }
  const after = await tx.selectFrom('messages').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  return { ok: true, action: entry, message: toStoredMessage(after), duplicate: false };
}

/**
 * Who an action's entry is "to": a private message's entry is to the
 * participant other than the actor (so that the text protocol's catch-up,
 * which gives a client what is to it, gives it the other's actions); other
 * entries keep the message's.
 */
function entryRecipient(conversation: string, recipient: string | null, actor: string): string | null {
  const peers = parseConversation(conversation);
  if (peers?.kind !== 'direct') return recipient;
  return peers.a === actor ? peers.b : peers.a;
}

/** The reactions of these messages, each emoji's reactors in the order they reacted; emoji by first reaction. */
export async function selectReactions(db: Kysely<StorageDatabase>, ids: readonly string[]): Promise<Map<string, StoredReaction[]>> {
  const out = new Map<string, StoredReaction[]>();
  for (const part of chunks([...new Set(ids)])) {
    const rows = await db
      .selectFrom('reactions')
      .select(['message_id', 'client_id', 'emoji', 'seq'])
      .where('message_id', 'in', part)
      .orderBy('message_id')
      .orderBy('seq')
      .execute();
    const byMessage = new Map<string, Map<string, string[]>>();
    for (const r of rows) {
      let emojis = byMessage.get(r.message_id);
      if (!emojis) byMessage.set(r.message_id, (emojis = new Map()));
      let by = emojis.get(r.emoji);
      if (!by) emojis.set(r.emoji, (by = []));
      by.push(r.client_id);
    }
    for (const [id, emojis] of byMessage)
      out.set(
        id,
        [...emojis].map(([emoji, by]) => ({ emoji, by })),
      );
  }
  return out;
}
