/**
 * Looks up display names: resolves with the names of those of `ids` that
 * chose one (absent: show the id), or null when the lookup failed.
 */
export type NameLookup = (ids: readonly string[]) => Promise<Record<string, string> | null>;

/** The server answers at most this many ids per lookup. */
const IDS_PER_LOOKUP = 200;

/**
 * The names people see: a person's display name when their account has one
 * (any script, spaces allowed), their id otherwise (guests). Reading a name
 * asks the server for it once, batched with the other names read in the same
 * turn; the answer updates every place that shows it. Names are asked again
 * when the person comes online (they may have changed it meanwhile).
 */
export class DisplayNames {
  #names = $state<Record<string, string>>({});
  #lookup: NameLookup | null = null;
  /** Ids asked for (or being asked for): not reactive, reading a name must not re-render. */
  readonly #asked = new Set<string>();
  #queued = new Set<string>();

  /** Where names are looked up from; ids read before are asked for now. */
  useLookup(lookup: NameLookup | null): void {
    this.#lookup = lookup;
    if (lookup === null) return;
    // Ids read before there was a lookup were marked asked but never sent.
    for (const id of this.#asked) if (!(id in this.#names)) this.#queued.add(id);
    this.#flushSoon();
  }

  /** What to show for `id`: its display name, or the id itself. */
  of(id: string): string {
    const name = this.#names[id];
    if (name === undefined && !this.#asked.has(id)) {
      this.#asked.add(id);
      if (this.#lookup !== null) {
        this.#queue(id);
        this.#flushSoon();
      }
    }
    return name ?? id;
  }

  /** The display name of `id` when it has one (for showing the id beside it). */
  chosen(id: string): string | undefined {
    this.of(id);
    return this.#names[id];
  }

  /** Asks again for `ids` that were asked for before (they came online: the name may have changed). */
  refresh(ids: readonly string[]): void {
    if (this.#lookup === null) return;
    for (const id of ids) if (this.#asked.has(id)) this.#queue(id);
    this.#flushSoon();
  }

  /** Records a name the page knows first-hand (my own, after I changed it); null: none. */
  set(id: string, name: string | null): void {
    this.#asked.add(id);
    if (name === null) delete this.#names[id];
    else this.#names[id] = name;
  }

  #queue(id: string): void {
    this.#asked.add(id);
    this.#queued.add(id);
  }

  #flushSoon(): void {
    if (this.#queued.size === 0) return;
    // One request for every name read in this turn (a list renders many at once).
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    const lookup = this.#lookup;
    if (lookup === null || this.#queued.size === 0) return;
    const ids = [...this.#queued];
    this.#queued = new Set();
    for (let i = 0; i < ids.length; i += IDS_PER_LOOKUP) void this.#ask(lookup, ids.slice(i, i + IDS_PER_LOOKUP));
  }

  async #ask(lookup: NameLookup, ids: readonly string[]): Promise<void> {
    const found = await lookup(ids);
    // A failed lookup leaves the ids shown as they are; they are asked again when they come online.
    if (found === null) return;
    for (const id of ids) {
      const name = found[id];
      if (name === undefined) {
        if (id in this.#names) delete this.#names[id];
      } else if (this.#names[id] !== name) this.#names[id] = name;
    }
  }
}

/** The page's names: one table for every component. */
export const displayNames = new DisplayNames();
