import type { Socket } from 'node:net';
import { CloseCode, ERRORS } from '@chorus/protocol';
import { WebSocket } from 'ws';
import type { OutFrame, Session } from '../hub/session.js';
import { turnBatch } from './turn-batch.js';
import { LastFrame } from './ws-text-frame.js';

/** How long a slow consumer gets to take its close frame before the socket is cut. */
const SLOW_CLOSE_GRACE_MS = 1_000;

/** The frame a fanout shares: framed once for all the sessions it goes to. */
const lastFrame = new LastFrame();

/**
 * Adapts a `ws` WebSocket to the hub's Session. A client that stops reading
 * cannot make the server buffer without bound: past `maxBufferedBytes` queued
 * for it, it is closed with 4500 (reconnect and resume) and then cut.
 *
 * Frames go straight to the TCP socket, framed once per fanout, and a socket's
 * frames of one event-loop turn leave in one write (see TurnBatch). The server
 * negotiates no extension, so ws's own sender only ever writes whole frames
 * synchronously (close, ping), and ours never interleave with them.
 */
export class WebSocketSession implements Session {
  readonly clientId: string;
  readonly #socket: WebSocket;
  readonly #maxBufferedBytes: number;
  /** The TCP socket frames are written to; null: through ws (an extension was negotiated, or ws changed). */
  readonly #tcp: Socket | null;
  /** The turn of the batch in which the socket was last corked. */
  #heldIn = -1;

  readonly #onSlowConsumer: (() => void) | undefined;

  constructor(clientId: string, socket: WebSocket, maxBufferedBytes = Infinity, onSlowConsumer?: () => void) {
    this.#onSlowConsumer = onSlowConsumer;
    this.clientId = clientId;
    this.#socket = socket;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#tcp = socket.extensions === '' ? tcpOf(socket) : null;
  }

  send(frame: OutFrame): void {
    const socket = this.#socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    const tcp = this.#tcp;
    // What ws queues of its own is only ever compressed or blob data, neither of which is used here.
    if ((tcp ? tcp.writableLength : socket.bufferedAmount) > this.#maxBufferedBytes) {
      this.#onSlowConsumer?.();
      this.close(CloseCode.SLOW_CONSUMER, ERRORS.SLOW_CONSUMER.message);
      setTimeout(() => socket.terminate(), SLOW_CLOSE_GRACE_MS).unref();
      return;
    }
    if (tcp === null) {
      socket.send(frame, TEXT);
      return;
    }
    if (!tcp.writable) return;
    if (this.#heldIn !== turnBatch.turn) {
      this.#heldIn = turnBatch.turn;
      turnBatch.hold(tcp);
    }
    tcp.write(lastFrame.of(frame));
  }

  close(code: number, reason: string): void {
    if (this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING) {
      // A corked socket keeps its order: what this turn gathered goes before the close frame.
      this.#socket.close(code, reason);
    }
  }
}

/** Buffers go out as text frames too (their bytes are UTF-8 text). */
const TEXT = { binary: false } as const;

/** The TCP socket under a ws WebSocket (ws keeps it as `_socket`); null if ws ever stops doing so. */
function tcpOf(socket: WebSocket): Socket | null {
  const tcp = (socket as unknown as { _socket?: unknown })._socket;
  return tcp !== null && typeof tcp === 'object' && typeof (tcp as Socket).cork === 'function' ? (tcp as Socket) : null;
}
