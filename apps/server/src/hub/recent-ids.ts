import { EvictionRing } from './eviction-ring.js';

/** A set that forgets its oldest entries past `capacity` (insertion order). */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #order: EvictionRing;

  constructor(capacity: number) {
    this.#order = new EvictionRing(capacity);
  }

  add(id: string): void {
    if (this.#ids.has(id)) return;
    this.#ids.add(id);
    const evicted = this.#order.push(id);
    if (evicted !== undefined) this.#ids.delete(evicted);
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }
}
