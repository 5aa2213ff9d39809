import type { RoomChange } from './room-registry.js';

/** Where the owner of the shared state keeps rooms so that they survive a restart. */
export interface RoomPersistence {
  saveRoomChanges(changes: readonly RoomChange[]): Promise<void>;
}

/**
 * Saves room changes one batch after another, in the order they were decided,
 * and calls `then` with each batch once it is durable (a database with several
 * connections could otherwise finish them out of order).
 */
export class OrderedRoomWriter {
  readonly #persistence: RoomPersistence | undefined;
  #tail: Promise<void> = Promise.resolve();

  constructor(persistence: RoomPersistence | undefined) {
    this.#persistence = persistence;
  }

  /** Resolves once `changes` are durable and `then` has run; rejects if saving failed (after `then` still ran). */
  write(changes: readonly RoomChange[], then: () => void): Promise<void> {
    if (changes.length === 0 || !this.#persistence) {
      then();
      return Promise.resolve();
    }
    const persistence = this.#persistence;
    const saved = this.#tail.then(() => persistence.saveRoomChanges(changes));
    // Announce either way: the change is already the state everyone works with.
    const done = saved.then(then, (err: unknown) => {
      then();
      throw err;
    });
    this.#tail = done.catch(() => {});
    return done;
  }
}
