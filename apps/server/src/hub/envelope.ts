import type { Envelope } from './events.js';
import type { StoredMessage } from './message-log.js';

/** The envelope of a stored message (what travels and what clients see); the message it answers is added by log-entries.ts. */
export function envelopeOf(m: StoredMessage): Envelope {
  return {
    id: m.id,
    from: m.from,
    to: m.to,
    room: m.room,
    conversation: m.conversation,
    seq: m.seq,
    text: m.text,
    sentAt: m.sentAt,
    serverAt: m.serverAt,
    // A message's state as stored (history, replays); live messages have none.
    ...(m.editedAt !== undefined ? { editedAt: m.editedAt } : {}),
    ...(m.deletedAt !== undefined ? { deleted: true as const } : {}),
    ...(m.files && m.files.length > 0 ? { files: m.files } : {}),
  };
}
