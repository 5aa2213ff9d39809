/** A sign-in kept by this browser: the account, its token and when the token expires. */
export interface StoredToken {
  readonly username: string;
  readonly token: string;
  /** Milliseconds since the epoch (from the server's answer). */
  readonly expiresAt: number;
}

/** What {@link TokenStore.lookup} finds for a username. */
export type TokenLookup =
  | { readonly status: 'valid'; readonly token: StoredToken }
  /** A token was kept but its time is up (it is forgotten by the lookup). */
  | { readonly status: 'expired'; readonly username: string }
  | { readonly status: 'none' };

/** The part of `localStorage` the store uses (tests pass a Map-backed one). */
export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** The localStorage key; one JSON record holds every account signed in on this browser. */
export const TOKENS_KEY = 'chorus:sessions';

interface Saved {
  /** The account signed in last: `/` opens it. */
  last: string | null;
  tokens: Record<string, { token: string; expiresAt: number }>;
}

/**
 * The sign-ins of this browser, one per username, in `localStorage` so that a
 * reload (and every tab of the same origin) finds them. Nothing is cached in
 * memory: each call reads the record anew, so tabs see each other's changes.
 * Expired tokens are never returned. Without usable storage (disabled, private
 * modes of some browsers) it keeps them in memory: a reload signs out.
 */
export class TokenStore {
  readonly #storage: KeyValueStorage;
  readonly #now: () => number;

  constructor(storage: KeyValueStorage | null = defaultStorage(), now: () => number = Date.now) {
    this.#storage = storage ?? memoryStorage();
    this.#now = now;
  }

  /** Keeps `token` for its username (replacing any older one) and makes it the last account signed in. */
  save(token: StoredToken): void {
    const saved = this.#read();
    saved.tokens[token.username] = { token: token.token, expiresAt: token.expiresAt };
    saved.last = token.username;
    this.#write(saved);
  }

  /** The token kept for `username`, if any and not expired; an expired one is forgotten here. */
  lookup(username: string): TokenLookup {
    const saved = this.#read();
    const entry = Object.hasOwn(saved.tokens, username) ? saved.tokens[username] : undefined;
    if (!entry) return { status: 'none' };
    if (entry.expiresAt <= this.#now()) {
      this.forget(username, entry.token);
      return { status: 'expired', username };
    }
    return { status: 'valid', token: { username, ...entry } };
  }

  /** The valid token of `username`, or null. */
  get(username: string): StoredToken | null {
    const found = this.lookup(username);
    return found.status === 'valid' ? found.token : null;
  }

  /**
   * Forgets the token of `username`. With `token`, only if that is still the
   * one kept: another tab may have signed in again meanwhile, and its new
   * token must survive the old one's failure.
   */
  forget(username: string, token?: string): void {
    const saved = this.#read();
    const entry = Object.hasOwn(saved.tokens, username) ? saved.tokens[username] : undefined;
    if (!entry || (token !== undefined && entry.token !== token)) return;
    delete saved.tokens[username];
    if (saved.last === username) saved.last = null;
    this.#write(saved);
  }

  /** The account signed in last, while its token is valid: `/` continues as it. */
  lastUser(): string | null {
    const { last } = this.#read();
    return last !== null && this.get(last) !== null ? last : null;
  }

  #read(): Saved {
    let raw: string | null = null;
    try {
      raw = this.#storage.getItem(TOKENS_KEY);
    } catch {
      // Storage can throw (disabled by the user): as if nothing was kept.
    }
    return parseSaved(raw);
  }

  #write(saved: Saved): void {
    try {
      if (saved.last === null && Object.keys(saved.tokens).length === 0) this.#storage.removeItem(TOKENS_KEY);
      else this.#storage.setItem(TOKENS_KEY, JSON.stringify(saved));
    } catch (err) {
      console.warn('chorus: could not keep the sign-in in this browser', err);
    }
  }
}

/** The saved record, or an empty one for anything malformed (another version, a hand edit). */
function parseSaved(raw: string | null): Saved {
  const empty: Saved = { last: null, tokens: Object.create(null) as Saved['tokens'] };
  if (raw === null) return empty;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return empty;
  }
  if (typeof value !== 'object' || value === null) return empty;
  const record = value as Record<string, unknown>;
  const tokens = record.tokens;
  if (typeof tokens === 'object' && tokens !== null) {
    for (const [username, entry] of Object.entries(tokens)) {
      if (typeof entry !== 'object' || entry === null) continue;
      const { token, expiresAt } = entry as Record<string, unknown>;
      if (typeof token === 'string' && token !== '' && typeof expiresAt === 'number') empty.tokens[username] = { token, expiresAt };
    }
  }
  if (typeof record.last === 'string' && Object.hasOwn(empty.tokens, record.last)) empty.last = record.last;
  return empty;
}

function defaultStorage(): KeyValueStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // some browsers throw on the mere access when storage is disabled
  }
}

function memoryStorage(): KeyValueStorage {
  const map = new Map<string, string>();
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}
