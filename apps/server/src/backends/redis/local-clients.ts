/**
 * The connections this node holds, as its Redis backend counts them: how many
 * per client (admissions under way included, so two tabs connecting at once
 * subscribe once), and the address of each admitted one, which its release
 * must give back.
 */
export class LocalClients {
  readonly #clients = new Map<string, { pending: number; ips: string[] }>();
  #total = 0;

  /** Admitted connections on this node. */
  get total(): number {
    return this.#total;
  }

  /** Connections of `clientId` here, admitted or being admitted. */
  count(clientId: string): number {
    const entry = this.#clients.get(clientId);
    return entry ? entry.pending + entry.ips.length : 0;
  }

  /** An admission of `clientId` has started. */
  reserve(clientId: string): void {
    const entry = this.#clients.get(clientId);
    if (entry) entry.pending++;
    else this.#clients.set(clientId, { pending: 1, ips: [] });
  }

  /** The admission failed or was refused. */
  unreserve(clientId: string): void {
    const entry = this.#clients.get(clientId);
    if (!entry) return;
    entry.pending--;
    if (this.count(clientId) === 0) this.#clients.delete(clientId);
  }

  /** The admission succeeded, from `ip`. */
  admitted(clientId: string, ip: string): void {
    const entry = this.#clients.get(clientId);
    if (!entry) return;
    entry.pending--;
    entry.ips.push(ip);
    this.#total++;
  }

  /** Forgets one admitted connection of `clientId`; its address, or undefined if it held none. */
  release(clientId: string): string | undefined {
    const entry = this.#clients.get(clientId);
    const ip = entry?.ips.pop();
    if (ip === undefined) return undefined;
    this.#total--;
    if (this.count(clientId) === 0) this.#clients.delete(clientId);
    return ip;
  }

  /** Forgets everything (the service has released these clients already); the ids it held. */
  clear(): string[] {
    const ids = [...this.#clients.keys()];
    this.#clients.clear();
    this.#total = 0;
    return ids;
  }
}
