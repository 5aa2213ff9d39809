import type { WebSocket } from 'ws';

/**
 * Pings every socket each interval; a socket that has not answered the previous
 * ping by the next one is dead or half-open and is terminated (its close then
 * frees its permit and presence like any other). One timer for all sockets.
 *
 * It also knows every open socket, so `ws` need not track them too
 * (`clientTracking: false`): shutdown closes what the hub does not know yet.
 * Nothing per socket but a map slot and one shared 'pong' listener: the owner
 * calls `forget` from its own 'close' listener (a `once` here would cost a
 * wrapper function and its state for every connection).
 */
export class Heartbeat {
  readonly #alive = new Map<WebSocket, boolean>();
  readonly #timer: NodeJS.Timeout;
  /** The listener shared by every socket (`this` is the socket): no closure per connection. */
  readonly #pong: (this: WebSocket) => void;
  /** Told when the last watched socket is gone (see closeAll). */
  readonly #drained: (() => void)[] = [];

  constructor(intervalMs: number) {
    const alive = this.#alive;
    this.#pong = function () {
      if (alive.has(this)) alive.set(this, true);
    };
    this.#timer = setInterval(() => this.#beat(), intervalMs);
    this.#timer.unref();
  }

  /** Starts watching `socket`; the owner calls `forget` when it closes. */
  watch(socket: WebSocket): void {
    this.#alive.set(socket, true);
    socket.on('pong', this.#pong);
  }

  forget(socket: WebSocket): void {
    this.#alive.delete(socket);
    if (this.#alive.size === 0) for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** How many sockets are watched (open, or closing without their 'close' yet). */
  get size(): number {
    return this.#alive.size;
  }

  /** Closes every socket still watched (shutdown: those the hub has not closed, e.g. still being admitted). */
  closeAll(code: number, reason: string): void {
    for (const socket of this.#alive.keys()) socket.close(code, reason);
  }

  /**
   * Resolves once every watched socket has closed, or after `graceMs`, when
   * the ones left are cut. A closing socket waits for its peer's close frame
   * (ws gives a peer 30 s); a shutdown must not wait that long for a peer
   * that is busy, gone, or reconnecting: the close frame was sent, and TCP's
   * FIN follows it, so a client still learns the code it was given.
   */
  async closed(graceMs: number): Promise<void> {
    if (this.#alive.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const allClosed = new Promise<boolean>((resolve) => this.#drained.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const done = await Promise.race([allClosed, late]);
    clearTimeout(timer);
    if (!done) for (const socket of [...this.#alive.keys()]) socket.terminate();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #beat(): void {
    for (const [socket, alive] of this.#alive) {
      if (!alive) {
        this.forget(socket);
        socket.terminate();
        continue;
      }
      this.#alive.set(socket, false);
      socket.ping();
    }
  }
}
