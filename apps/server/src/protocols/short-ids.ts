import { CLIENT_ID_PATTERN, parseConversation, ROOM_NAME_PATTERN } from '@chorus/protocol';
import type { ConversationRef } from '../hub/events.js';

/**
 * Short ids: how a text client names a message, by its place in its
 * conversation, so that it needs no id the existing lines never showed:
 * `*\/12` is the lobby's 12th entry, `#general/12` a room's, `@bob/12` the
 * private conversation with bob's (named by the peer, so each side writes
 * the other's name). Always with a slash, so that `/delete NAME` (a room)
 * keeps its meaning. `/recent` lists them.
 */
export function shortId(conversation: string, seq: number, viewer: string | undefined): string {
  return `${conversationLabel(conversation, viewer)}/${seq}`;
}

/** How a text client names a conversation: `*`, `#room`, `@peer`. */
export function conversationLabel(conversation: string, viewer: string | undefined): string {
  const parsed = parseConversation(conversation);
  if (!parsed || parsed.kind === 'lobby') return '*';
  if (parsed.kind === 'room') return `#${parsed.room}`;
  return `@${viewer === parsed.b ? parsed.a : parsed.b}`;
}

/** The conversation a label names (`*`, `#room`, `@peer`), or null. */
export function parseConversationLabel(label: string): ConversationRef | null {
  if (label === '*') return { kind: 'lobby' };
  if (label.startsWith('#')) {
    const room = label.slice(1).toLowerCase();
    return ROOM_NAME_PATTERN.test(room) ? { kind: 'room', room } : null;
  }
  if (label.startsWith('@')) {
    const peer = label.slice(1);
    return CLIENT_ID_PATTERN.test(peer) ? { kind: 'direct', peer } : null;
  }
  return null;
}

/** The message a short id names, or null when it is not one. */
export function parseShortId(id: string): { conversation: ConversationRef; seq: number } | null {
  const slash = id.lastIndexOf('/');
  if (slash === -1 || !/^[1-9]\d{0,14}$/.test(id.slice(slash + 1))) return null;
  const conversation = parseConversationLabel(id.slice(0, slash));
  return conversation ? { conversation, seq: Number(id.slice(slash + 1)) } : null;
}
