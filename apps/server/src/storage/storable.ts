import type { NewMessage } from './storage.js';

// A lone UTF-16 surrogate cannot be encoded as UTF-8 (both drivers would
// silently store U+FFFD instead), and PostgreSQL's text type cannot hold
// U+0000. With the `u` flag a valid surrogate pair is one code point, so
// \p{Cs} matches only lone halves.
const UNSTORABLE = /[\0\p{Cs}]/u;

/**
 * Why `message` cannot be stored exactly as given, or null when it can.
 * Checked before a batch is written so that one bad message fails alone
 * (GroupCommitWriter) or fails its batch before any SQL runs (`append`),
 * identically on SQLite and PostgreSQL.
 */
export function messageProblem(message: NewMessage): string | null {
  const strings = [message.id, message.conversation, message.from, message.to, message.room, message.text, message.ref];
  for (const value of strings) {
    if (value !== null && UNSTORABLE.test(value)) return 'text contains U+0000 or a lone surrogate';
  }
  // Timestamps are 64-bit integer columns: a fraction would be refused by
  // PostgreSQL and kept as a float by SQLite.
  if (!Number.isSafeInteger(message.sentAt) || !Number.isSafeInteger(message.serverAt)) {
    return 'sentAt and serverAt must be integers (milliseconds)';
  }
  return null;
}

/** Thrown for a message that cannot be stored (see `messageProblem`); retrying it does not help. */
export class UnstorableMessageError extends Error {
  constructor(
    readonly messageId: string,
    problem: string,
  ) {
    super(`message ${messageId} cannot be stored: ${problem}`);
    this.name = 'UnstorableMessageError';
  }
}

/** Throws UnstorableMessageError for the first message of `messages` that cannot be stored. */
export function assertStorable(messages: readonly NewMessage[]): void {
  for (const message of messages) {
    const problem = messageProblem(message);
    if (problem) throw new UnstorableMessageError(message.id, problem);
  }
}

/** Whether `value` can be stored exactly on both engines (no U+0000, no lone surrogate). */
export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}
