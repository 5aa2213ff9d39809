import type { ErrorCode, FileInfo } from '@chorus/protocol';

export type { FileInfo };

/** What a welcome tells a client about uploads. */
export interface UploadGrant {
  readonly ticket: string;
  readonly expiresAt: number;
  readonly maxBytes: number;
  readonly maxFilesPerMessage: number;
}

/**
 * Files shared in messages, as the hub sees them (files/attachments.ts
 * implements it over a catalog and a store; the hub knows neither HTTP nor
 * where bytes live). Every method may be called on any node.
 */
export interface MessageFiles {
  /** The upload ticket and limits for a client that just connected. */
  grant(clientId: string): UploadGrant;
  /**
   * Whether `from` may share these uploads in a new message: each is its own
   * upload, not yet shared (or shared with the message of this `ref`: a
   * retried send), and there are not too many. Resolves with a refusal to answer, or null.
   */
  check(from: string, ids: readonly string[], ref: string | undefined): Promise<{ code: ErrorCode; detail: string } | null>;
  /** Shares the uploads with a stored message and returns what the message carries. */
  attach(from: string, message: { id: string; ref: string | null; conversation: string }, ids: readonly string[]): Promise<FileInfo[]>;
  /** What stored messages carry, by message id (messages without files are absent). */
  ofMessages(messageIds: readonly string[]): Promise<Map<string, FileInfo[]>>;
  /** A room was deleted: its files go with it (in the background; failures are logged). */
  roomDeleted(room: string): void;
  /** A message was deleted: its files go with it (in the background; failures are logged). */
  messageDeleted(messageId: string): void;
}
