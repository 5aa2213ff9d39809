/** The lobby: messages to everyone. */
export const LOBBY = 'everyone';

/**
 * Which conversation a message belongs to: the lobby, or the direct-message
 * pair (the same key whoever of the two sent it).
 */
export type ConversationId = typeof LOBBY | `dm:${string}`;

/** The conversation of a message from `from` to `to` (null = everyone). */
export function conversationIdOf(from: string, to: string | null): ConversationId {
  if (to === null) return LOBBY;
  const [a, b] = from < to ? [from, to] : [to, from];
  // Client ids never contain a comma, so it cannot make two pairs collide.
  return `dm:${a},${b}`;
}
