import { WebSocket } from 'ws';
import type { Session } from '../hub/session.js';

/** Adapts a `ws` WebSocket to the hub's Session. */
export class WebSocketSession implements Session {
  readonly clientId: string;
  readonly #socket: WebSocket;

  constructor(clientId: string, socket: WebSocket) {
    this.clientId = clientId;
    this.#socket = socket;
  }

  send(frame: string): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(frame);
  }

  close(code: number, reason: string): void {
    if (this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING) {
      this.#socket.close(code, reason);
    }
  }
}
