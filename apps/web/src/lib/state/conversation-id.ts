/** The lobby: messages to everyone. */
export const LOBBY = 'everyone';

/**
 * Which conversation a message belongs to: the lobby, a room, or the
 * direct-message pair (the same key whoever of the two sent it).
 */
export type ConversationId = typeof LOBBY | `room:${string}` | `dm:${string}`;

/** Where a frame for a conversation goes: the fields of `send` and `typing` (none = the lobby). */
export type Target = { readonly to?: string; readonly room?: string };

/** A conversation id, taken apart. `peer` is the other person of a direct conversation (me, for notes to myself). */
export type ConversationRef =
  | { readonly kind: 'lobby' }
  | { readonly kind: 'room'; readonly room: string }
  | { readonly kind: 'dm'; readonly peer: string };

/** The conversation of room `name`. */
export function roomConversation(name: string): ConversationId {
  return `room:${name}`;
}

/** The direct conversation of `a` and `b` (either order). */
export function directConversation(a: string, b: string): ConversationId {
  const [x, y] = a < b ? [a, b] : [b, a];
  // Client ids never contain a comma, so it cannot make two pairs collide.
  return `dm:${x},${y}`;
}

/** The conversation of a message from `from` to `to` (a person), in `room`, or (neither) to everyone. */
export function conversationIdOf(from: string, to: string | null, room: string | null = null): ConversationId {
  if (room !== null) return roomConversation(room);
  if (to !== null) return directConversation(from, to);
  return LOBBY;
}

/** Takes `id` apart, as seen by `me`. */
export function parseConversation(id: ConversationId, me: string): ConversationRef {
  if (id === LOBBY) return { kind: 'lobby' };
  if (id.startsWith('room:')) return { kind: 'room', room: id.slice('room:'.length) };
  const [a = '', b = ''] = id.slice('dm:'.length).split(',');
  return { kind: 'dm', peer: a === me ? b : a };
}

/** The `to`/`room` fields that address conversation `id` from `me`. */
export function targetOf(id: ConversationId, me: string): Target {
  const ref = parseConversation(id, me);
  if (ref.kind === 'room') return { room: ref.room };
  if (ref.kind === 'dm') return { to: ref.peer };
  return {};
}
