import type { MessageFrame } from '@chorus/protocol';
import type { Envelope } from '../hub/events.js';

/**
 * The envelope's fields and nothing else, in the order the `message` frame
 * lists them (an envelope object may carry more, or be read lazily from a
 * frame, as the mesh's are).
 */
export function plainEnvelope(e: Envelope): Envelope {
  return {
    id: e.id,
    from: e.from,
    to: e.to,
    room: e.room,
    conversation: e.conversation,
    seq: e.seq,
    text: e.text,
    sentAt: e.sentAt,
    serverAt: e.serverAt,
  };
}

/** The `message` frame of chorus.v1: every field always present (to and room are null when unused). */
export function messageFrame(e: Envelope): MessageFrame {
  return { type: 'message', ...plainEnvelope(e) };
}

/**
 * The `message` frame as JSON text; the mesh carries these bytes between
 * workers so that a receiving worker sends them on as they are.
 */
export function messageFrameJson(e: Envelope): string {
  return JSON.stringify(messageFrame(e));
}

/** The envelope a `message` frame carries (the inverse of messageFrameJson). */
export function envelopeOfMessageFrame(json: string): Envelope {
  return plainEnvelope(JSON.parse(json) as Envelope);
}
