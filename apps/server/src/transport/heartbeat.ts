import type { WebSocket } from 'ws';

/**
 * Pings every socket each interval; a socket that has not answered the previous
 * ping by the next one is dead or half-open and is terminated (its close then
 * frees its permit and presence like any other). One timer for all sockets.
 */
export class Heartbeat {
  readonly #alive = new Map<WebSocket, boolean>();
  readonly #timer: NodeJS.Timeout;
  /** Listeners shared by every socket (`this` is the socket): no closures per connection. */
  readonly #pong: (this: WebSocket) => void;
  readonly #close: (this: WebSocket) => void;

  constructor(intervalMs: number) {
    const alive = this.#alive;
    this.#pong = function () {
      if (alive.has(this)) alive.set(this, true);
    };
    this.#close = function () {
      alive.delete(this);
    };
    this.#timer = setInterval(() => this.#beat(), intervalMs);
    this.#timer.unref();
  }

  watch(socket: WebSocket): void {
    this.#alive.set(socket, true);
    socket.on('pong', this.#pong);
    socket.once('close', this.#close);
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
