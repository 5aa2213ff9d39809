import { ERRORS, type ErrorCode } from '@chorus/protocol';

/** An account's optional profile, as the server keeps it (absent fields are null). */
export interface UserProfile {
  readonly firstNames: string | null;
  readonly lastNames: string | null;
  readonly age: number | null;
  readonly gender: string | null;
  /** The name people see instead of the username; null: the username. */
  readonly displayName: string | null;
}

/** An account as the server shows it to its owner. */
export interface PublicUser {
  readonly username: string;
  readonly profile: UserProfile;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** The answer to a sign-up or a sign-in. */
export interface SignedIn {
  readonly token: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly user: PublicUser;
}

/** The profile a sign-up may give; fields left out are not given. */
export interface ProfileInput {
  firstNames?: string;
  lastNames?: string;
  age?: number;
  gender?: string;
  displayName?: string;
}

/**
 * Why a request failed: the server's code and message, or `NETWORK` (no
 * answer at all) or `BAD_RESPONSE` (an answer that is not the API's).
 */
export interface AuthFailure {
  readonly code: ErrorCode | 'NETWORK' | 'BAD_RESPONSE';
  readonly message: string;
  /** From Retry-After, for TOO_MANY_ATTEMPTS. */
  readonly retryAfterSeconds: number | null;
}

export type AuthResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: AuthFailure };

/**
 * The accounts API's base URL for the chat server at `server` (its WebSocket
 * URL from /env): the same origin and path, over http(s).
 */
export function authBase(server: string): string {
  return `${server.replace(/^ws(s?):\/\//i, 'http$1://').replace(/\/+$/, '')}/auth`;
}

/**
 * The chat server's accounts API (`/auth`, see docs/protocol.md). Every answer
 * is checked against the shape the docs give before it is used; a request
 * never throws, it resolves with an {@link AuthResult}.
 */
export class AuthApi {
  readonly #base: () => Promise<string>;
  readonly #fetch: typeof fetch;

  /** `base` names the API's base URL (see {@link authBase}); resolved for every request. */
  constructor(base: () => Promise<string>, fetchFn: typeof fetch = (input, init) => fetch(input, init)) {
    this.#base = base;
    this.#fetch = fetchFn;
  }

  /** Creates an account and signs it in. */
  register(username: string, password: string, profile?: ProfileInput): Promise<AuthResult<SignedIn>> {
    const body = profile && Object.keys(profile).length > 0 ? { username, password, profile } : { username, password };
    return this.#request('POST', '/register', { body, expect: 201, parse: parseSignedIn });
  }

  /** Signs in: a new session and its token. */
  login(username: string, password: string): Promise<AuthResult<SignedIn>> {
    return this.#request('POST', '/login', { body: { username, password }, expect: 200, parse: parseSignedIn });
  }

  /** Ends the session of `token` (its connections close with 4401). */
  logout(token: string): Promise<AuthResult<void>> {
    return this.#request('POST', '/logout', { token, expect: 204, parse: () => undefined });
  }

  /** Changes the password; every other session of the account ends, this one stays. */
  changePassword(token: string, currentPassword: string, newPassword: string): Promise<AuthResult<void>> {
    return this.#request('POST', '/password', { token, body: { currentPassword, newPassword }, expect: 204, parse: () => undefined });
  }

  /** Sets (or with null clears) the signed-in account's display name; answers the account. */
  setDisplayName(token: string, displayName: string | null): Promise<AuthResult<PublicUser>> {
    return this.#request('POST', '/display-name', { token, body: { displayName }, expect: 200, parse: userOf });
  }

  /** The display names of those of `ids` (at most 200) that chose one. */
  names(ids: readonly string[]): Promise<AuthResult<Record<string, string>>> {
    const query = ids.map((id) => encodeURIComponent(id)).join(',');
    return this.#request('GET', `/names?ids=${query}`, { expect: 200, parse: parseNames });
  }

  /** The signed-in account. */
  me(token: string): Promise<AuthResult<PublicUser>> {
    return this.#request('GET', '/me', {
      token,
      expect: 200,
      parse: userOf,
    });
  }

  async #request<T>(
    method: 'GET' | 'POST',
    path: string,
    options: { body?: unknown; token?: string; expect: number; parse: (body: unknown) => T | null },
  ): Promise<AuthResult<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let response: Response;
    try {
      const url = `${await this.#base()}${path}`;
      response = await this.#fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (err) {
      return failure('NETWORK', err instanceof Error ? err.message : String(err));
    }
    const body = response.status === 204 ? undefined : await response.json().catch(() => undefined);
    if (response.status === options.expect) {
      const value = options.parse(body);
      return value === null ? failure('BAD_RESPONSE', `unexpected answer to ${method} ${path}`) : { ok: true, value };
    }
    if (isRecord(body) && typeof body.code === 'string' && Object.hasOwn(ERRORS, body.code) && typeof body.message === 'string') {
      return failure(body.code as ErrorCode, body.message, retryAfter(response.headers.get('retry-after')));
    }
    return failure('BAD_RESPONSE', `${method} ${path} answered ${response.status}`);
  }
}

function failure(code: AuthFailure['code'], message: string, retryAfterSeconds: number | null = null): { ok: false; failure: AuthFailure } {
  return { ok: false, failure: { code, message, retryAfterSeconds } };
}

/** Retry-After in seconds (the server sends seconds, never a date). */
function retryAfter(header: string | null): number | null {
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  return Number(header.trim());
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isTextOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string';

function isPublicUser(value: unknown): value is PublicUser {
  if (!isRecord(value) || typeof value.username !== 'string' || typeof value.createdAt !== 'number') return false;
  const profile = value.profile;
  return (
    isRecord(profile) &&
    isTextOrNull(profile.firstNames) &&
    isTextOrNull(profile.lastNames) &&
    isTextOrNull(profile.gender) &&
    // Older servers have no display names: absent is none.
    (profile.displayName === undefined || isTextOrNull(profile.displayName)) &&
    (profile.age === null || typeof profile.age === 'number')
  );
}

const userOf = (body: unknown): PublicUser | null => (isRecord(body) && isPublicUser(body.user) ? withDisplayName(body.user) : null);

function withDisplayName(user: PublicUser): PublicUser {
  return user.profile.displayName === undefined ? { ...user, profile: { ...user.profile, displayName: null } } : user;
}

function parseNames(body: unknown): Record<string, string> | null {
  if (!isRecord(body) || !isRecord(body.names)) return null;
  const names: Record<string, string> = {};
  for (const [id, name] of Object.entries(body.names)) if (typeof name === 'string') names[id] = name;
  return names;
}

function parseSignedIn(body: unknown): SignedIn | null {
  if (!isRecord(body) || typeof body.token !== 'string' || typeof body.expiresAt !== 'number' || !isPublicUser(body.user)) return null;
  // The token goes into a WebSocket subprotocol: only the characters the docs promise may pass.
  if (!/^[A-Za-z0-9._-]+$/.test(body.token)) return null;
  return { token: body.token, expiresAt: body.expiresAt, user: withDisplayName(body.user) };
}
