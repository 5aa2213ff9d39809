import type { MessageFrame } from '@chorus/protocol';
import type { Envelope } from '../hub/events.js';

/**
 * The envelope's fields and nothing else, in the order the `message` frame
 * lists them (an envelope object may carry more, or be read lazily from a
 * frame, as the mesh's are).
 */
export function plainEnvelope(e: Envelope): Envelope {
  const plain: Envelope = {
    id: e.id,
    from: e.from,
    to: e.to,
    room: e.room,
    conversation: e.conversation,
    seq: e.seq,
    text: e.text,
    sentAt: e.sentAt,
    serverAt: e.serverAt,
    // Last, and only when there are some: a message without files is the frame it always was.
    ...(e.files && e.files.length > 0 ? { files: e.files } : {}),
  };
  if (!hasExtras(e)) return plain;
  // The optional fields, present only when set, in the frame's order.
  return {
    ...plain,
    ...(e.replyTo ? { replyTo: { id: e.replyTo.id, seq: e.replyTo.seq, from: e.replyTo.from, text: e.replyTo.text } } : {}),
    ...(e.editedAt !== undefined ? { editedAt: e.editedAt } : {}),
    ...(e.deleted ? { deleted: true as const } : {}),
    ...(e.reactions && e.reactions.length > 0 ? { reactions: e.reactions.map((r) => ({ emoji: r.emoji, by: [...r.by] })) } : {}),
  };
}

/** Whether the envelope has any of the optional fields (a reply, or history's state of a message). */
function hasExtras(e: Envelope): boolean {
  return e.replyTo !== undefined || e.editedAt !== undefined || e.deleted !== undefined || e.reactions !== undefined;
}

/** The `message` frame of chorus.v1: every field always present (to and room are null when unused). */
export function messageFrame(e: Envelope): MessageFrame {
  const { reactions, files, ...rest } = plainEnvelope(e);
  return {
    type: 'message',
    ...rest,
    ...(files ? { files: [...files] } : {}),
    ...(reactions ? { reactions: reactions.map((r) => ({ emoji: r.emoji, by: [...r.by] })) } : {}),
  };
}

/**
 * The `message` frame as JSON text; the mesh carries these bytes between
 * workers so that a receiving worker sends them on as they are.
 *
 * Put together field by field: the same text as `JSON.stringify(messageFrame(e))`
 * (the tests compare them), without building two objects for every message.
 */
export function messageFrameJson(e: Envelope): string {
  const { to, room } = e;
  // JSON.stringify leaves out undefined fields; only a malformed envelope has them.
  // A reply (or a message of history) is rare: no hand-written path for it.
  if (to === undefined || room === undefined || hasExtras(e)) return JSON.stringify(messageFrame(e));
  const files = e.files && e.files.length > 0 ? `,"files":${JSON.stringify(e.files)}` : '';
  return (
    `{"type":"message","id":${JSON.stringify(e.id)},"from":${JSON.stringify(e.from)},` +
    `"to":${to === null ? 'null' : JSON.stringify(to)},"room":${room === null ? 'null' : JSON.stringify(room)},` +
    `"conversation":${JSON.stringify(e.conversation)},"seq":${jsonNumber(e.seq)},"text":${JSON.stringify(e.text)},` +
    `"sentAt":${jsonNumber(e.sentAt)},"serverAt":${jsonNumber(e.serverAt)}${files}}`
  );
}

/** A number as JSON.stringify writes it (NaN and the infinities as null). */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** The envelope a `message` frame carries (the inverse of messageFrameJson). */
export function envelopeOfMessageFrame(json: string): Envelope {
  return plainEnvelope(JSON.parse(json) as Envelope);
}
