/**
 * WebSocket close codes with fixed meanings. A client reconnects (with backoff)
 * after codes marked `reconnect: true`; the others are terminal until the user
 * changes something (a different id, a fixed client).
 */
export const CloseCode = {
  /** The client or server ended the session on purpose. */
  NORMAL: 1000,
  /** The server is shutting down or restarting: reconnect. */
  GOING_AWAY: 1001,
  /** The client sent data the protocol cannot accept (terminal). */
  UNSUPPORTED_DATA: 1003,
  /** The client broke a rule it was told about (terminal). */
  POLICY_VIOLATION: 1008,
  /** A frame was larger than the server accepts (terminal for that frame's sender). */
  MESSAGE_TOO_BIG: 1009,
  /** The server failed unexpectedly: reconnect. */
  INTERNAL_ERROR: 1011,
  /** The server lost deliveries it owed this client (its message bus was interrupted): reconnect and resume. */
  SERVICE_RESTART: 1012,
  /** The server is full: reconnect later, with backoff. */
  TRY_AGAIN_LATER: 1013,
  /** The client id in the path is not valid (terminal). */
  INVALID_CLIENT_ID: 4400,
  /** No valid token for this id: sign in again (terminal until the client has a new token). */
  AUTH_FAILED: 4401,
  /** Another connection already uses this client id (terminal). */
  CLIENT_ID_TAKEN: 4409,
  /**
   * Another connection took this client id over (it connected with `?takeover=1`):
   * terminal, so that two tabs do not take it back and forth by themselves; the
   * person may take it back on purpose.
   */
  REPLACED: 4410,
  /** The client did not read fast enough and the server stopped buffering for it: reconnect and resume. */
  SLOW_CONSUMER: 4500,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

const TERMINAL: ReadonlySet<number> = new Set([
  CloseCode.NORMAL,
  CloseCode.UNSUPPORTED_DATA,
  CloseCode.POLICY_VIOLATION,
  CloseCode.MESSAGE_TOO_BIG,
]);

/** True when a client should reconnect (with backoff) after the server closed with `code`. */
export function shouldReconnect(code: number): boolean {
  if (code >= 4000 && code <= 4499) return false;
  return !TERMINAL.has(code);
}
