import { SvelteSet } from 'svelte/reactivity';

/** Who is online, from the welcome frame and the presence frames after it. */
export class OnlineList {
  readonly #ids = new SvelteSet<string>();

  /** The ids online, sorted for display. */
  readonly sorted = $derived([...this.#ids].sort((a, b) => a.localeCompare(b)));
  /** How many are online. */
  readonly count = $derived(this.#ids.size);

  /** Replaces the list (a welcome frame lists everyone online). */
  reset(ids: readonly string[]): void {
    this.#ids.clear();
    for (const id of ids) this.#ids.add(id);
  }

  /** Applies a batched presence frame. */
  apply(joined: readonly string[], left: readonly string[]): void {
    // A batch may hold a quick leave-and-rejoin: the id is online afterwards.
    for (const id of left) if (!joined.includes(id)) this.#ids.delete(id);
    for (const id of joined) this.#ids.add(id);
  }

  /** Whether `id` is online. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }
}
