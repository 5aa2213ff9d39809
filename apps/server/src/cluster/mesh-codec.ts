import type { Delivery, Envelope, Reaction, ReplyRef, Target } from '../hub/events.js';
import { envelopeOfMessageFrame, messageFrameJson } from '../protocols/message-frame.js';

/**
 * The records of a mesh link, length-prefixed: `u32 length` (of what follows),
 * `u8 kind`, then
 * - kind 0: any delivery as JSON;
 * - kind 1: a chat message: a small binary header, then the message's chorus.v1
 *   frame as it goes to JSON clients. The header: `u8 target kind` (0 client,
 *   1 room, 2 all), `u8` 1 when there is an origin, `f64 seq`, then three
 *   strings, each `u16 byte length` + UTF-8: the target's client id or room
 *   (empty for all), the origin (empty when none) and the conversation. Binary,
 *   not JSON: every message crosses once, and JSON.stringify and JSON.parse of
 *   the header cost about twice as much. The receiving worker reads only the
 *   header: JSON clients get the frame's bytes as they are, and the envelope is
 *   parsed from them only if a text client needs it.
 */
const DELIVERY = 0;
const MESSAGE = 1;
const TARGET_KINDS = ['client', 'room', 'all'] as const;
/** Target kind, origin flag, seq, and the three string lengths. */
const FIXED_HEADER = 1 + 1 + 8 + 2 * 3;

/** A message delivery with its chorus.v1 frame rendered (once, for the local fanout and the mesh alike). */
export function withRenderedFrame(delivery: Delivery): Delivery {
  const { payload } = delivery;
  if (payload.kind !== 'message' || payload.json !== undefined) return delivery;
  // Literals, not spreads: this runs for every message that crosses the mesh.
  const json = messageFrameJson(payload.envelope);
  return { target: delivery.target, payload: { kind: 'message', envelope: payload.envelope, json }, origin: delivery.origin };
}

/** Encodes one delivery as a record (a message with its rendered frame, made here if it has none). */
export function encodeRecord(delivery: Delivery): Buffer {
  const { payload } = delivery;
  if (payload.kind !== 'message') {
    const json = JSON.stringify(delivery);
    const length = Buffer.byteLength(json);
    const record = Buffer.allocUnsafe(5 + length);
    record.writeUInt32BE(1 + length, 0);
    record[4] = DELIVERY;
    record.write(json, 5, length, 'utf8');
    return record;
  }
  const { envelope } = payload;
  const { target, origin } = delivery;
  const name = target.kind === 'client' ? target.clientId : target.kind === 'room' ? target.room : '';
  const from = origin ?? '';
  const { conversation } = envelope;
  const nameLength = Buffer.byteLength(name);
  const originLength = Buffer.byteLength(from);
  const conversationLength = Buffer.byteLength(conversation);
  if (Math.max(nameLength, originLength, conversationLength) > 0xffff) throw new Error('mesh record header field too long');
  const frame = payload.json ?? messageFrameJson(envelope);
  const frameLength = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
  const headerLength = FIXED_HEADER + nameLength + originLength + conversationLength;
  const record = Buffer.allocUnsafe(5 + headerLength + frameLength);
  record.writeUInt32BE(1 + headerLength + frameLength, 0);
  record[4] = MESSAGE;
  record[5] = target.kind === 'client' ? 0 : target.kind === 'room' ? 1 : 2;
  record[6] = origin === undefined ? 0 : 1;
  record.writeDoubleBE(envelope.seq, 7);
  let at = writeString(record, 15, name, nameLength);
  at = writeString(record, at, from, originLength);
  at = writeString(record, at, conversation, conversationLength);
  if (typeof frame === 'string') record.write(frame, at, frameLength, 'utf8');
  else frame.copy(record, at);
  return record;
}

/** Writes `u16 byteLength` and the string at `at`; returns where the next field goes. */
function writeString(record: Buffer, at: number, value: string, byteLength: number): number {
  record.writeUInt16BE(byteLength, at);
  if (byteLength > 0) record.write(value, at + 2, byteLength, 'utf8');
  return at + 2 + byteLength;
}

