import { SvelteSet } from 'svelte/reactivity';

/**
 * Who is online, from the welcome frame and the presence frames after it. A
 * welcome to a big lobby lists only the first ids and says how many there are
 * (`onlineCount`): the others count without being listed until they come and go.
 */
export class OnlineList {
  readonly #ids = new SvelteSet<string>();
  /** Online but not listed (past the welcome's limit). */
  #unlisted = $state(0);

  /** The ids online (those listed), sorted for display. */
  readonly sorted = $derived([...this.#ids].sort((a, b) => a.localeCompare(b)));
  /** How many are online, listed or not. */
  readonly count = $derived(this.#ids.size + this.#unlisted);

  /** Replaces the list (a welcome frame): `ids` listed, `total` online in all. */
  reset(ids: readonly string[], total: number = ids.length): void {
    this.#ids.clear();
    for (const id of ids) this.#ids.add(id);
    this.#unlisted = Math.max(0, total - this.#ids.size);
  }

  /** Applies a batched presence frame. */
  apply(joined: readonly string[], left: readonly string[]): void {
    // An id that leaves without being listed was one of the unlisted (also in a quick leave-and-rejoin,
    // after which it is online and listed).
    for (const id of left) {
      if (!this.#ids.has(id)) this.#unlisted = Math.max(0, this.#unlisted - 1);
      else if (!joined.includes(id)) this.#ids.delete(id);
    }
    for (const id of joined) this.#ids.add(id);
  }

  /** Whether `id` is online (as far as the list knows). */
  has(id: string): boolean {
    return this.#ids.has(id);
  }
}
