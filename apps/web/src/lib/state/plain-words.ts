import { CloseCode, type ErrorFrame } from '@chorus/protocol';
import { nameProblem } from '../name-words.js';

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
  if (announced === 'REPLACED' || code === CloseCode.REPLACED) {
    return `“${clientId}” is now in use in another tab or window, so this one was disconnected.`;
  }
  if (announced === 'INVALID_CLIENT_ID' || code === CloseCode.INVALID_CLIENT_ID) {
    return nameProblem(clientId) ?? `The server refused “${clientId}” as a name: ${error?.message ?? (reason || 'no reason given')}.`;
  }
  if (announced === 'AUTH_REQUIRED') return `“${clientId}” needs a password: sign in to chat under this name.`;
  if (announced === 'AUTH_FAILED' || code === CloseCode.AUTH_FAILED) {
    return reason === 'session expired' ? 'Your session expired: sign in again.' : 'You were signed out: sign in again.';
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
export function explainSendError(error: ErrorFrame, to: string | null, room: string | null = null): string {
  // Someone who was ever here gets private messages when they come back: this one never was.
  if (error.code === 'UNKNOWN_RECIPIENT') return `Not sent: no one called “${to ?? 'that'}” has ever been here.`;
  if (error.code === 'NOT_ROOM_MEMBER') return `Not sent: you are not in “${room ?? 'this room'}” any more.`;
  if (error.code === 'ROOM_NOT_FOUND') return `Not sent: the room “${room ?? ''}” no longer exists.`;
  return `Not sent: ${error.message}.`;
}

/** A room command of mine, as {@link explainRoomError} needs it. */
export type RoomAction = 'create' | 'join' | 'leave' | 'delete';

/** Why the server refused a room command of mine, in plain words. */
export function explainRoomError(error: ErrorFrame, action: RoomAction, room: string): string {
  switch (error.code) {
    case 'ROOM_EXISTS':
      return `There is already a room called “${room}”. Pick another name, or join it from the room list.`;
    case 'ROOM_NOT_FOUND':
      return `There is no room called “${room}” (it may have just been deleted).`;
    case 'NOT_ROOM_MEMBER':
      return `You are not in “${room}”.`;
    case 'NOT_ROOM_OWNER': {
      const owner = /belongs to (\S+)$/.exec(error.message)?.[1];
      return `Only the owner${owner ? `, ${owner},` : ''} can delete “${room}”.`;
    }
    case 'BAD_ROOM_NAME': {
      const detail = error.message.includes(': ') ? error.message.slice(error.message.indexOf(': ') + 2) : error.message;
      return `“${room}” cannot be used as a room name: ${detail}.`;
    }
    default:
      return `Could not ${action} “${room}”: ${error.message}.`;
  }
}

/** "alice is typing…", "alice and bob are typing…", …; null when nobody is. */
export function describeTyping(names: readonly string[]): string | null {
  if (names.length === 0) return null;
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length <= 3) return `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are typing…`;
  return `${names.length} people are typing…`;
}
