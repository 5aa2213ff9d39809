import type { Envelope } from '../hub/events.js';
import { conversationLabel, shortId } from './short-ids.js';

/**
 * `/recent` for a text client: a heading, then one line per message, oldest
 * first, each with its short id, the message it answers, whether it was
 * edited or deleted, and its reactions with counts.
 */
export function recentLines(conversation: string, viewer: string, messages: readonly Envelope[]): string {
  const label = conversationLabel(conversation, viewer);
  if (messages.length === 0) return `No messages in ${label} yet`;
  const lines = [`Recent messages in ${label}:`];
  for (const m of messages) {
    const reply = m.replyTo ? ` (reply to ${shortId(conversation, m.replyTo.seq, viewer)})` : '';
    const text = m.deleted ? '(message deleted)' : `${m.text}${m.editedAt !== undefined ? ' (edited)' : ''}`;
    const reactions = m.reactions?.length ? `  [${m.reactions.map((r) => `${r.emoji} ${r.by.length}`).join(', ')}]` : '';
    lines.push(`  ${shortId(conversation, m.seq, viewer)} ${m.from}${reply}: ${text}${reactions}`);
  }
  return lines.join('\n');
}
