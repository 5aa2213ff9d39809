import { z } from 'zod';

/**
 * A room name: 1-32 lowercase letters, digits and `_ . -` (names are
 * lowercased on input, so `General` and `general` are one room). No comma or
 * space, so a room name is one word in a text-protocol command.
 */
export const ROOM_NAME_PATTERN = /^[a-z0-9_.-]{1,32}$/;

/** Names that mean something else (the lobby) and cannot be created. */
export const RESERVED_ROOM_NAMES: ReadonlySet<string> = new Set(['everyone', 'lobby']);

export const RoomName = z
  .string()
  .transform((name) => name.toLowerCase())
  .pipe(z.string().regex(ROOM_NAME_PATTERN, 'room name must be 1-32 letters, digits or _ . -'));
export type RoomName = z.output<typeof RoomName>;

/** Explains why `name` (already lowercased) cannot name a room, or returns null when it can. */
export function roomNameProblem(name: string): string | null {
  if (name.length === 0) return 'room name is empty';
  if (name.length > 32) return 'room name is longer than 32 characters';
  if (!ROOM_NAME_PATTERN.test(name)) return 'room name may only contain letters, digits and _ . -';
  if (RESERVED_ROOM_NAMES.has(name)) return `"${name}" is reserved`;
  return null;
}

/** How long a typing indicator lasts without a refresh, in ms. Clients refresh at most every TYPING_REFRESH_MS. */
export const TYPING_TTL_MS = 6_000;
export const TYPING_REFRESH_MS = 3_000;
