import { CloseCode, ERRORS } from '@chorus/protocol';
import { WebSocket } from 'ws';
import type { Session } from '../hub/session.js';

/** How long a slow consumer gets to take its close frame before the socket is cut. */
const SLOW_CLOSE_GRACE_MS = 1_000;

/**
 * Adapts a `ws` WebSocket to the hub's Session. A client that stops reading
 * cannot make the server buffer without bound: past `maxBufferedBytes` queued
 * for it, it is closed with 4500 (reconnect and resume) and then cut.
 */
export class WebSocketSession implements Session {
  readonly clientId: string;
  readonly #socket: WebSocket;
  readonly #maxBufferedBytes: number;

  constructor(clientId: string, socket: WebSocket, maxBufferedBytes = Infinity) {
    this.clientId = clientId;
    this.#socket = socket;
    this.#maxBufferedBytes = maxBufferedBytes;
  }

  send(frame: string): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    if (this.#socket.bufferedAmount > this.#maxBufferedBytes) {
      this.close(CloseCode.SLOW_CONSUMER, ERRORS.SLOW_CONSUMER.message);
      setTimeout(() => this.#socket.terminate(), SLOW_CLOSE_GRACE_MS).unref();
      return;
    }
    this.#socket.send(frame);
  }

  close(code: number, reason: string): void {
    if (this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING) {
      this.#socket.close(code, reason);
    }
  }
}
