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
  readonly #maxPerIp: number;
  /** The address each client connected from, and how many clients each address holds. */
  readonly #ipOf = new Map<string, string>();
  readonly #perIp = new Map<string, number>();

  constructor(maxClients: number, maxPerIp = Infinity) {
    this.#maxClients = maxClients;
    this.#maxPerIp = maxPerIp;
  }

  get size(): number {
    return this.#owner.size;
  }

  get maxClients(): number {
    return this.#maxClients;
  }

  admit(clientId: string, node: Node, ip = ''): Admission {
    if (this.#owner.has(clientId)) return 'taken';
    if (this.#owner.size >= this.#maxClients) return 'full';
    if ((this.#perIp.get(ip) ?? 0) >= this.#maxPerIp) return 'too-many';
    this.#owner.set(clientId, node);
    this.#ipOf.set(clientId, ip);
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    return 'admitted';
  }

  /** Frees `clientId` if `node` holds it; true when something was freed. */
  release(clientId: string, node: Node): boolean {
    if (this.#owner.get(clientId) !== node) return false;
    this.#forget(clientId);
    return true;
  }

  /** Frees every client of `node` (it died or left); returns their ids. */
  releaseNode(node: Node): string[] {
    const freed: string[] = [];
    for (const [clientId, owner] of this.#owner) if (owner === node) freed.push(clientId);
    for (const clientId of freed) this.#forget(clientId);
    return freed;
  }

  #forget(clientId: string): void {
    this.#owner.delete(clientId);
    const ip = this.#ipOf.get(clientId) ?? '';
    this.#ipOf.delete(clientId);
    const left = (this.#perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.#perIp.set(ip, left);
    else this.#perIp.delete(ip);
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
