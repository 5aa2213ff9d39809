import { nameProblem } from '../name-words.js';
import { sessionEndNotice } from './auth-words.js';
import type { StoredToken, TokenStore } from './token-store.js';

/** The tabs of the sign-in screen. */
export type SignInMode = 'sign-in' | 'sign-up' | 'guest';

/** What the sign-in screen starts with. */
export interface GatePrompt {
  readonly mode: SignInMode;
  /** The name the forms start with. */
  readonly name: string;
  /** Why the screen shows (signed out, session expired, a name that needs its password). */
  readonly notice: string | null;
  /** What is wrong with the name in the URL. */
  readonly problem: string | null;
}

/** Where a tab goes: a chat (as a guest, or with a token) or the sign-in screen. */
export type Entry =
  | { readonly kind: 'chat'; readonly id: string; readonly token: StoredToken | null }
  | ({ readonly kind: 'gate' } & GatePrompt);

/**
 * Where the tab goes for the id in its path (null on `/`):
 *
 * - `/`: the account signed in last, if its token is still valid and
 *   `continueLast` (a fresh page load); else the sign-in screen.
 * - a malformed id: the guest form, saying what is wrong with it.
 * - an id with a valid token kept: that account's chat.
 * - an id whose kept token has expired: the sign-in screen for it, saying so.
 * - any other id: a guest chat (the server answers AUTH_REQUIRED when the
 *   name belongs to an account, and the sign-in screen follows).
 */
export function entryFor(pathId: string | null, tokens: TokenStore, options: { continueLast: boolean }): Entry {
  if (pathId === null) {
    const last = options.continueLast ? tokens.lastUser() : null;
    const token = last === null ? null : tokens.get(last);
    if (token) return { kind: 'chat', id: token.username, token };
    return { kind: 'gate', mode: 'sign-in', name: '', notice: null, problem: null };
  }
  const problem = nameProblem(pathId);
  if (problem) return { kind: 'gate', mode: 'guest', name: pathId, notice: null, problem };
  const found = tokens.lookup(pathId);
  if (found.status === 'valid') return { kind: 'chat', id: pathId, token: found.token };
  if (found.status === 'expired') {
    return { kind: 'gate', mode: 'sign-in', name: pathId, notice: sessionEndNotice('expired', pathId), problem: null };
  }
  return { kind: 'chat', id: pathId, token: null };
}

/** How a chat session's connection was refused or ended for want of a valid token. */
export interface AuthEnding {
  /** The error frame that announced it, if one did. */
  readonly error: 'AUTH_REQUIRED' | 'AUTH_FAILED' | null;
  /** The close reason ("signed out", "session expired", …). */
  readonly reason: string;
}

/**
 * Where a tab goes once the server refused or ended the session of `id`
 * (4401). `used` is the token the session had (null: a guest). The used token
 * is forgotten here; if another tab has signed in again meanwhile, its newer
 * token is used at once.
 */
export function entryAfterAuthEnded(id: string, used: StoredToken | null, ending: AuthEnding, tokens: TokenStore, now: number): Entry {
  if (used === null) {
    return { kind: 'gate', mode: 'sign-in', name: id, notice: sessionEndNotice('password-needed', id), problem: null };
  }
  tokens.forget(id, used.token);
  const fresh = tokens.get(id);
  if (fresh && fresh.token !== used.token) return { kind: 'chat', id, token: fresh };
  const expired = ending.reason === 'session expired' || used.expiresAt <= now;
  return { kind: 'gate', mode: 'sign-in', name: id, notice: sessionEndNotice(expired ? 'expired' : 'signed-out', id), problem: null };
}
