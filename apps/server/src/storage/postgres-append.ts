import { parseConversation } from '@chorus/protocol';
import pg from 'pg';
import { refKey } from './append.js';
import { byCodeUnits, withSeq } from './rows.js';
import type { ConversationId, NewMessage, StoredMessage } from './storage.js';

/**
 * One statement numbers and inserts a whole batch: the conversations'
 * counters are bumped (rows locked in the order given, sorted by code units
 * as the portable path does, so that two nodes' batches cannot deadlock on
 * them) and the messages inserted with the seqs the bumps
 * handed out, in the batch's order within each conversation. Arrays rather
 * than a VALUES list keep the text one prepared statement for any batch size,
 * which PostgreSQL parses and plans once per connection; in autocommit it is
 * its own transaction, so a batch is one round trip and one commit.
 */
const APPEND_SQL = `
with convs as (
  select * from unnest($10::text[], $11::int8[], $12::text[], $13::text[]) with ordinality as v(id, n, peer_a, peer_b, ord)
), bumped as (
  insert into conversations as c (id, last_seq, peer_a, peer_b)
  select id, n, peer_a, peer_b from convs order by ord
  on conflict (id) do update set last_seq = c.last_seq + excluded.last_seq
  returning c.id, c.last_seq
), input as (
  select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[], $9::text[], $14::text[])
    with ordinality as i(id, conversation, sender, recipient, room, text, sent_at, server_at, ref, reply_to, ord)
)
insert into messages (id, conversation, seq, sender, recipient, room, text, sent_at, server_at, ref, reply_to)
select i.id, i.conversation, b.last_seq - v.n + row_number() over (partition by i.conversation order by i.ord),
       i.sender, i.recipient, i.room, i.text, i.sent_at, i.server_at, i.ref, i.reply_to
from input i join bumped b on b.id = i.conversation join convs v on v.id = i.conversation
returning id, seq`;

/**
 * Thrown when a message of the batch has a (from, ref) that another
 * transaction stored first (the insert failed, so nothing of the batch was
 * stored and no seq was taken): the caller looks those keys up and tries
 * again with them as duplicates.
 */
export class RefTakenError extends Error {
  constructor(readonly keys: readonly string[]) {
    super('a message of the batch was stored first by another transaction');
    this.name = 'RefTakenError';
  }
}

/**
 * Stores `fresh` (messages known not to be stored: no key of theirs stored
 * before, none twice in the batch) with their seqs, in one statement on
 * `pool`; resolves with them numbered, in the order given.
 */
export async function appendFresh(pool: pg.Pool, fresh: readonly NewMessage[]): Promise<StoredMessage[]> {
  if (fresh.length === 0) return [];
  const n = fresh.length;
  const ids = new Array<string>(n);
  const conversations = new Array<string>(n);
  const senders = new Array<string>(n);
  const recipients = new Array<string | null>(n);
  const rooms = new Array<string | null>(n);
  const texts = new Array<string>(n);
  const sentAt = new Array<number>(n);
  const serverAt = new Array<number>(n);
  const refs = new Array<string | null>(n);
  const replyTo = new Array<string | null>(n);
  const counts = new Map<ConversationId, number>();
  for (let i = 0; i < n; i++) {
    const m = fresh[i]!;
    ids[i] = m.id;
    conversations[i] = m.conversation;
    senders[i] = m.from;
    recipients[i] = m.to;
    rooms[i] = m.room;
    texts[i] = m.text;
    sentAt[i] = m.sentAt;
    serverAt[i] = m.serverAt;
    refs[i] = m.ref;
    replyTo[i] = m.replyTo ?? null;
    counts.set(m.conversation, (counts.get(m.conversation) ?? 0) + 1);
  }
  const convIds = [...counts.keys()].sort(byCodeUnits);
  const peerA = convIds.map((id) => direct(id)?.a ?? null);
  const peerB = convIds.map((id) => direct(id)?.b ?? null);
  const convCounts = convIds.map((id) => counts.get(id)!);

  let rows: { id: string; seq: number }[];
  try {
    ({ rows } = await pool.query<{ id: string; seq: number }>({
      name: 'chorus-append-v2',
      text: APPEND_SQL,
      values: [ids, conversations, senders, recipients, rooms, texts, sentAt, serverAt, refs, convIds, convCounts, peerA, peerB, replyTo],
    }));
  } catch (error) {
    // Another node stored one of these (from, ref)s between our lookup and this insert (a retry racing its original).
    if (error instanceof pg.DatabaseError && error.code === '23505' && error.constraint === 'messages_sender_ref_key') {
      throw new RefTakenError(fresh.flatMap((m) => (m.ref === null ? [] : [refKey(m.from, m.ref)])));
    }
    throw error;
  }
  if (rows.length !== n) throw new Error(`stored ${rows.length} of ${n} messages`);
  const seqOf = new Map<string, number>();
  for (const row of rows) seqOf.set(row.id, Number(row.seq));
  return fresh.map((m) => withSeq(m, seqOf.get(m.id)!));
}

function direct(conversation: ConversationId): { a: string; b: string } | null {
  const peers = parseConversation(conversation);
  return peers?.kind === 'direct' ? peers : null;
}
