import type { Revocation } from '../hub/events.js';
import { randomBytes } from 'node:crypto';
import { clientIdProblem, ERRORS } from '@chorus/protocol';
import type { Storage, StoredUser, UserProfile } from '../storage/index.js';
import { MemoryAttemptCounter, type AttemptCounter } from './attempt-counter.js';
import { toPublicUser, type PublicUser } from './api-schemas.js';
import { HasherBusyError, PasswordHasher, passwordProblem } from './passwords.js';
import { newSessionId, TokenSigner } from './tokens.js';

/** The storage methods accounts use. */
export type AccountStorage = Pick<
  Storage,
  | 'createUser'
  | 'findUser'
  | 'nameTaken'
  | 'setDisplayName'
  | 'displayNames'
  | 'setPasswordHash'
  | 'changePassword'
  | 'createSession'
  | 'findSession'
  | 'revokeSession'
  | 'deleteExpiredSessions'
>;

/** `open`: guests may use any name no account owns. `required`: every connection needs a token. */
export type AuthMode = 'open' | 'required';

export interface AttemptLimits {
  /** Failed sign-ins (and wrong current passwords) per account per window. */
  readonly failuresPerAccount: number;
  /** Failed sign-ins per address per window, over all accounts. */
  readonly failuresPerIp: number;
  /** Registrations per address per window. */
  readonly registrationsPerIp: number;
  readonly windowMs: number;
}

export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = {
  failuresPerAccount: 10,
  failuresPerIp: 100,
  registrationsPerIp: 20,
  windowMs: 15 * 60_000,
};

export interface AccountsOptions {
  readonly storage: AccountStorage;
  /** Keys the token signatures (AUTH_SECRET: at least 32 characters). */
  readonly secret: string;
  readonly tokenTtlMs: number;
  readonly mode: AuthMode;
  readonly limits?: AttemptLimits;
  /** Makes the counter of one limit (`name`: which one); default: in this process's memory. */
  readonly attemptCounter?: (name: string, max: number, windowMs: number) => AttemptCounter;
  /** Milliseconds since the epoch; injected in tests. */
  readonly clock?: () => number;
  /** Default: scrypt with DEFAULT_SCRYPT_PARAMS. */
  readonly hasher?: PasswordHasher;
  /** Live sessions an account may have; signing in once more revokes the oldest. Default 100. */
  readonly maxSessionsPerUser?: number;
  /** Told about background failures (pruning expired sessions). */
  readonly onBackgroundError?: (err: unknown) => void;
}

/** A refusal: a code from the error registry, a sentence for the person, and when to retry (TOO_MANY_ATTEMPTS). */
export interface AuthFailure<C extends string> {
  readonly ok: false;
  readonly error: C;
  readonly message: string;
  readonly retryAfterMs?: number;
}

/** A new session: its token, when it expires (ms since the epoch) and the account. */
export interface SignedIn {
  readonly ok: true;
  readonly token: string;
  readonly expiresAt: number;
  readonly user: PublicUser;
}

/** Why a token was refused; for logs only (the client is told AUTH_FAILED whatever it is). */
export type TokenProblem = 'malformed' | 'signature' | 'expired' | 'unknown-session' | 'revoked' | 'other-user';

/** The result of verifyToken. */
export type TokenCheck =
  | { readonly ok: true; readonly user: string; readonly sessionId: string; readonly expiresAt: number }
  | { readonly ok: false; readonly error: 'AUTH_FAILED'; readonly reason: TokenProblem };

/** The result of authorizeConnection. */
export type ConnectionAuth =
  /** Signed in: the connection is `user`'s (= the client id) until `expiresAt`. */
  | { readonly ok: true; readonly user: string; readonly sessionId: string; readonly expiresAt: number }
  /** A guest (AUTH_MODE=open, a name no account owns, no token). */
  | { readonly ok: true; readonly user: null }
  | {
      readonly ok: false;
      readonly error: 'AUTH_REQUIRED' | 'AUTH_FAILED';
      readonly reason: TokenProblem | 'no-token' | 'registered';
    };

export type { Revocation };

/** The identity a verified token gives a request. */
export interface Identity {
  readonly user: string;
  readonly sessionId: string;
}

const PRUNE_EVERY_MS = 60 * 60_000;

const fail = <C extends keyof typeof ERRORS>(error: C, message?: string, retryAfterMs?: number): AuthFailure<C> => ({
  ok: false,
  error,
  message: message ?? ERRORS[error].message,
  ...(retryAfterMs !== undefined && { retryAfterMs }),
});

