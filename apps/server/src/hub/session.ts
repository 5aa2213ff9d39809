/**
 * One frame to a client: text, or its UTF-8 bytes (a fanout renders once and
 * hands every session the same Buffer). Either way it is a text frame.
 */
export type OutFrame = string | Buffer;

/**
 * One connected client as the hub sees it: no socket, no framework. The
 * transport adapter implements it (a WebSocket today).
 */
export interface Session {
  readonly clientId: string;
  /** Queues one text frame to the client. Never throws; a closed session drops it. */
  send(frame: OutFrame): void;
  /** Closes the connection with a close code and a short reason. */
  close(code: number, reason: string): void;
}
