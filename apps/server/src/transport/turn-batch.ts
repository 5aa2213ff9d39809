import type { Socket } from 'node:net';
import { PerTurn } from '../util/per-turn.js';

/**
 * Coalesces a socket's writes of one event-loop turn into one syscall: the first
 * write of a turn corks the socket, and every corked socket is uncorked once,
 * when the turn's I/O callbacks are done (setImmediate runs right after them).
 * Frames keep their order: a corked socket only gathers them.
 *
 * A writer remembers the `turn` in which it last called `hold`, and holds again
 * only in a later one (the sockets themselves are not marked: Node's stream code
 * stays monomorphic).
 */
export class TurnBatch {
  #corked: Socket[] = [];
  #turn = 0;
  readonly #flushTurn = new PerTurn(() => this.flush());

  /** Changes every time the corked sockets are written out. */
  get turn(): number {
    return this.#turn;
  }

  /** Corks `socket` until the end of this turn (once per socket and turn: see `turn`). */
  hold(socket: Socket): void {
    socket.cork();
    this.#corked.push(socket);
    this.#flushTurn.schedule();
  }

  /** Writes out everything gathered this turn (one writev per socket). */
  flush(): void {
    this.#flushTurn.cancel();
    this.#turn++;
    const corked = this.#corked;
    this.#corked = [];
    // A socket destroyed meanwhile dropped its buffer; uncorking it is harmless.
    for (const socket of corked) socket.uncork();
  }
}

/** The batch every WebSocket session of this process shares. */
export const turnBatch = new TurnBatch();
