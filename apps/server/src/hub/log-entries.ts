import { directConversation, LOBBY, MAX_REPLY_PREVIEW, roomConversation } from '@chorus/protocol';
import type { ActionEvent, ConversationRef, Envelope, MessageReceipts, OutEvent, ReplyRef, Target } from './events.js';
import { envelopeOf } from './envelope.js';
import type { MessageLog, StoredMessage } from './message-log.js';

/** The conversation id a client means by `ref`. */
export function conversationOf(clientId: string, ref: ConversationRef): string {
  if (ref.kind === 'lobby') return LOBBY;
  if (ref.kind === 'room') return roomConversation(ref.room);
  return directConversation(clientId, ref.peer);
}

/** What a reply shows of the message it answers: the start of its text, never half a surrogate pair. */
export function replyRefOf(m: StoredMessage): ReplyRef {
  let text = m.text.length > MAX_REPLY_PREVIEW ? m.text.slice(0, MAX_REPLY_PREVIEW) : m.text;
  const last = text.charCodeAt(text.length - 1);
  if (text.length < m.text.length && last >= 0xd800 && last <= 0xdbff) text = text.slice(0, -1);
  return { id: m.id, seq: m.seq, from: m.from, text };
}

/** The event of an action's log entry, given the message it acts on. */
export function actionEventOf(entry: StoredMessage, message: Pick<StoredMessage, 'id' | 'seq'>): ActionEvent {
  return {
    id: entry.id,
    action: entry.kind!,
    message: message.id,
    messageSeq: message.seq,
    from: entry.from,
    to: entry.to,
    room: entry.room,
    conversation: entry.conversation,
    seq: entry.seq,
    text: entry.text,
    serverAt: entry.serverAt,
  };
}

/** Where an event about a message goes: the message's own audience (a private one: both participants). */
export function audienceOf(m: Pick<StoredMessage, 'conversation' | 'from' | 'to' | 'room'>): Target[] {
  if (m.room !== null) return [{ kind: 'room', room: m.room }];
  if (m.conversation === LOBBY) return [{ kind: 'all' }];
  if (m.to === null || m.to === m.from) return [{ kind: 'client', clientId: m.from }];
  return [
    { kind: 'client', clientId: m.from },
    { kind: 'client', clientId: m.to },
  ];
}

/**
 * Stored log entries as the events a reader gets, in order: messages (with
 * the message they answer, their state, and with `withReactions` their
 * reactions) and actions. Looks up what the entries refer to in a few
 * queries; an entry whose message is gone is left out.
 */
export async function entryEvents(
  log: MessageLog,
  entries: readonly StoredMessage[],
  options: { receipts?: ReadonlyMap<string, MessageReceipts>; withReactions?: boolean } = {},
): Promise<OutEvent[]> {
  const wanted = new Set<string>();
  for (const e of entries) {
    if (e.kind !== undefined && e.target !== undefined) wanted.add(e.target);
    else if (e.replyTo != null) wanted.add(e.replyTo);
  }
  const referred = new Map<string, StoredMessage>();
  for (const m of entries) if (m.kind === undefined) referred.set(m.id, m);
  await Promise.all(
    [...wanted]
      .filter((id) => !referred.has(id))
      .map(async (id) => {
        const m = await log.messageById(id);
        if (m) referred.set(id, m);
      }),
  );
  const reactions = options.withReactions
    ? await log.reactions(entries.filter((e) => e.kind === undefined && e.deletedAt === undefined).map((e) => e.id))
    : new Map();
  const events: OutEvent[] = [];
  for (const e of entries) {
    if (e.kind !== undefined) {
      const message = referred.get(e.target ?? '');
      if (message) events.push({ kind: 'action', action: actionEventOf(e, message) });
      continue;
    }
    const answered = e.replyTo != null ? referred.get(e.replyTo) : undefined;
    const envelope: Envelope = {
      ...envelopeOf(e),
      ...(answered ? { replyTo: replyRefOf(answered) } : {}),
      ...(reactions.has(e.id) ? { reactions: reactions.get(e.id) } : {}),
    };
    events.push({ kind: 'message', envelope, receipts: options.receipts?.get(e.id) });
  }
  return events;
}