/** Case-folds ASCII letters: `Alice` and `alice` share their attempt counters, as they share their name. */
const accountKey = (username: string) => username.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Accounts, passwords and session tokens, over the storage layer. Knows no
 * HTTP and no WebSocket: plugins/auth-routes.ts serves it over HTTP, and the
 * WebSocket upgrade calls `authorizeConnection` (or `verifyToken`).
 *
 * Tokens are stateless to check for form, signature and expiry, and then
 * looked up: a token is valid only while its session row exists, has not
 * expired and is not revoked, so logout and password changes take effect at
 * once, in every process. Nothing about sessions is cached.
 *
 * Attempt limits (sign-in failures per account and per address, registrations
 * per address) are counted by an AttemptCounter: in this process's memory by
 * default (with a cluster, each worker counts for itself), in Redis with
 * several nodes (every node and worker counts together).
 */
export class Accounts {
  readonly mode: AuthMode;
  readonly #storage: AccountStorage;
  readonly #signer: TokenSigner;
  readonly #hasher: PasswordHasher;
  readonly #clock: () => number;
  readonly #tokenTtlMs: number;
  readonly #maxSessions: number;
  readonly #failuresPerAccount: AttemptCounter;
  readonly #failuresPerIp: AttemptCounter;
  readonly #registrationsPerIp: AttemptCounter;
  readonly #onBackgroundError: (err: unknown) => void;
  readonly #revocationListeners = new Set<(revocation: Revocation) => void>();
  #dummyHash: Promise<string> | null = null;
  #lastPrune = -Infinity;

