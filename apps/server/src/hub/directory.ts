import type { Admission } from './backend.js';

/** Connections from one address: shared by all of them, so the address string is kept once. */
interface Address {
  readonly ip: string;
  count: number;
}

/** One connection of a client: the node holding it and the address it came from. */
class Link<Node> {
  constructor(
    readonly node: Node,
    readonly address: Address,
    /** Whether more connections may share this id (a registered, authenticated user). */
    readonly multi: boolean,
  ) {}
}

/**
 * A client's connections: one link (nearly every client: one small object per
 * client), or several (a registered user in several tabs).
 */
type Links<Node> = Link<Node> | Link<Node>[];

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
  readonly #entries = new Map<string, Links<Node>>();
  readonly #maxClients: number;
  readonly #maxPerIp: number;
  readonly #perIp = new Map<string, Address>();
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
    if (entry && !(multi && linksOf(entry)[0]!.multi)) return 'taken';
    if (this.#connections >= this.#maxClients) return 'full';
    let address = this.#perIp.get(ip);
    if ((address?.count ?? 0) >= this.#maxPerIp) return 'too-many';
    if (!address) this.#perIp.set(ip, (address = { ip, count: 0 }));
    address.count++;
    const link = new Link(node, address, multi);
    if (!entry) this.#entries.set(clientId, link);
    else if (Array.isArray(entry)) entry.push(link);
    else this.#entries.set(clientId, [entry, link]);
    this.#connections++;
    return 'admitted';
  }

  /** Frees one connection of `clientId` on `node`. */
  release(clientId: string, node: Node): Release {
    const entry = this.#entries.get(clientId);
    if (!entry) return 'none';
    const index = linksOf(entry).findIndex((l) => l.node === node);
    if (index === -1) return 'none';
    this.#drop(clientId, entry, index);
    return this.#entries.has(clientId) ? 'still-online' : 'offline';
  }

  /** Frees every connection on `node` (it died or left); returns each freed connection's client and whether it went offline. */
  releaseNode(node: Node): { clientId: string; offline: boolean }[] {
    const freed: { clientId: string; offline: boolean }[] = [];
    for (const [clientId, entry] of [...this.#entries]) {
      const links = linksOf(entry);
      // Backwards: #drop splices this same array (or drops the one link), so lower indices stay valid.
      for (let i = links.length - 1; i >= 0; i--) {
        if (links[i]!.node !== node) continue;
        this.#drop(clientId, this.#entries.get(clientId)!, i);
        freed.push({ clientId, offline: !this.#entries.has(clientId) });
      }
    }
    return freed;
  }

  /** The nodes holding connections of `clientId` (each once). */
  locate(clientId: string): Node[] {
    const entry = this.#entries.get(clientId);
    if (!entry) return [];
    return Array.isArray(entry) ? [...new Set(entry.map((l) => l.node))] : [entry.node];
  }

  connectionsOf(clientId: string): number {
    const entry = this.#entries.get(clientId);
    return entry ? linksOf(entry).length : 0;
  }

  countOn(node: Node): number {
    let n = 0;
    for (const entry of this.#entries.values()) for (const link of linksOf(entry)) if (link.node === node) n++;
    return n;
  }

  clientIds(): string[] {
    return [...this.#entries.keys()];
  }

  /** One [clientId, node] pair per connection (a replica's first snapshot). */
  *connections(): IterableIterator<[string, Node]> {
    for (const [clientId, entry] of this.#entries) for (const link of linksOf(entry)) yield [clientId, link.node];
  }

  /** Removes link `index` of the client's links (as `linksOf` orders them). */
  #drop(clientId: string, entry: Links<Node>, index: number): void {
    let link: Link<Node>;
    if (!Array.isArray(entry)) {
      link = entry;
      this.#entries.delete(clientId);
    } else {
      link = entry.splice(index, 1)[0]!;
      // Down to one connection: back to the compact form.
      if (entry.length === 1) this.#entries.set(clientId, entry[0]!);
    }
    this.#connections--;
    const address = link.address;
    if (--address.count === 0) this.#perIp.delete(address.ip);
  }
}

const linksOf = <Node>(entry: Links<Node>): readonly Link<Node>[] => (Array.isArray(entry) ? entry : [entry]);
