import { RESUME_LIMIT } from './limits.js';
import type { ConversationId, MessageLog, StoredMessage } from './message-log.js';

/** What a client without cursors of its own (the text protocol) missed in its private conversations. */
export interface TextCatchUp {
  /** The private messages kept for it, in seq order within each conversation. */
  readonly messages: readonly StoredMessage[];
  /**
   * Per conversation that moved, the seq it has now been given everything up
   * to (its own messages and the ones it was given live included).
   */
  readonly through: ReadonlyMap<ConversationId, number>;
  /** Conversations with more kept than one catch-up carries: the rest comes at the next connect. */
  readonly behind: ReadonlySet<ConversationId>;
}

/**
 * Reads what was sent to `clientId` in its private conversations after its
 * server-side cursors: the messages kept for it while it was away. At most
 * `limit` messages per conversation at a time (as a resume replays); the rest
 * follow on its next connect, still in order and still once. The cursors
 * themselves move when the caller has sent the messages.
 */
export async function textCatchUp(log: MessageLog, clientId: string, limit = RESUME_LIMIT): Promise<TextCatchUp> {
  const [conversations, cursors] = await Promise.all([log.directConversationsOf(clientId), log.textCursors(clientId)]);
  const messages: StoredMessage[] = [];
  const through = new Map<ConversationId, number>();
  const behind = new Set<ConversationId>();
  for (const conversation of conversations) {
    const after = cursors.get(conversation) ?? 0;
    const missed = await log.since(conversation, after, limit + 1);
    if (missed.length === 0) continue;
    if (missed.length > limit) {
      behind.add(conversation);
      missed.length = limit;
    }
    // Its own messages (from another tab, or notes to itself) it has already seen.
    for (const m of missed) if (m.to === clientId && m.from !== clientId) messages.push(m);
    through.set(conversation, missed.at(-1)!.seq);
  }
  return { messages, through, behind };
}
