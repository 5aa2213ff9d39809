import type { Kysely, Selectable } from 'kysely';
import type { SessionsTable, StorageDatabase, UsersTable } from './schema.js';
import type { CreateUserResult, NewSession, NewUser, StoredSession, StoredUser } from './storage.js';
import { isStorableText } from './storable.js';

// The queries behind Storage's account and session methods, written once for
// SQLite and PostgreSQL. Those that write run inside the caller's transaction.

/**
 * The key two names share when they differ only in the case of ASCII letters.
 * Client ids are ASCII, so this is the same in every locale and on both engines.
 */
export function usernameKey(username: string): string {
  return username.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Throws when `user` holds a string or number the engines would not store exactly. */
export function assertStorableUser(user: NewUser): void {
  const { username, passwordHash, profile, createdAt } = user;
  for (const value of [username, passwordHash, profile.firstNames, profile.lastNames, profile.gender, profile.displayName]) {
    if (value !== null && !isStorableText(value)) throw new Error('account cannot be stored: text contains U+0000 or a lone surrogate');
  }
  if (profile.age !== null && !Number.isSafeInteger(profile.age)) throw new Error('account cannot be stored: age must be an integer');
  if (!Number.isSafeInteger(createdAt)) throw new Error('account cannot be stored: createdAt must be an integer (milliseconds)');
}

export async function insertUser(tx: Kysely<StorageDatabase>, user: NewUser): Promise<CreateUserResult> {
  // Both unique keys (the exact name and its case-folded key) are settled by
  // the database, so two processes registering one name at once cannot both win.
  const result = await tx
    .insertInto('users')
    .values({
      username: user.username,
      username_key: usernameKey(user.username),
      password_hash: user.passwordHash,
      first_names: user.profile.firstNames,
      last_names: user.profile.lastNames,
      age: user.profile.age,
      gender: user.profile.gender,
      display_name: user.profile.displayName,
      created_at: user.createdAt,
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1 ? { created: true } : { created: false, reason: 'exists' };
}

export function toStoredUser(row: Selectable<UsersTable>): StoredUser {
  return {
    username: row.username,
    passwordHash: row.password_hash,
    profile: {
      firstNames: row.first_names,
      lastNames: row.last_names,
      age: row.age === null ? null : Number(row.age),
      gender: row.gender,
      displayName: row.display_name,
    },
    createdAt: Number(row.created_at),
  };
}

export function toStoredSession(row: Selectable<SessionsTable>): StoredSession {
  return {
    id: row.id,
    username: row.username,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/** Revokes the account's live sessions at `at`, except `except` (when given); resolves with how many. */
export async function revokeSessionsOf(tx: Kysely<StorageDatabase>, username: string, at: number, except?: string): Promise<number> {
  let query = tx.updateTable('sessions').set({ revoked_at: at }).where('username', '=', username).where('revoked_at', 'is', null);
  if (except !== undefined) query = query.where('id', '!=', except);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function insertSession(tx: Kysely<StorageDatabase>, session: NewSession, keepAtMost?: number): Promise<void> {
  await tx
    .insertInto('sessions')
    .values({
      id: session.id,
      username: session.username,
      created_at: session.createdAt,
      expires_at: session.expiresAt,
      revoked_at: null,
    })
    .execute();
  if (keepAtMost === undefined) return;
  const at = session.createdAt;
  // The new session is always kept; of the others that are still live, the
  // newest keepAtMost - 1 are kept too (a tie in time is broken by id).
  await tx
    .updateTable('sessions')
    .set({ revoked_at: at })
    .where('username', '=', session.username)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', at)
    .where('id', '!=', session.id)
    .where('id', 'not in', (eb) =>
      eb
        .selectFrom('sessions')
        .select('id')
        .where('username', '=', session.username)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', at)
        .where('id', '!=', session.id)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(Math.max(0, Math.floor(keepAtMost) - 1)),
    )
    .execute();
}
