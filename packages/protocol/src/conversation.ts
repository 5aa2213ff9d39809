/** The lobby's conversation id: every client is in it. */
export const LOBBY = 'everyone';

/** The conversation of a room. */
export function roomConversation(room: string): string {
  return `room:${room}`;
}

/** The conversation of two clients (the same either way round; a comma cannot be in a client id). */
export function directConversation(a: string, b: string): string {
  return a < b ? `dm:${a},${b}` : `dm:${b},${a}`;
}

/** What a conversation id names, or null when it is not one. */
export function parseConversation(
  id: string,
): { kind: 'lobby' } | { kind: 'room'; room: string } | { kind: 'direct'; a: string; b: string } | null {
  if (id === LOBBY) return { kind: 'lobby' };
  if (id.startsWith('room:')) return { kind: 'room', room: id.slice(5) };
  if (id.startsWith('dm:')) {
    const [a, b, extra] = id.slice(3).split(',');
    if (a && b && extra === undefined) return { kind: 'direct', a, b };
  }
  return null;
}
