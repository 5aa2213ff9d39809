/**
 * Where one client's connections are. Almost every client has one connection:
 * then the entry is just its node (a number inline in the map, no object per
 * client). Several connections (tabs, on one node or several) take a count per
 * node. `Node` is a plain value (a worker id), never a Map.
 */
type Nodes<Node> = Node | Map<Node, number>;

/**
 * A node's copy of presence: for each online client, how many connections it
 * has on which node. It applies the owner's per-connection changes and says
 * when a client came online (its first connection) or went offline (its last).
 *
 * Every worker holds one entry per client of the whole cluster, so the common
 * case (one connection) costs a map slot and nothing more.
 */
export class PresenceReplica<Node> {
  readonly #clients = new Map<string, Nodes<Node>>();
  /** One-element arrays, one per node, to answer `nodesOf` for single-connection clients without allocating them. */
  readonly #single = new Map<Node, readonly Node[]>();

  /** Applies one connection coming or going; returns the client's presence change, if any. */
  apply(clientId: string, node: Node, add: boolean): 'online' | 'offline' | null {
    const nodes = this.#clients.get(clientId);
    if (add) {
      if (nodes === undefined) {
        this.#clients.set(clientId, node);
        return 'online';
      }
      const counts = nodes instanceof Map ? nodes : new Map([[nodes, 1]]);
      counts.set(node, (counts.get(node) ?? 0) + 1);
      this.#clients.set(clientId, counts);
      return null;
    }
    if (nodes === undefined) return null;
    if (!(nodes instanceof Map)) {
      if (nodes !== node) return null;
      this.#clients.delete(clientId);
      return 'offline';
    }
    const count = nodes.get(node);
    if (count === undefined) return null;
    if (count > 1) nodes.set(node, count - 1);
    else nodes.delete(node);
    // Back to one connection: back to the compact form.
    if (nodes.size === 1) {
      const [only, left] = nodes.entries().next().value!;
      if (left === 1) this.#clients.set(clientId, only);
    }
    return null;
  }

  has(clientId: string): boolean {
    return this.#clients.has(clientId);
  }

  /** The nodes holding connections of `clientId`. */
  nodesOf(clientId: string): IterableIterator<Node> | undefined {
    const nodes = this.#clients.get(clientId);
    if (nodes === undefined) return undefined;
    if (nodes instanceof Map) return nodes.keys();
    let single = this.#single.get(nodes);
    if (!single) this.#single.set(nodes, (single = [nodes]));
    return single.values();
  }

  connectionsOf(clientId: string): number {
    const nodes = this.#clients.get(clientId);
    if (nodes === undefined) return 0;
    if (!(nodes instanceof Map)) return 1;
    let n = 0;
    for (const count of nodes.values()) n += count;
    return n;
  }

  get size(): number {
    return this.#clients.size;
  }

  clientIds(): string[] {
    return [...this.#clients.keys()];
  }
}
