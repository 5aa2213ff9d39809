import type { Envelope } from './events.js';
import type { StoredMessage } from './message-log.js';

/** The envelope of a stored message (what travels and what clients see). */
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
    ...(m.files && m.files.length > 0 ? { files: m.files } : {}),
  };
}
