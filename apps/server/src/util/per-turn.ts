/**
 * Runs a task once at the end of the current event-loop turn, however many
 * times it is asked for during the turn: the one way Chorus batches work per
 * turn (frames per socket, mesh records, IPC requests, commits, presence and
 * receipt updates). setImmediate runs right after the turn's I/O callbacks, so
 * everything those callbacks queued goes in one batch, and an idle server
 * waits no more than one turn.
 */
export class PerTurn {
  readonly #task: () => void;
  #pending: NodeJS.Immediate | null = null;
  readonly #run = (): void => {
    this.#pending = null;
    this.#task();
  };

  constructor(task: () => void) {
    this.#task = task;
  }

  /** Whether the task is due at the end of this turn. */
  get scheduled(): boolean {
    return this.#pending !== null;
  }

  /** Asks for the task at the end of this turn (once, however often this is called). */
  schedule(): void {
    this.#pending ??= setImmediate(this.#run);
  }

  /** Runs the task now if it was due, instead of at the end of the turn. */
  runNow(): void {
    if (this.#pending === null) return;
    clearImmediate(this.#pending);
    this.#run();
  }

  /** Forgets the task if it was due. */
  cancel(): void {
    if (this.#pending === null) return;
    clearImmediate(this.#pending);
    this.#pending = null;
  }
}
