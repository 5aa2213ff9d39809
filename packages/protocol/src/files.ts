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

/** Sizes as people read them: 1000-based (a "120 KB" photo), one decimal under ten. The text protocol's lines and the browser say the same. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value)} ${units[unit]}`;
}
