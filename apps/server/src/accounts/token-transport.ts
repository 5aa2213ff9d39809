import { MAX_TOKEN_LENGTH } from './tokens.js';

/**
 * The WebSocket subprotocol that carries a token: a browser cannot set headers
 * on a WebSocket, and a token in the URL would land in access logs and
 * history, so the client offers `auth.<token>` next to its real protocol:
 * `new WebSocket(url, ['chorus.v1', 'auth.' + token])`. The server never
 * selects it (it answers with the real protocol, or none).
 */
export const AUTH_SUBPROTOCOL_PREFIX = 'auth.';

/**
 * The token in a list of offered subprotocols (`Sec-WebSocket-Protocol`), or
 * undefined when none is offered. More than one `auth.` entry is ambiguous
 * and gives '' (which fails verification as malformed).
 */
export function tokenFromProtocols(offered: Iterable<string>): string | undefined {
  let token: string | undefined;
  for (const protocol of offered) {
    if (!protocol.startsWith(AUTH_SUBPROTOCOL_PREFIX)) continue;
    if (token !== undefined) return '';
    token = protocol.slice(AUTH_SUBPROTOCOL_PREFIX.length);
  }
  return token;
}

/**
 * The token of an `Authorization: Bearer <token>` header, undefined when the
 * header is absent, '' when it is present but not a bearer token of a sane size.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match || match[1]!.length > MAX_TOKEN_LENGTH) return '';
  return match[1];
}
