import { z } from 'zod';

/**
 * A display name: what people see instead of the id in the URL. Any script and
 * spaces are allowed ("Ana María", "Дмитрий Шостакович", "João"), 1 to 64
 * characters (code points, after NFC), with no control characters, no
 * zero-width or invisible format characters, and no bidirectional controls
 * (which could make a name display as someone else's, or reverse the text
 * around it). Surrounding spaces are dropped and runs of spaces become one.
 */
export const DISPLAY_NAME_MAX = 64;

// Cc: controls (tabs and newlines too). Cf: format characters, among them the
// bidi embeddings, overrides and isolates (U+202A-E, U+2066-9), the marks
// U+200E/F and U+061C, zero-width spaces and joiners, and the BOM. Zero-width
// joiner (U+200D) is Cf as well: emoji sequences that use it are refused,
// which keeps names free of invisible differences. Co/Cn: private use and
// unassigned code points, which render differently everywhere.
const INVISIBLE_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;

/** The stored form of a display name: NFC, trimmed, inner runs of white space as one space. */
export function normalizeDisplayName(name: string): string {
  return name.normalize('NFC').trim().replace(/\s+/gu, ' ');
}

/** Explains, in plain words, why `name` (before normalizing) cannot be a display name; null when it can. */
export function displayNameProblem(name: string): string | null {
  if (!name.isWellFormed()) return 'the name holds a broken character (a lone surrogate)';
  const normalized = normalizeDisplayName(name);
  if (normalized.length === 0) return 'the name is empty';
  if (INVISIBLE_OR_CONTROL.test(normalized)) {
    return 'the name holds an invisible or control character (such as a direction mark or a zero-width space)';
  }
  const length = [...normalized].length;
  if (length > DISPLAY_NAME_MAX) return `the name is ${length} characters long; at most ${DISPLAY_NAME_MAX} are allowed`;
  return null;
}

/** A display name as a zod schema: validated, then normalized. */
export const DisplayName = z
  .string()
  .max(1024)
  .superRefine((value, ctx) => {
    const problem = displayNameProblem(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform(normalizeDisplayName);
