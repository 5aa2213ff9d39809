import type { Delivery, Envelope, Target } from '../hub/events.js';
import { envelopeOfMessageFrame, messageFrameJson } from '../protocols/message-frame.js';

/**
 * The records of a mesh link, length-prefixed: `u32 length` (of what follows),
 * `u8 kind`, then
 * - kind 0: any delivery as JSON;
 * - kind 1: a chat message: `u16 header length`, a small JSON header (target,
 *   origin, conversation, seq), then the message's chorus.v1 frame as it goes to
 *   JSON clients. The receiving worker parses only the header: JSON clients get
 *   the frame's bytes as they are, and the envelope is parsed from them only if a
 *   text client needs it.
 */
const DELIVERY = 0;
const MESSAGE = 1;

interface MessageHeader {
  readonly t: Target;
  readonly o?: string;
  readonly c: string;
  readonly s: number;
}

/** A message delivery with its chorus.v1 frame rendered (once, for the local fanout and the mesh alike). */
export function withRenderedFrame(delivery: Delivery): Delivery {
  const { payload } = delivery;
  if (payload.kind !== 'message' || payload.json !== undefined) return delivery;
  return { ...delivery, payload: { ...payload, json: messageFrameJson(payload.envelope) } };
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
  const header: MessageHeader = { t: delivery.target, o: delivery.origin, c: envelope.conversation, s: envelope.seq };
  const headerJson = JSON.stringify(header);
  const headerLength = Buffer.byteLength(headerJson);
  const frame = payload.json ?? messageFrameJson(envelope);
  const frameLength = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
  const record = Buffer.allocUnsafe(7 + headerLength + frameLength);
  record.writeUInt32BE(3 + headerLength + frameLength, 0);
  record[4] = MESSAGE;
  record.writeUInt16BE(headerLength, 5);
  record.write(headerJson, 7, headerLength, 'utf8');
  if (typeof frame === 'string') record.write(frame, 7 + headerLength, frameLength, 'utf8');
  else frame.copy(record, 7 + headerLength);
  return record;
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
  const headerEnd = start + 3 + data.readUInt16BE(start + 1);
  const header = JSON.parse(data.toString('utf8', start + 3, headerEnd)) as MessageHeader;
  // Its own bytes: sessions may hold them (a resuming client) after this chunk is gone.
  const json = Buffer.from(data.subarray(headerEnd, end));
  return {
    target: header.t,
    origin: header.o,
    payload: { kind: 'message', envelope: new FrameEnvelope(json, header.c, header.s), json },
  };
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

  /** Serializes as the plain envelope (if it ever travels again). */
  toJSON(): Envelope {
    return this.#envelope();
  }
}
