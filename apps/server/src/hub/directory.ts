import type { Admission } from './backend.js';

/** One connection of a client: the node holding it and the address it came from. */
interface Link<Node> {
  readonly node: Node;
  readonly ip: string;
}

interface Entry<Node> {
  /** Whether more connections may share this id (a registered, authenticated user). */
  readonly multi: boolean;
  readonly links: Link<Node>[];
}

/** What releasing a connection did to the client's presence. */
export type Release = 'offline' | 'still-online' | 'none';

/**
 * The authoritative shared state of one service: the admission semaphore and
 * presence (which client has connections on which nodes). Whoever owns it (the
 * memory bus, the cluster primary) applies every change here, one at a time, so
 * admission is atomic: the permit count is the number of connections.
 *
 * A client id has one connection, unless every connection of it is `multi`
 * (a registered user in several tabs): then it may have several, on any nodes,
 * and counts as one online client.
 */
export class Directory<Node> {
  readonly #entries = new Map<string, Entry<Node>>();
  readonly #maxClients: number;
  readonly #maxPerIp: number;
  readonly #perIp = new Map<string, number>();
  #connections = 0;

  constructor(maxClients: number, maxPerIp = Infinity) {
    this.#maxClients = maxClients;
    this.#maxPerIp = maxPerIp;
  }

  /** Connections admitted (the permits in use). */
  get size(): number {
    return this.#connections;
  }

  /** Distinct clients online. */
  get onlineCount(): number {
    return this.#entries.size;
  }

  get maxClients(): number {
    return this.#maxClients;
  }

  admit(clientId: string, node: Node, ip = '', multi = false): Admission {
    const entry = this.#entries.get(clientId);
    if (entry && !(entry.multi && multi)) return 'taken';
    if (this.#connections >= this.#maxClients) return 'full';
    if ((this.#perIp.get(ip) ?? 0) >= this.#maxPerIp) return 'too-many';
    if (entry) entry.links.push({ node, ip });
    else this.#entries.set(clientId, { multi, links: [{ node, ip }] });
    this.#connections++;
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    return 'admitted';
  }

  /** Frees one connection of `clientId` on `node`. */
  release(clientId: string, node: Node): Release {
    const entry = this.#entries.get(clientId);
    const index = entry ? entry.links.findIndex((l) => l.node === node) : -1;
    if (!entry || index === -1) return 'none';
    this.#drop(clientId, entry, index);
    return this.#entries.has(clientId) ? 'still-online' : 'offline';
  }

  /** Frees every connection on `node` (it died or left); returns each freed connection's client and whether it went offline. */
  releaseNode(node: Node): { clientId: string; offline: boolean }[] {
    const freed: { clientId: string; offline: boolean }[] = [];
    for (const [clientId, entry] of [...this.#entries]) {
      for (let i = entry.links.length - 1; i >= 0; i--) {
        if (entry.links[i]!.node !== node) continue;
        this.#drop(clientId, entry, i);
        freed.push({ clientId, offline: !this.#entries.has(clientId) });
      }
    }
    return freed;
  }

  /** The nodes holding connections of `clientId` (each once). */
  locate(clientId: string): Node[] {
    const entry = this.#entries.get(clientId);
    return entry ? [...new Set(entry.links.map((l) => l.node))] : [];
  }

  connectionsOf(clientId: string): number {
    return this.#entries.get(clientId)?.links.length ?? 0;
  }

  countOn(node: Node): number {
    let n = 0;
    for (const entry of this.#entries.values()) for (const link of entry.links) if (link.node === node) n++;
    return n;
  }

  clientIds(): string[] {
    return [...this.#entries.keys()];
  }

  /** One [clientId, node] pair per connection (a replica's first snapshot). */
  *connections(): IterableIterator<[string, Node]> {
    for (const [clientId, entry] of this.#entries) for (const link of entry.links) yield [clientId, link.node];
  }

  #drop(clientId: string, entry: Entry<Node>, index: number): void {
    const [link] = entry.links.splice(index, 1);
    if (entry.links.length === 0) this.#entries.delete(clientId);
    this.#connections--;
    const left = (this.#perIp.get(link!.ip) ?? 1) - 1;
    if (left > 0) this.#perIp.set(link!.ip, left);
    else this.#perIp.delete(link!.ip);
  }
}
