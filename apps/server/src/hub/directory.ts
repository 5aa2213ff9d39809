import type { Admission } from './backend.js';

/**
 * The authoritative shared state of one service: the admission semaphore and
 * presence (which client is on which node). Whoever owns it (the memory bus, the
 * cluster primary) applies every change here, one at a time, so admission is
 * atomic: the permit count is the number of entries.
 */
export class Directory<Node> {
  readonly #owner = new Map<string, Node>();
  readonly #maxClients: number;

  constructor(maxClients: number) {
    this.#maxClients = maxClients;
  }

  get size(): number {
    return this.#owner.size;
  }

  get maxClients(): number {
    return this.#maxClients;
  }

  admit(clientId: string, node: Node): Admission {
    if (this.#owner.has(clientId)) return 'taken';
    if (this.#owner.size >= this.#maxClients) return 'full';
    this.#owner.set(clientId, node);
    return 'admitted';
  }

  /** Frees `clientId` if `node` holds it; true when something was freed. */
  release(clientId: string, node: Node): boolean {
    if (this.#owner.get(clientId) !== node) return false;
    this.#owner.delete(clientId);
    return true;
  }

  /** Frees every client of `node` (it died or left); returns their ids. */
  releaseNode(node: Node): string[] {
    const freed: string[] = [];
    for (const [clientId, owner] of this.#owner) if (owner === node) freed.push(clientId);
    for (const clientId of freed) this.#owner.delete(clientId);
    return freed;
  }

  locate(clientId: string): Node | undefined {
    return this.#owner.get(clientId);
  }

  countOn(node: Node): number {
    let n = 0;
    for (const owner of this.#owner.values()) if (owner === node) n++;
    return n;
  }

  clientIds(): string[] {
    return [...this.#owner.keys()];
  }

  entries(): IterableIterator<[string, Node]> {
    return this.#owner.entries();
  }
}
