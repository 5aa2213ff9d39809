/**
 * A node's copy of presence: for each online client, how many connections it
 * has on which node. It applies the owner's per-connection changes and says
 * when a client came online (its first connection) or went offline (its last).
 */
export class PresenceReplica<Node> {
  readonly #clients = new Map<string, Map<Node, number>>();

  /** Applies one connection coming or going; returns the client's presence change, if any. */
  apply(clientId: string, node: Node, add: boolean): 'online' | 'offline' | null {
    let nodes = this.#clients.get(clientId);
    if (add) {
      const wasOnline = nodes !== undefined;
      if (!nodes) this.#clients.set(clientId, (nodes = new Map()));
      nodes.set(node, (nodes.get(node) ?? 0) + 1);
      return wasOnline ? null : 'online';
    }
    if (!nodes?.has(node)) return null;
    const left = nodes.get(node)! - 1;
    if (left > 0) nodes.set(node, left);
    else nodes.delete(node);
    if (nodes.size > 0) return null;
    this.#clients.delete(clientId);
    return 'offline';
  }

  has(clientId: string): boolean {
    return this.#clients.has(clientId);
  }

  /** The nodes holding connections of `clientId`. */
  nodesOf(clientId: string): IterableIterator<Node> | undefined {
    return this.#clients.get(clientId)?.keys();
  }

  connectionsOf(clientId: string): number {
    let n = 0;
    for (const count of this.#clients.get(clientId)?.values() ?? []) n += count;
    return n;
  }

  get size(): number {
    return this.#clients.size;
  }

  clientIds(): string[] {
    return [...this.#clients.keys()];
  }
}
