import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Session tokens: `v1.<session id>.<expiry>.<signature>`.
 *
 * - session id: 16 random bytes, base64url (22 characters); the key of the
 *   session row, so that revoking the row revokes the token;
 * - expiry: milliseconds since the epoch, decimal;
 * - signature: HMAC-SHA256 over `v1.<session id>.<expiry>`, base64url (43
 *   characters), keyed with a key derived from AUTH_SECRET for this purpose only.
 *
 * Every character is a letter, a digit, `-`, `_` or `.`: URL-safe, and a
 * valid HTTP token, so it can travel in the WebSocket subprotocol header
 * (`auth.<token>`) or an `Authorization: Bearer` header. It carries no user
 * name or other personal data; the user comes from the session row.
 */
const TOKEN = /^v1\.([A-Za-z0-9_-]{22})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/;

/** Longer than any token this version makes; anything longer is refused before a regex runs. */
export const MAX_TOKEN_LENGTH = 100;

/** A new random session id (128 bits, base64url). */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export type OpenedToken =
  | { readonly ok: true; readonly sessionId: string; readonly expiresAt: number }
  | { readonly ok: false; readonly problem: 'malformed' | 'signature' };

/** Signs and checks tokens with a key derived from the server's secret. */
export class TokenSigner {
  readonly #key: Buffer;

  constructor(secret: string) {
    // A key of its own for session tokens: the secret can key other things later
    // (one-time tickets, say) without a token of one kind passing for another.
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'chorus', 'chorus session token v1', 32));
  }

  /** The token of session `sessionId`, valid until `expiresAt` (ms since the epoch). */
  sign(sessionId: string, expiresAt: number): string {
    const body = `v1.${sessionId}.${expiresAt}`;
    return `${body}.${this.#mac(body).toString('base64url')}`;
  }

  /**
   * The session id and expiry of a token this signer made, or why it is not
   * one. Checks the form and the signature (in constant time); not the
   * expiry, nor the session.
   */
  open(token: string): OpenedToken {
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, problem: 'malformed' };
    const match = TOKEN.exec(token);
    if (!match) return { ok: false, problem: 'malformed' };
    const [, sessionId, expiry, signature] = match;
    const given = Buffer.from(signature!, 'base64url');
    const expected = this.#mac(`v1.${sessionId}.${expiry}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, problem: 'signature' };
    return { ok: true, sessionId: sessionId!, expiresAt: Number(expiry) };
  }

  #mac(body: string): Buffer {
    return createHmac('sha256', this.#key).update(body).digest();
  }
}
