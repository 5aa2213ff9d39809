import { z } from 'zod';

/** Most files one message may carry (the server may be configured lower, never higher). */
export const MAX_FILES_PER_MESSAGE = 10;

/** An upload's id: 22 characters of base64url (16 random bytes). */
export const FileId = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'not a file id');
export type FileId = z.infer<typeof FileId>;

/**
 * A file as a message carries it: what a client shows (name, size, type, and an
 * image's size in pixels) and where to get it. `url` and `thumbnailUrl` are
 * paths on the chat server, signed and short-lived (`?e=<expiry ms>&s=<mac>`):
 * history and resume sign them again.
 */
export const FileInfo = z.strictObject({
  id: FileId,
  /** Sanitized (no path, no control characters); show it as text, never as HTML. */
  name: z.string().min(1).max(255),
  size: z.number().int().nonnegative(),
  /** Detected from the bytes (`application/octet-stream` when unknown), never the client's claim. */
  type: z.string().min(1).max(127),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  url: z.string().min(1),
  thumbnailUrl: z.string().min(1).optional(),
});
export type FileInfo = z.infer<typeof FileInfo>;

/** The answer to `POST /files` (201): the upload, ready to be sent in a message by its id. */
export const UploadedFile = FileInfo.extend({ expiresAt: z.number().int().nonnegative() });
export type UploadedFile = z.infer<typeof UploadedFile>;
