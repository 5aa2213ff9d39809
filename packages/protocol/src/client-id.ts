import { z } from 'zod';

/**
 * A client id: 1-64 letters, digits and `_ . - @`. No comma (the text protocol's
 * separator), no space and no slash (it travels in the URL path).
 */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

export const ClientId = z.string().regex(CLIENT_ID_PATTERN, 'client id must be 1-64 letters, digits or _ . - @');
export type ClientId = z.infer<typeof ClientId>;

/** What a name in the URL may hold, in plain words (a display name may hold anything printable). */
export const NAME_RULE = 'a name may use only letters A-Z a-z, digits and _ . - @ (no spaces)';

/** Explains why `id` is not a valid client id, or returns null when it is. */
export function clientIdProblem(id: string): string | null {
  // Said of the person's name, as they typed it (the id is the name in the URL).
  if (id.length === 0) return 'the name is empty';
  if (id.length > 64) return 'the name is longer than 64 characters';
  if (!CLIENT_ID_PATTERN.test(id)) return NAME_RULE;
  return null;
}