/**
 * Splits a link's byte stream into deliveries. Records may arrive cut anywhere;
 * the unfinished tail waits for the next chunk.
 */
export class RecordReader {
  #pending: Buffer | null = null;

  /** Calls `onDelivery` for every whole record; `onError` for one that fails (the rest go on). */
  push(chunk: Buffer, onDelivery: (delivery: Delivery) => void, onError: (err: Error) => void): void {
    const data = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readUInt32BE(offset);
      if (data.length - offset - 4 < length) break;
      const start = offset + 4;
      offset = start + length;
      try {
        onDelivery(decodeRecord(data, start, offset));
      } catch (err) {
        onError(err as Error);
      }
    }
    // A copy: a small tail must not keep a large chunk alive.
    this.#pending = offset === data.length ? null : Buffer.from(data.subarray(offset));
  }
}

function decodeRecord(data: Buffer, start: number, end: number): Delivery {
  if (data[start] === DELIVERY) return JSON.parse(data.toString('utf8', start + 1, end)) as Delivery;
  if (data[start] !== MESSAGE) throw new Error(`unknown mesh record kind ${data[start]}`);
  if (end - start < 1 + FIXED_HEADER) throw new Error('mesh message record too short');
  const targetKind = TARGET_KINDS[data[start + 1]!];
  if (targetKind === undefined) throw new Error(`unknown mesh target kind ${data[start + 1]}`);
  const hasOrigin = data[start + 2] === 1;
  const seq = data.readDoubleBE(start + 3);
  let at = start + 11;
  const nameEnd = at + 2 + data.readUInt16BE(at);
  const name = data.toString('utf8', at + 2, nameEnd);
  at = nameEnd;
  const originEnd = at + 2 + data.readUInt16BE(at);
  const origin = hasOrigin ? data.toString('utf8', at + 2, originEnd) : undefined;
  at = originEnd;
  const conversationEnd = at + 2 + data.readUInt16BE(at);
  if (conversationEnd > end) throw new Error('mesh message record header overruns the record');
  const conversation = data.toString('utf8', at + 2, conversationEnd);
  const target: Target =
    targetKind === 'client' ? { kind: 'client', clientId: name } : targetKind === 'room' ? { kind: 'room', room: name } : { kind: 'all' };
  // Its own bytes: sessions may hold them (a resuming client) after this chunk is gone.
  const json = Buffer.from(data.subarray(conversationEnd, end));
  return { target, origin, payload: { kind: 'message', envelope: new FrameEnvelope(json, conversation, seq), json } };
}

/**
 * An envelope read from its chorus.v1 frame on first use: a fanout to JSON
 * clients only needs the conversation and seq, which the header carried.
 */
class FrameEnvelope implements Envelope {
  readonly conversation: string;
  readonly seq: number;
  readonly #json: Buffer;
  #parsed: Envelope | null = null;

  constructor(json: Buffer, conversation: string, seq: number) {
    this.#json = json;
    this.conversation = conversation;
    this.seq = seq;
  }

  #envelope(): Envelope {
    return (this.#parsed ??= envelopeOfMessageFrame(this.#json.toString('utf8')));
  }

  get id(): string {
    return this.#envelope().id;
  }
  get from(): string {
    return this.#envelope().from;
  }
  get to(): string | null {
    return this.#envelope().to;
  }
  get room(): string | null {
    return this.#envelope().room;
  }
  get text(): string {
    return this.#envelope().text;
  }
  get sentAt(): number {
    return this.#envelope().sentAt;
  }
  get serverAt(): number {
    return this.#envelope().serverAt;
  }
  get replyTo(): ReplyRef | undefined {
    return this.#envelope().replyTo;
  }
  get editedAt(): number | undefined {
    return this.#envelope().editedAt;
  }
  get deleted(): true | undefined {
    return this.#envelope().deleted;
  }
  get reactions(): readonly Reaction[] | undefined {
    return this.#envelope().reactions;
  }
  get files(): Envelope['files'] {
    return this.#envelope().files;
  }

  /** Serializes as the plain envelope (if it ever travels again). */
  toJSON(): Envelope {
    return this.#envelope();
  }
}
