import { withSeq } from '../storage/rows.js';
import type { AppendResult, NewMessage, StoredReceiptCounts, TextCursor } from '../storage/storage.js';

/**
 * The IPC messages between the workers and the primary's message writer
 * (writer-client.ts, writer-service.ts). They carry their own tag rather than
 * ipc.ts's `chorus`, so the other listeners on the channel (the cluster
 * backend, the primary's state) drop them on the first field instead of
 * running their schemas over every batch; and they are validated by hand
 * here (tuples, not objects): a batch of 500 messages is the hot path.
 */
export const WRITER_TAG = 'chorus-writer';

/** A NewMessage on the wire: [id, conversation, from, to, room, text, sentAt, serverAt, ref, replyTo?] (replyTo only when set). */
export type WireMessage = [string, string, string, string | null, string | null, string, number, number, string | null, string?];

/**
 * What became of one message of an append request:
 * - a number: stored as sent, with this seq (the common case, kept short);
 * - [duplicate, seq, ...WireMessage]: the stored message, when it is not the
 *   one sent (a retry of an earlier one) or is a duplicate within the batch;
 * - a string: why it was not stored.
 */
export type WireOutcome = number | [boolean, number, ...WireMessage] | string;

/** StoredReceiptCounts on the wire: [id, recipients, delivered, read]. */
export type WireReceiptCounts = [string, number, number, number];
/** A TextCursor on the wire: [clientId, conversation, seq]. */
export type WireTextCursor = [string, string, number];

/** worker -> primary */
export type WriterRequest =
  | { ch: typeof WRITER_TAG; type: 'append'; bid: number; messages: WireMessage[] }
  | { ch: typeof WRITER_TAG; type: 'seen'; bid: number; ids: string[] }
  | { ch: typeof WRITER_TAG; type: 'receipts'; bid: number; counts: WireReceiptCounts[] }
  | { ch: typeof WRITER_TAG; type: 'text-cursors'; bid: number; cursors: WireTextCursor[] };

/** primary -> worker: `results` has one outcome per message of an append (none for the other requests). */
export type WriterReply =
  | { ch: typeof WRITER_TAG; type: 'done'; bid: number; results: WireOutcome[] }
  | { ch: typeof WRITER_TAG; type: 'failed'; bid: number; error: string };

export function toWire(m: NewMessage): WireMessage {
  const wire: WireMessage = [m.id, m.conversation, m.from, m.to, m.room, m.text, m.sentAt, m.serverAt, m.ref];
  if (m.replyTo != null) wire.push(m.replyTo);
  return wire;
}

export function fromWire(w: WireMessage): NewMessage {
  const m: NewMessage = {
    id: w[0],
    conversation: w[1],
    from: w[2],
    to: w[3],
    room: w[4],
    text: w[5],
    sentAt: w[6],
    serverAt: w[7],
    ref: w[8],
  };
  return w[9] === undefined ? m : { ...m, replyTo: w[9] };
}

export function receiptCountsToWire(c: StoredReceiptCounts): WireReceiptCounts {
  return [c.id, c.recipients, c.delivered, c.read];
}

export function receiptCountsFromWire(w: WireReceiptCounts): StoredReceiptCounts {
  return { id: w[0], recipients: w[1], delivered: w[2], read: w[3] };
}

export function textCursorToWire(c: TextCursor): WireTextCursor {
  return [c.clientId, c.conversation, c.seq];
}

export function textCursorFromWire(w: WireTextCursor): TextCursor {
  return { clientId: w[0], conversation: w[1], seq: w[2] };
}

/** The outcome of `sent` as the primary's storage gave it. */
export function toOutcome(sent: NewMessage, result: AppendResult): WireOutcome {
  const { message, duplicate } = result;
  if (!duplicate && message.id === sent.id) return message.seq;
  return [duplicate, message.seq, ...toWire(message)];
}

