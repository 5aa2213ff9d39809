import type { Insertable, Selectable } from 'kysely';
import type { MessagesTable } from './schema.js';
import type { ActionKind, NewMessage, StoredMessage } from './storage.js';

/** Rows per multi-row statement: far below SQLite's and PostgreSQL's bound-parameter limits. */
export const ROWS_PER_STATEMENT = 500;

/** Splits `items` into slices of at most `size` (a statement's worth of rows or parameters). */
export function chunks<T>(items: readonly T[], size = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * `message` with its seq, copying only the interface's fields (the caller's
 * object may carry more, e.g. a hub envelope).
 */
export function withSeq(message: NewMessage, seq: number): StoredMessage {
  const { id, conversation, from, to, room, text, sentAt, serverAt, ref, replyTo } = message;
  const stored: StoredMessage = { id, conversation, seq, from, to, room, text, sentAt, serverAt, ref };
  // Present only when set: a plain message reads back exactly as handed over.
  return replyTo == null ? stored : { ...stored, replyTo };
}

/** A messages row as the interface's StoredMessage. */
export function toStoredMessage(row: Selectable<MessagesTable>): StoredMessage {
  const stored: StoredMessage = {
    id: row.id,
    conversation: row.conversation,
    seq: row.seq,
    from: row.sender,
    to: row.recipient,
    room: row.room,
    text: row.text,
    sentAt: row.sent_at,
    serverAt: row.server_at,
    ref: row.ref,
  };
  // Rows written before migration 0006 (or by the fast appender) have no kind: messages.
  if (row.kind === undefined || (row.kind === 'message' && row.reply_to == null && row.edited_at == null && row.deleted_at == null)) {
    return stored;
  }
  return {
    ...stored,
    ...(row.kind !== 'message' ? { kind: row.kind as ActionKind, target: row.target ?? '' } : {}),
    ...(row.reply_to != null ? { replyTo: row.reply_to } : {}),
    ...(row.edited_at != null ? { editedAt: Number(row.edited_at) } : {}),
    ...(row.deleted_at != null ? { deletedAt: Number(row.deleted_at) } : {}),
  };
}

/** A StoredMessage as a messages row. */
export function toRow(message: StoredMessage): Insertable<MessagesTable> {
  return {
    id: message.id,
    conversation: message.conversation,
    seq: message.seq,
    sender: message.from,
    recipient: message.to,
    room: message.room,
    text: message.text,
    sent_at: message.sentAt,
    server_at: message.serverAt,
    ref: message.ref,
    reply_to: message.replyTo ?? null,
    kind: message.kind ?? 'message',
    target: message.target ?? null,
  };
}

/** Sorts strings the same way on every database and in every locale (by UTF-16 code units). */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
