import { CloseCode, type ErrorFrame } from '@chorus/protocol';

/** What ended a connection, as {@link explainClose} needs it. */
export interface CloseFacts {
  readonly code: number;
  readonly reason: string;
  /** The last error frame that announced a close, if one came just before. */
  readonly error: ErrorFrame | null;
  /** My client id. */
  readonly clientId: string;
  /** Whether the socket ever opened (if not, the server was unreachable). */
  readonly opened: boolean;
}

/** Why the connection closed, in words a person understands. */
export function explainClose({ code, reason, error, clientId, opened }: CloseFacts): string {
  const announced = error?.code;
  if (announced === 'CLIENT_ID_TAKEN' || code === CloseCode.CLIENT_ID_TAKEN) {
    return `Someone is already connected as “${clientId}”. Close the other tab or window, or choose another name.`;
  }
  if (announced === 'INVALID_CLIENT_ID' || code === CloseCode.INVALID_CLIENT_ID) {
    return `“${clientId}” cannot be used as a name: ${error?.message ?? (reason || 'the server refused it')}.`;
  }
  if (announced === 'SERVER_FULL' || code === CloseCode.TRY_AGAIN_LATER) return 'The server is full right now.';
  if (announced === 'SHUTTING_DOWN' || code === CloseCode.GOING_AWAY) return 'The server is restarting.';
  if (announced === 'INTERNAL' || code === CloseCode.INTERNAL_ERROR) return 'The server ran into a problem.';
  if (code === CloseCode.NORMAL) return 'The server ended the session.';
  if (code === 1006 || code === 1005) {
    return opened ? 'The connection to the server was lost.' : 'Cannot reach the chat server.';
  }
  const detail = error?.message ?? reason;
  return `The server closed the connection${detail ? `: ${detail}` : ''} (code ${code}).`;
}

/** Why the server refused a message of mine, in plain words. */
export function explainSendError(error: ErrorFrame, to: string | null): string {
  if (error.code === 'UNKNOWN_RECIPIENT') return `Not delivered: ${to ?? 'the recipient'} is not online.`;
  return `Not sent: ${error.message}.`;
}
