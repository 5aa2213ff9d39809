import { z } from 'zod';

/**
 * A client id: 1-64 letters, digits and `_ . - @`. No comma (the text protocol's
 * separator), no space and no slash (it travels in the URL path).
 */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

export const ClientId = z.string().regex(CLIENT_ID_PATTERN, 'client id must be 1-64 letters, digits or _ . - @');
export type ClientId = z.infer<typeof ClientId>;

/** Explains why `id` is not a valid client id, or returns null when it is. */
export function clientIdProblem(id: string): string | null {
  if (id.length === 0) return 'client id is empty';
  if (id.length > 64) return 'client id is longer than 64 characters';
  if (!CLIENT_ID_PATTERN.test(id)) return 'client id may only contain letters, digits and _ . - @';
  return null;
}
