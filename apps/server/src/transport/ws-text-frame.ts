/**
 * An unmasked, unfragmented WebSocket text frame (what a server sends, RFC 6455
 * section 5.2): header and UTF-8 payload in one Buffer. A fanout frames its
 * payload once and writes the same bytes to every socket.
 */
export function wsTextFrame(payload: string | Buffer): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN + text opcode
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  if (typeof payload === 'string') frame.write(payload, header, length, 'utf8');
  else payload.copy(frame, header);
  return frame;
}

/**
 * Frames the payload the sessions of a fanout share, once: a fanout sends the
 * same payload object to every session in a row, so the last one framed is kept.
 */
export class LastFrame {
  #payload: string | Buffer | null = null;
  #frame: Buffer | null = null;

  of(payload: string | Buffer): Buffer {
    if (payload !== this.#payload || this.#frame === null) {
      this.#frame = wsTextFrame(payload);
      this.#payload = payload;
    }
    return this.#frame;
  }
}
