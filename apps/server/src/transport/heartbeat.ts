import type { WebSocket } from 'ws';

/**
 * Pings every socket each interval; a socket that has not answered the previous
 * ping by the next one is dead or half-open and is terminated (its close then
 * frees its permit and presence like any other). One timer for all sockets.
 */
export class Heartbeat {
  readonly #alive = new Map<WebSocket, boolean>();
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.#timer = setInterval(() => this.#beat(), intervalMs);
    this.#timer.unref();
  }

  watch(socket: WebSocket): void {
    this.#alive.set(socket, true);
    socket.on('pong', () => this.#alive.set(socket, true));
    socket.once('close', () => this.#alive.delete(socket));
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #beat(): void {
    for (const [socket, alive] of this.#alive) {
      if (!alive) {
        this.#alive.delete(socket);
        socket.terminate();
        continue;
      }
      this.#alive.set(socket, false);
      socket.ping();
    }
  }
}
