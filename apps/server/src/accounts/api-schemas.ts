import { CLIENT_ID_PATTERN, DisplayName } from '@chorus/protocol';
import { z } from 'zod';
import type { StoredUser, UserProfile } from '../storage/index.js';

// The bodies of the HTTP API (plugins/auth-routes.ts). Unknown fields are
// refused, as in the JSON protocol. Passwords are only bounded here (so that a
// megabyte is never hashed); their rules are checked by Accounts and answered
// with WEAK_PASSWORD.

/** Longest password string accepted in a body at all (the rules allow 256 characters). */
const MAX_PASSWORD_INPUT = 1024;

// A letter of a name may be anything printable: no control characters, no
// lone surrogates, no U+0000 (which storage could not keep).
const printable = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine((s) => s.isWellFormed() && !/\p{Cc}/u.test(s), 'must be printable text')
    // An empty string means "not given".
    .transform((s) => (s === '' ? null : s));

/** The optional profile: first names, last names, age and gender, each may be null or absent. */
export const ProfileInput = z.strictObject({
  firstNames: printable(100).nullish(),
  lastNames: printable(100).nullish(),
  age: z.number().int().min(0).max(150).nullish(),
  gender: printable(32).nullish(),
  displayName: DisplayName.nullish(),
});

/** POST /auth/display-name: a display name, or null to show the username again. */
export const DisplayNameBody = z.strictObject({
  displayName: DisplayName.nullable(),
});

/** At most this many names per lookup (a page asks for those it shows). */
export const MAX_NAMES_PER_LOOKUP = 200;

/** GET /auth/names?ids=a,b,c: comma-separated usernames (commas never occur in one). */
export const NamesQuery = z.strictObject({
  ids: z
    .string()
    .max(MAX_NAMES_PER_LOOKUP * 65)
    .transform((s) => (s === '' ? [] : s.split(',')))
    .pipe(
      z
        .array(z.string().regex(CLIENT_ID_PATTERN, 'each id must be a username'))
        .max(MAX_NAMES_PER_LOOKUP, `at most ${MAX_NAMES_PER_LOOKUP} ids per lookup`),
    ),
});

export const RegisterBody = z.strictObject({
  username: z.string().max(256),
  password: z.string().max(MAX_PASSWORD_INPUT),
  profile: ProfileInput.optional(),
});

export const LoginBody = z.strictObject({
  username: z.string().min(1).max(256),
  password: z.string().max(MAX_PASSWORD_INPUT),
});

export const ChangePasswordBody = z.strictObject({
  currentPassword: z.string().max(MAX_PASSWORD_INPUT),
  newPassword: z.string().max(MAX_PASSWORD_INPUT),
});

/** A profile from a parsed body, absent fields as null. */
export function toProfile(input: z.output<typeof ProfileInput> | undefined): UserProfile {
  return {
    firstNames: input?.firstNames ?? null,
    lastNames: input?.lastNames ?? null,
    age: input?.age ?? null,
    gender: input?.gender ?? null,
    displayName: input?.displayName ?? null,
  };
}

/** An account as the API shows it to its owner: never the password hash. */
export interface PublicUser {
  readonly username: string;
  readonly profile: UserProfile;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

export function toPublicUser(user: StoredUser): PublicUser {
  return { username: user.username, profile: { ...user.profile }, createdAt: user.createdAt };
}

/** The first problem of a failed parse, as `field: reason` (never the value, which may be a password). */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid body';
  const path = issue.path.join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
