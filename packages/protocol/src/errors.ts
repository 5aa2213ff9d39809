import { CloseCode } from './close-codes.js';

interface ErrorSpec {
  /** What a person reads; stable enough to show in a UI. */
  readonly message: string;
  /** Whether sending the same thing again later can succeed. */
  readonly retryable: boolean;
  /** The close code when this error ends the connection. */
  readonly close?: CloseCode;
  /** The HTTP status when this error is answered over HTTP. */
  readonly status?: number;
}

/**
 * Every error the server reports, by stable code. The JSON protocol's error
 * frame carries the code; docs/protocol.md lists the same table (a test checks).
 */
export const ERRORS = {
  BAD_JSON: { message: 'frame is not valid JSON', retryable: false },
  BAD_FRAME: { message: 'frame does not match the protocol', retryable: false },
  BINARY_UNSUPPORTED: { message: 'binary frames are not supported', retryable: false },
  UNKNOWN_RECIPIENT: { message: 'recipient is not connected', retryable: true },
  BAD_ROOM_NAME: { message: 'invalid room name', retryable: false },
  ROOM_NOT_FOUND: { message: 'no such room', retryable: false },
  ROOM_EXISTS: { message: 'a room with this name already exists', retryable: false },
  NOT_ROOM_MEMBER: { message: 'you are not a member of this room', retryable: false },
  NOT_ROOM_OWNER: { message: 'only the owner can delete this room', retryable: false },
  UNKNOWN_COMMAND: { message: 'unknown command', retryable: false },
  BAD_COMMAND: { message: 'usage', retryable: false },
  NOT_IN_CONVERSATION: { message: 'you are not part of this conversation', retryable: false },
  STORAGE_FAILED: { message: 'the message could not be stored; send it again', retryable: true },
  ID_REUSED: { message: 'this id was already used for another message: give each new message a new id', retryable: false },
  UNKNOWN_MESSAGE: { message: 'no such message', retryable: false },
  NOT_YOUR_MESSAGE: { message: 'you can only edit your own messages', retryable: false },
  NOT_ALLOWED: { message: 'only its sender or the room owner can delete this message', retryable: false },
  MESSAGE_DELETED: { message: 'this message was deleted', retryable: false },
  BAD_EMOJI: { message: 'not a reaction emoji', retryable: false },
  TOO_LONG: { message: 'text is too long', retryable: false },
  SERVER_FULL: { message: 'Server full', retryable: true, close: CloseCode.TRY_AGAIN_LATER, status: 503 },
  INVALID_CLIENT_ID: { message: 'invalid client id', retryable: false, close: CloseCode.INVALID_CLIENT_ID, status: 400 },
  CLIENT_ID_TAKEN: {
    message: 'this client id is already connected',
    retryable: false,
    close: CloseCode.CLIENT_ID_TAKEN,
    status: 409,
  },
  REPLACED: {
    message: 'this client id was taken over by another connection',
    retryable: false,
    close: CloseCode.REPLACED,
  },
  RATE_LIMITED: { message: 'too many frames: slow down', retryable: true },
  FLOODING: { message: 'too many frames after a warning', retryable: false, close: CloseCode.POLICY_VIOLATION },
  TOO_MANY_CONNECTIONS: {
    message: 'too many connections from this address',
    retryable: true,
    close: CloseCode.TRY_AGAIN_LATER,
    status: 429,
  },
  ORIGIN_NOT_ALLOWED: { message: 'this origin may not connect', retryable: false, status: 403 },
  TOO_MANY_UPGRADES: { message: 'too many connection attempts from this address', retryable: true, status: 429 },
  UPGRADE_REQUIRED: { message: 'connect with a WebSocket client', retryable: false, status: 426 },
  SLOW_CONSUMER: { message: 'too slow to read: reconnect and resume', retryable: true, close: CloseCode.SLOW_CONSUMER },
  AUTH_REQUIRED: { message: 'sign in first: this requires a token', retryable: false, close: CloseCode.AUTH_FAILED, status: 401 },
  AUTH_FAILED: { message: 'wrong username, password or token', retryable: false, close: CloseCode.AUTH_FAILED, status: 401 },
  USERNAME_TAKEN: { message: 'this username is taken', retryable: false, status: 409 },
  WEAK_PASSWORD: { message: 'password must be 8-256 characters', retryable: false, status: 400 },
  WRONG_PASSWORD: { message: 'the current password is wrong', retryable: false, status: 403 },
  TOO_MANY_ATTEMPTS: { message: 'too many attempts: try again later', retryable: true, status: 429 },
  INVALID_REQUEST: { message: 'request does not match the API', retryable: false, status: 400 },
  UNAVAILABLE: {
    message: 'the chat service is reconnecting to its shared state: try again in a moment',
    retryable: true,
    close: CloseCode.TRY_AGAIN_LATER,
    status: 503,
  },
  FILE_NOT_FOUND: { message: 'no such file, or not yours to share or see', retryable: false, status: 404 },
  FILE_ALREADY_SHARED: { message: 'this upload was shared with another message: upload it again', retryable: false, status: 409 },
  TOO_MANY_FILES: { message: 'too many files in one message', retryable: false, status: 400 },
  FILE_TOO_LARGE: { message: 'the file is larger than the limit', retryable: false, status: 413 },
  UPLOADS_LIMITED: { message: 'too many uploads: try again in a minute', retryable: true, status: 429 },
  IMAGE_TOO_LARGE: { message: 'the image has too many pixels', retryable: false, status: 422 },
  FILE_ACCESS_DENIED: { message: 'this file belongs to a conversation you are not part of', retryable: false, status: 403 },
  FILES_UNAVAILABLE: { message: 'this server does not take files', retryable: false, status: 404 },
  SHUTTING_DOWN: { message: 'server is restarting', retryable: true, close: CloseCode.GOING_AWAY, status: 503 },
  INTERNAL: { message: 'internal server error', retryable: true, close: CloseCode.INTERNAL_ERROR, status: 500 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];