/** The AppendResult of `sent` from its outcome; throws on an error outcome or one that is not well formed. */
export function fromOutcome(sent: NewMessage, outcome: unknown): AppendResult {
  if (typeof outcome === 'number' && Number.isSafeInteger(outcome) && outcome > 0) {
    return { message: withSeq(sent, outcome), duplicate: false };
  }
  if (typeof outcome === 'string') throw new Error(outcome);
  if (Array.isArray(outcome) && typeof outcome[0] === 'boolean' && isSeq(outcome[1])) {
    const wire = outcome.slice(2);
    if (isWireMessage(wire)) return { message: withSeq(fromWire(wire), outcome[1] as number), duplicate: outcome[0] };
  }
  throw new Error('the message writer sent a result that is not well formed');
}

function isSeq(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export function isWireMessage(value: unknown): value is WireMessage {
  return (
    Array.isArray(value) &&
    (value.length === 9 || (value.length === 10 && isString(value[9]))) &&
    isString(value[0]) &&
    isString(value[1]) &&
    isString(value[2]) &&
    isStringOrNull(value[3]) &&
    isStringOrNull(value[4]) &&
    isString(value[5]) &&
    isInteger(value[6]) &&
    isInteger(value[7]) &&
    isStringOrNull(value[8])
  );
}

const isCount = (v: unknown): v is number => isInteger(v) && v >= 0;

function isWireReceiptCounts(value: unknown): value is WireReceiptCounts {
  return Array.isArray(value) && value.length === 4 && isString(value[0]) && isCount(value[1]) && isCount(value[2]) && isCount(value[3]);
}

function isWireTextCursor(value: unknown): value is WireTextCursor {
  return Array.isArray(value) && value.length === 3 && isString(value[0]) && isString(value[1]) && isCount(value[2]);
}

/** A request from a worker, or null when `raw` is not one (someone else's message, or not well formed). */
export function parseWriterRequest(raw: unknown): WriterRequest | { bid: number; problem: string } | null {
  if (typeof raw !== 'object' || raw === null || (raw as { ch?: unknown }).ch !== WRITER_TAG) return null;
  const { type, bid } = raw as { type?: unknown; bid?: unknown };
  if (!isInteger(bid)) return null;
  if (type === 'append') {
    const { messages } = raw as { messages?: unknown };
    if (!Array.isArray(messages) || !messages.every(isWireMessage)) return { bid, problem: 'messages are not well formed' };
    return { ch: WRITER_TAG, type, bid, messages };
  }
  if (type === 'seen') {
    const { ids } = raw as { ids?: unknown };
    if (!Array.isArray(ids) || !ids.every(isString)) return { bid, problem: 'ids are not well formed' };
    return { ch: WRITER_TAG, type, bid, ids };
  }
  if (type === 'receipts') {
    const { counts } = raw as { counts?: unknown };
    if (!Array.isArray(counts) || !counts.every(isWireReceiptCounts)) return { bid, problem: 'receipt counts are not well formed' };
    return { ch: WRITER_TAG, type, bid, counts };
  }
  if (type === 'text-cursors') {
    const { cursors } = raw as { cursors?: unknown };
    if (!Array.isArray(cursors) || !cursors.every(isWireTextCursor)) return { bid, problem: 'text cursors are not well formed' };
    return { ch: WRITER_TAG, type, bid, cursors };
  }
  return { bid, problem: `unknown request type ${String(type)}` };
}

/** A reply from the primary, or null when `raw` is not one. */
export function parseWriterReply(raw: unknown): WriterReply | null {
  if (typeof raw !== 'object' || raw === null || (raw as { ch?: unknown }).ch !== WRITER_TAG) return null;
  const { type, bid } = raw as { type?: unknown; bid?: unknown };
  if (!isInteger(bid)) return null;
  if (type === 'done') {
    const { results } = raw as { results?: unknown };
    return Array.isArray(results) ? { ch: WRITER_TAG, type, bid, results: results as WireOutcome[] } : null;
  }
  if (type === 'failed') {
    const { error } = raw as { error?: unknown };
    return { ch: WRITER_TAG, type, bid, error: typeof error === 'string' ? error : 'the message writer failed' };
  }
  return null;
}
