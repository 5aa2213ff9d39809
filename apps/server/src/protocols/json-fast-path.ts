import { CLIENT_ID_PATTERN, MAX_RECEIPT_IDS, MAX_TEXT_LENGTH, ROOM_NAME_PATTERN, textProblem } from '@chorus/protocol';
import type { Command } from '../hub/events.js';

/** The latest time EpochMs accepts (the end of the year 9999). */
const MAX_EPOCH_MS = 253_402_300_799_999;
const SEND_KEYS: ReadonlySet<string> = new Set(['type', 'id', 'to', 'room', 'text', 'sentAt']);
const RECEIPT_KEYS: ReadonlySet<string> = new Set(['type', 'status', 'from', 'ids']);

/**
 * The two frames every chat message causes (`send`, and a `receipt` from each
 * recipient), checked by hand. It accepts only what the zod schemas of
 * packages/protocol accept, with the same result, and returns null for anything
 * else or unusual (then the schemas decide, and say what is wrong).
 */
export function fastDecode(value: unknown): Command | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const frame = value as Record<string, unknown>;
  if (frame.type === 'send') return fastSend(frame);
  if (frame.type === 'receipt') return fastReceipt(frame);
  return null;
}

function fastSend(frame: Record<string, unknown>): Command | null {
  if (!onlyKeys(frame, SEND_KEYS)) return null;
  const { id, to, room, text, sentAt } = frame;
  if (typeof id !== 'string' || id.length === 0 || id.length > 64 || textProblem(id) !== null) return null;
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT_LENGTH || textProblem(text) !== null) return null;
  if (typeof sentAt !== 'number' || !Number.isInteger(sentAt) || sentAt < 0 || sentAt > MAX_EPOCH_MS) return null;
  if (to !== undefined && to !== null && (typeof to !== 'string' || !CLIENT_ID_PATTERN.test(to))) return null;
  // Only names already in their lowercase form: the schema lowercases the others.
  if (room !== undefined && room !== null && (typeof room !== 'string' || !ROOM_NAME_PATTERN.test(room))) return null;
  if (to && room) return null;
  return { kind: 'send', ref: id, to: to ?? null, room: room ?? null, text, sentAt };
}

function fastReceipt(frame: Record<string, unknown>): Command | null {
  if (!onlyKeys(frame, RECEIPT_KEYS)) return null;
  const { status, from, ids } = frame;
  if (status !== 'delivered' && status !== 'read') return null;
  if (typeof from !== 'string' || !CLIENT_ID_PATTERN.test(from)) return null;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_RECEIPT_IDS) return null;
  for (const id of ids) if (typeof id !== 'string' || id.length === 0 || id.length > 64) return null;
  return { kind: 'receipt', status, from, ids: ids as string[] };
}

/** True when every own key of `frame` is one of `allowed` (the schemas are strict objects). */
function onlyKeys(frame: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in frame) if (!allowed.has(key)) return false;
  return true;
}