  constructor(options: AccountsOptions) {
    this.mode = options.mode;
    this.#storage = options.storage;
    this.#signer = new TokenSigner(options.secret);
    this.#hasher = options.hasher ?? new PasswordHasher();
    this.#clock = options.clock ?? Date.now;
    this.#tokenTtlMs = options.tokenTtlMs;
    this.#maxSessions = options.maxSessionsPerUser ?? 100;
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
    const limits = options.limits ?? DEFAULT_ATTEMPT_LIMITS;
    const counter =
      options.attemptCounter ??
      ((_name: string, max: number, windowMs: number) => new MemoryAttemptCounter({ max, windowMs, clock: this.#clock }));
    this.#failuresPerAccount = counter('failures-per-account', limits.failuresPerAccount, limits.windowMs);
    this.#failuresPerIp = counter('failures-per-ip', limits.failuresPerIp, limits.windowMs);
    this.#registrationsPerIp = counter('registrations-per-ip', limits.registrationsPerIp, limits.windowMs);
  }

  /**
   * Creates an account and signs it in. The password is hashed before the
   * name is checked, so an answer takes as long whether the name was free or not.
   */
  async register(
    input: { username: string; password: string; profile: UserProfile },
    ip: string,
  ): Promise<SignedIn | AuthFailure<'INVALID_CLIENT_ID' | 'WEAK_PASSWORD' | 'USERNAME_TAKEN' | 'TOO_MANY_ATTEMPTS'>> {
    const { username, password, profile } = input;
    const idProblem = clientIdProblem(username);
    if (idProblem) return fail('INVALID_CLIENT_ID', `invalid username: ${idProblem}`);
    const weak = passwordProblem(password, username);
    if (weak) return fail('WEAK_PASSWORD', weak);

    const wait = await this.#registrationsPerIp.take(ip);
    if (wait > 0) return this.#tooMany(wait);

    let passwordHash: string;
    try {
      passwordHash = await this.#hasher.hash(password);
    } catch (err) {
      await this.#registrationsPerIp.undo(ip);
      if (err instanceof HasherBusyError) return this.#busy();
      throw err;
    }
    const user: StoredUser = { username, passwordHash, profile, createdAt: this.#clock() };
    const created = await this.#storage.createUser(user);
    if (!created.created) return fail('USERNAME_TAKEN');
    return this.#signIn(user);
  }

  /**
   * Checks a username and password and opens a session. An unknown name, a
   * wrong password and a malformed name get the same answer (AUTH_FAILED)
   * after the same work (one hash), so neither the answer nor its timing says
   * whether the account exists. Past the failure limits, TOO_MANY_ATTEMPTS
   * with the time to wait, whatever the password.
   */
  async login(username: string, password: string, ip: string): Promise<SignedIn | AuthFailure<'AUTH_FAILED' | 'TOO_MANY_ATTEMPTS'>> {
    const key = accountKey(username);
    // Counted before the (slow) check and taken back on success, so that many
    // attempts in parallel cannot all slip through before the first one fails.
    const wait = await this.#takeBoth(key, ip);
    if (wait > 0) return this.#tooMany(wait);

    let matches: boolean;
    let user: StoredUser | null;
    try {
      // Awaited for every name, known or not, so that the first sign-in of an
      // unknown name is not the only one that also computes the dummy.
      const dummy = await this.#dummy();
      user = clientIdProblem(username) === null ? await this.#storage.findUser(username) : null;
      matches = await this.#hasher.verify(password, user?.passwordHash ?? dummy);
    } catch (err) {
      // Not the caller's failure: a busy server or a storage error.
      await Promise.all([this.#failuresPerAccount.undo(key), this.#failuresPerIp.undo(ip)]);
      if (err instanceof HasherBusyError) return this.#busy();
      throw err;
    }
    if (!user || !matches) return fail('AUTH_FAILED');

    await Promise.all([this.#failuresPerAccount.reset(key), this.#failuresPerIp.undo(ip)]);
    if (this.#hasher.needsRehash(user.passwordHash)) {
      // Stored hashes move to the current parameters as people sign in; if
      // that fails, the old hash still works and the next sign-in tries again.
      try {
        await this.#storage.setPasswordHash(user.username, await this.#hasher.hash(password));
      } catch (err) {
        this.#onBackgroundError(err);
      }
    }
    return this.#signIn(user);
  }

  /**
   * Changes the password of a signed-in account and revokes every other
   * session of it (this one stays signed in). A wrong current password
   * counts as a failed sign-in of the account.
   */
  async changePassword(
    identity: Identity,
    currentPassword: string,
    newPassword: string,
    ip: string,
  ): Promise<{ ok: true } | AuthFailure<'AUTH_FAILED' | 'WRONG_PASSWORD' | 'WEAK_PASSWORD' | 'TOO_MANY_ATTEMPTS'>> {
    const weak = passwordProblem(newPassword, identity.user);
    if (weak) return fail('WEAK_PASSWORD', weak);
    const key = accountKey(identity.user);
    const wait = await this.#takeBoth(key, ip);
    if (wait > 0) return this.#tooMany(wait);

    let user: StoredUser | null;
    let matches: boolean;
    let passwordHash: string;
    try {
      user = await this.#storage.findUser(identity.user);
      if (!user) return fail('AUTH_FAILED');
      matches = await this.#hasher.verify(currentPassword, user.passwordHash);
      passwordHash = matches ? await this.#hasher.hash(newPassword) : '';
    } catch (err) {
      // Not the caller's failure: a busy server or a storage error.
      await Promise.all([this.#failuresPerAccount.undo(key), this.#failuresPerIp.undo(ip)]);
      if (err instanceof HasherBusyError) return this.#busy();
      throw err;
    }
    if (!matches) return fail('WRONG_PASSWORD');
    await Promise.all([this.#failuresPerAccount.reset(key), this.#failuresPerIp.undo(ip)]);
    const changed = await this.#storage.changePassword(user.username, passwordHash, this.#clock(), identity.sessionId);
    if (!changed) return fail('AUTH_FAILED');
    this.#revoked({ user: user.username, allExcept: identity.sessionId });
    return { ok: true };
  }

  /** Revokes the session; true if it was live. Its tokens fail from now on, in every process. */
  async logout(identity: Identity): Promise<boolean> {
    const revoked = await this.#storage.revokeSession(identity.sessionId, this.#clock());
    if (revoked) this.#revoked({ user: identity.user, sessionId: identity.sessionId });
    return revoked;
  }

  /**
   * Calls `listener` after this process revokes sessions (logout, password
   * change), so that live connections of those sessions here can be closed at
   * once. Other processes do not hear of it: they learn it from `sessionLive`.
   * Returns a function that removes the listener.
   */
  onRevoked(listener: (revocation: Revocation) => void): () => void {
    this.#revocationListeners.add(listener);
    return () => this.#revocationListeners.delete(listener);
  }

  /**
   * Whether a session still exists, is not revoked and has not expired (one
   * storage lookup): for re-checking long-lived connections now and then.
   * Rejects only when storage fails.
   */
  async sessionLive(sessionId: string): Promise<boolean> {
    const session = await this.#storage.findSession(sessionId);
    return session !== null && session.revokedAt === null && session.expiresAt > this.#clock();
  }

  /**
   * Sets the signed-in user's display name (already validated and normalized
   * by the caller's schema), or clears it with null; answers the account as
   * its owner sees it, or null if it no longer exists.
   */
  async setDisplayName(identity: Identity, displayName: string | null): Promise<PublicUser | null> {
    if (!(await this.#storage.setDisplayName(identity.user, displayName))) return null;
    return this.profile(identity.user);
  }

  /** The display names of those of `usernames` that chose one (a public lookup: names are shown to everyone in the chat). */
  async displayNames(usernames: readonly string[]): Promise<Record<string, string>> {
    return Object.fromEntries(await this.#storage.displayNames(usernames));
  }

  /** The account as its owner sees it, or null if it no longer exists. */
  async profile(username: string): Promise<PublicUser | null> {
    const user = await this.#storage.findUser(username);
    return user ? toPublicUser(user) : null;
  }

  /**
   * Checks a token: its form and signature, its expiry, and that its session
   * exists, has not expired and is not revoked (looked up in storage on every
   * call: a revoked token fails at once). Rejects only when storage fails.
   */
  async verifyToken(token: string): Promise<TokenCheck> {
    const opened = this.#signer.open(token);
    if (!opened.ok) return { ok: false, error: 'AUTH_FAILED', reason: opened.problem };
    const now = this.#clock();
    if (opened.expiresAt <= now) return { ok: false, error: 'AUTH_FAILED', reason: 'expired' };
    const session = await this.#storage.findSession(opened.sessionId);
    if (!session) return { ok: false, error: 'AUTH_FAILED', reason: 'unknown-session' };
    if (session.revokedAt !== null) return { ok: false, error: 'AUTH_FAILED', reason: 'revoked' };
    if (session.expiresAt <= now) return { ok: false, error: 'AUTH_FAILED', reason: 'expired' };
    return { ok: true, user: session.username, sessionId: session.id, expiresAt: Math.min(session.expiresAt, opened.expiresAt) };
  }

  /**
   * Decides whether a connection for `clientId` may open, given the token it
   * presented (or none):
   * - a token must be valid and be `clientId`'s, else AUTH_FAILED;
   * - without one: AUTH_REQUIRED when AUTH_MODE=required, or when an account
   *   owns the name (ignoring ASCII case, so `Alice` cannot pose as `alice`);
   *   otherwise a guest.
   * Rejects only when storage fails.
   */
  async authorizeConnection(clientId: string, token: string | undefined): Promise<ConnectionAuth> {
    if (token !== undefined) {
      const check = await this.verifyToken(token);
      if (!check.ok) return check;
      if (check.user !== clientId) return { ok: false, error: 'AUTH_FAILED', reason: 'other-user' };
      return check;
    }
    if (this.mode === 'required') return { ok: false, error: 'AUTH_REQUIRED', reason: 'no-token' };
    if (await this.#storage.nameTaken(clientId)) return { ok: false, error: 'AUTH_REQUIRED', reason: 'registered' };
    return { ok: true, user: null };
  }

  async #signIn(user: StoredUser): Promise<SignedIn> {
    const now = this.#clock();
    const expiresAt = now + this.#tokenTtlMs;
    const sessionId = newSessionId();
    await this.#storage.createSession({ id: sessionId, username: user.username, createdAt: now, expiresAt }, this.#maxSessions);
    this.#pruneNowAndThen(now);
    return { ok: true, token: this.#signer.sign(sessionId, expiresAt), expiresAt, user: toPublicUser(user) };
  }

  #revoked(revocation: Revocation): void {
    for (const listener of this.#revocationListeners) {
      try {
        listener(revocation);
      } catch (err) {
        this.#onBackgroundError(err);
      }
    }
  }

  /** Deletes expired sessions at most once an hour per process, in the background. */
  #pruneNowAndThen(now: number): void {
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    this.#storage.deleteExpiredSessions(now).catch(this.#onBackgroundError);
  }

  /** A hash of a random password with the current parameters, to check unknown names against. */
  #dummy(): Promise<string> {
    this.#dummyHash ??= this.#hasher.hash(randomBytes(16).toString('hex')).catch((err: unknown) => {
      this.#dummyHash = null;
      throw err;
    });
    return this.#dummyHash;
  }

  /** One failure-counted attempt for the account and the address; the wait if either is blocked (then neither counts). */
  async #takeBoth(key: string, ip: string): Promise<number> {
    const account = await this.#failuresPerAccount.take(key);
    if (account > 0) return account;
    const address = await this.#failuresPerIp.take(ip);
    if (address > 0) await this.#failuresPerAccount.undo(key);
    return address;
  }

  #tooMany(waitMs: number): AuthFailure<'TOO_MANY_ATTEMPTS'> {
    const seconds = Math.ceil(waitMs / 1000);
    return fail('TOO_MANY_ATTEMPTS', `too many attempts: try again in ${seconds} s`, seconds * 1000);
  }

  #busy(): AuthFailure<'TOO_MANY_ATTEMPTS'> {
    return fail('TOO_MANY_ATTEMPTS', 'the server is busy checking passwords: try again in a moment', 1000);
  }
}
