import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Accounts, type AccountsOptions, type AttemptLimits, type Revocation } from '../../apps/server/src/accounts/accounts.js';
import { AttemptLimiter } from '../../apps/server/src/accounts/attempt-limiter.js';
import {
  DEFAULT_SCRYPT_PARAMS,
  HasherBusyError,
  PasswordHasher,
  passwordProblem,
  type ScryptParams,
} from '../../apps/server/src/accounts/passwords.js';
import { bearerToken, tokenFromProtocols } from '../../apps/server/src/accounts/token-transport.js';
import { TokenSigner } from '../../apps/server/src/accounts/tokens.js';
import { openStorage, type Storage } from '../../apps/server/src/storage/index.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hmac';
const FAST: ScryptParams = { ...DEFAULT_SCRYPT_PARAMS, logN: 10 };
const NO_PROFILE = { firstNames: null, lastNames: null, age: null, gender: null, displayName: null };
const IP = '192.0.2.1';

/** A fresh SQLite storage, closed and removed at teardown. */
async function tempStorage(t: Test): Promise<Storage> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-accounts-'));
  const storage = await openStorage({ dataDir: dir });
  t.teardown(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });
  return storage;
}

/** A hasher that counts how many hashes it computes (to compare the work done for known and unknown names). */
class CountingHasher extends PasswordHasher {
  hashes = 0;
  verifies = 0;
  override async hash(password: string): Promise<string> {
    this.hashes++;
    return super.hash(password);
  }
  override async verify(password: string, encoded: string): Promise<boolean> {
    this.verifies++;
    return super.verify(password, encoded);
  }
}

interface Fixture {
  accounts: Accounts;
  storage: Storage;
  hasher: CountingHasher;
  /** The injected clock's current time; advance it to move time. */
  now: { ms: number };
}

async function fixture(t: Test, options: Partial<AccountsOptions> & { limits?: AttemptLimits } = {}): Promise<Fixture> {
  const storage = await tempStorage(t);
  const now = { ms: 1_800_000_000_000 };
  const hasher = new CountingHasher(FAST);
  const accounts = new Accounts({
    storage,
    secret: SECRET,
    tokenTtlMs: 3_600_000,
    mode: 'open',
    clock: () => now.ms,
    hasher,
    ...options,
  });
  return { accounts, storage, hasher, now };
}

async function registered(f: Fixture, username: string, password = 'correct horse') {
  const result = await f.accounts.register({ username, password, profile: NO_PROFILE }, IP);
  if (!result.ok) throw new Error(`register ${username}: ${result.error}`);
  return result;
}

t.test('passwords', async (t) => {
  t.test('scrypt hashes are self-describing, salted and checked in constant time', async (t) => {
    const hasher = new PasswordHasher();
    const hash = await hasher.hash('correct horse battery');
    t.match(
      hash,
      /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
      'PHC format: N=2^15, r=8, p=1, 16-byte salt, 32-byte key',
    );
    t.not(await hasher.hash('correct horse battery'), hash, 'a fresh salt each time');
    t.equal(await hasher.verify('correct horse battery', hash), true);
    t.equal(await hasher.verify('correct horse batterY', hash), false);
    t.equal(hasher.needsRehash(hash), false);
  });

  t.test('NFC: one password however its accents are composed', async (t) => {
    const hasher = new PasswordHasher(FAST);
    const hash = await hasher.hash('caf\u00e9-cr\u00e8me');
    t.equal(await hasher.verify('cafe\u0301-cre\u0300me', hash), true);
  });

  t.test('old parameters still verify and ask for a rehash; malformed or absurd hashes never match', async (t) => {
    const old = await new PasswordHasher(FAST).hash('password1');
    const current = new PasswordHasher({ ...FAST, logN: 11 });
    t.equal(await current.verify('password1', old), true);
    t.equal(current.needsRehash(old), true);
    for (const bad of [
      '',
      'plaintext',
      old.replace('$scrypt$', '$argon2id$'),
      old.replace('ln=10', 'ln=30'), // 2^30: refused, not attempted
      old.replace('r=8', 'r=99'),
      old.slice(0, -25), // a key shorter than 16 bytes
      `${old}$extra`,
      old.replace(/\$[^$]+$/, '$!!!!'),
    ]) {
      t.equal(await current.verify('password1', bad), false, `refused: ${JSON.stringify(bad.slice(0, 40))}`);
      t.equal(current.needsRehash(bad), true);
    }
  });

  t.test('the queue of hashes is bounded', async (t) => {
    const hasher = new PasswordHasher(FAST, { maxConcurrent: 1, maxQueued: 1 });
    const results = await Promise.allSettled([hasher.hash('password1'), hasher.hash('password2'), hasher.hash('password3')]);
    t.same(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    t.type((results[2] as PromiseRejectedResult).reason, HasherBusyError);
    t.match(await hasher.hash('password4'), /^\$scrypt\$/, 'free again afterwards');
  });

  t.test('rules: 8-256 characters (code points), not the username', async (t) => {
    t.match(passwordProblem('1234567'), /at least 8/);
    t.equal(passwordProblem('12345678'), null);
    t.equal(passwordProblem('x'.repeat(256)), null);
    t.match(passwordProblem('x'.repeat(257)), /at most 256/);
    t.equal(passwordProblem('😀'.repeat(8)), null, 'eight emoji are eight characters');
    t.match(passwordProblem('😀'.repeat(4)), /at least 8/, 'not sixteen UTF-16 units');
    t.match(passwordProblem('Alice.Smith', 'alice.smith'), /not be the username/);
    t.match(passwordProblem('abcdefgh\ud800'), /surrogate/);
  });
});

t.test('tokens', async (t) => {
  const signer = new TokenSigner(SECRET);
  const token = signer.sign('AAAAAAAAAAAAAAAAAAAAAA', 1_800_000_000_000);

  t.test('URL-safe, no comma or space, a valid subprotocol token, no personal data', async (t) => {
    t.match(token, /^v1\.[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}$/);
    t.notMatch(token, /[, /+=]/);
    t.same(signer.open(token), { ok: true, sessionId: 'AAAAAAAAAAAAAAAAAAAAAA', expiresAt: 1_800_000_000_000 });
  });

  t.test('any change breaks the signature; another secret does not verify', async (t) => {
    const [v, sid, exp, sig] = token.split('.') as [string, string, string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const tampered of [
      [v, flip(sid, 0), exp, sig].join('.'),
      [v, sid, String(Number(exp) + 1), sig].join('.'),
      [v, sid, exp, flip(sig, 5)].join('.'),
    ]) {
      t.same(signer.open(tampered), { ok: false, problem: 'signature' });
    }
    t.same(new TokenSigner(`${SECRET}!`).open(token), { ok: false, problem: 'signature' });
  });

  t.test('anything that is not a token is malformed', async (t) => {
    for (const bad of ['', 'v1', token.replace('v1.', 'v2.'), `${token}.x`, `${token}=`, ` ${token}`, 'x'.repeat(10_000)]) {
      t.same(signer.open(bad), { ok: false, problem: 'malformed' });
    }
  });

  t.test('transports: subprotocol list and bearer header', async (t) => {
    t.equal(tokenFromProtocols(['chorus.v1', `auth.${token}`]), token);
    t.equal(tokenFromProtocols(['chorus.v1']), undefined);
    t.equal(tokenFromProtocols([`auth.${token}`, 'auth.other']), '', 'two tokens are ambiguous');
    t.equal(bearerToken(`Bearer ${token}`), token);
    t.equal(bearerToken(`bearer  ${token}`), token);
    t.equal(bearerToken(undefined), undefined);
    t.equal(bearerToken('Basic dXNlcjpwYXNz'), '');
    t.equal(bearerToken(`Bearer ${'x'.repeat(500)}`), '');
  });
});

t.test('attempt limiter: fixed windows on an injected clock, bounded memory', async (t) => {
  let now = 0;
  const limiter = new AttemptLimiter({ max: 3, windowMs: 1000, clock: () => now, maxKeys: 3 });
  limiter.hit('a');
  now = 100;
  limiter.hit('a');
  t.equal(limiter.blockedFor('a'), 0, 'below the limit');
  limiter.hit('a');
  t.equal(limiter.blockedFor('a'), 900, 'blocked until the window that opened at 0 closes');
  t.equal(limiter.blockedFor('b'), 0, 'other keys are unaffected');
  limiter.undo('a');
  t.equal(limiter.blockedFor('a'), 0, 'undo takes one back');
  limiter.hit('a');
  now = 1000;
  t.equal(limiter.blockedFor('a'), 0, 'a new window');
  limiter.hit('a');
  limiter.reset('a');
  t.equal(limiter.size, 0);
  for (const key of ['k1', 'k2', 'k3', 'k4']) limiter.hit(key);
  t.equal(limiter.size, 3, 'at most maxKeys keys: the oldest is forgotten');
  t.equal(limiter.blockedFor('k1'), 0);
});

t.test('attempt limiter: a full limiter forgets the expired windows, then the oldest eighth, in one go', async (t) => {
  let now = 0;
  const limiter = new AttemptLimiter({ max: 1, windowMs: 1000, clock: () => now, maxKeys: 16 });
  for (let i = 0; i < 6; i++) limiter.hit(`old${i}`);
  now = 500;
  for (let i = 0; i < 10; i++) limiter.hit(`new${i}`);
  t.equal(limiter.size, 16, 'full');
  now = 1200;
  limiter.hit('late');
  t.equal(limiter.size, 11, 'all 6 expired windows went at once, none of the live ones');
  t.ok(limiter.blockedFor('new0') > 0, 'the live windows still block');
  for (let i = 0; i < 5; i++) limiter.hit(`more${i}`);
  t.equal(limiter.size, 16, 'full again');
  limiter.hit('one-more');
  t.equal(limiter.size, 15, 'nothing expired: the two oldest (an eighth of 16) went, then the new key came in');
  t.equal(limiter.blockedFor('new0'), 0, 'the oldest is forgotten');
  t.equal(limiter.blockedFor('new1'), 0);
  t.ok(limiter.blockedFor('new2') > 0, 'the next oldest is kept');
  t.ok(limiter.blockedFor('one-more') > 0);
});

t.test('register, sign in, verify, sign out', async (t) => {
  const f = await fixture(t);
  const profile = { firstNames: 'Ada', lastNames: 'Lovelace', age: 36, gender: 'female', displayName: null };
  const reg = await f.accounts.register({ username: 'ada', password: 'analytical engine', profile }, IP);
  t.ok(reg.ok);
  if (!reg.ok) return;
  t.same(reg.user, { username: 'ada', profile, createdAt: f.now.ms });
  t.equal(reg.expiresAt, f.now.ms + 3_600_000);
  t.notMatch((await f.storage.findUser('ada'))!.passwordHash, /analytical/, 'only the hash is stored');

  const check = await f.accounts.verifyToken(reg.token);
  t.match(check, { ok: true, user: 'ada', expiresAt: reg.expiresAt });

  t.match(await f.accounts.register({ username: 'ada', password: 'another password', profile: NO_PROFILE }, IP), {
    ok: false,
    error: 'USERNAME_TAKEN',
  });
  t.match(await f.accounts.register({ username: 'ADA', password: 'another password', profile: NO_PROFILE }, IP), {
    ok: false,
    error: 'USERNAME_TAKEN',
  });
  t.match(await f.accounts.register({ username: 'bad name', password: 'another password', profile: NO_PROFILE }, IP), {
    ok: false,
    error: 'INVALID_CLIENT_ID',
  });
  t.match(await f.accounts.register({ username: 'bob', password: 'short', profile: NO_PROFILE }, IP), {
    ok: false,
    error: 'WEAK_PASSWORD',
  });

  const login = await f.accounts.login('ada', 'analytical engine', IP);
  t.ok(login.ok);
  if (!login.ok) return;
  t.not(login.token, reg.token, 'a session per sign-in');
  const revocations: Revocation[] = [];
  f.accounts.onRevoked((r) => revocations.push(r));
  const identity = (await f.accounts.verifyToken(login.token)) as { user: string; sessionId: string };
  t.equal(await f.accounts.sessionLive(identity.sessionId), true);
  t.equal(await f.accounts.logout(identity), true);
  t.equal(await f.accounts.logout(identity), false, 'already revoked');
  t.same(revocations, [{ user: 'ada', sessionId: identity.sessionId }], 'listeners hear of it once');
  t.equal(await f.accounts.sessionLive(identity.sessionId), false);
  t.match(await f.accounts.verifyToken(login.token), { ok: false, error: 'AUTH_FAILED', reason: 'revoked' });
  t.match(await f.accounts.verifyToken(reg.token), { ok: true }, 'the other session is untouched');
});

t.test('expiry follows the injected clock', async (t) => {
  const f = await fixture(t);
  const reg = await registered(f, 'eve');
  f.now.ms += 3_600_000 - 1;
  t.match(await f.accounts.verifyToken(reg.token), { ok: true });
  f.now.ms += 1;
  t.match(await f.accounts.verifyToken(reg.token), { ok: false, error: 'AUTH_FAILED', reason: 'expired' });
  t.equal(await f.accounts.sessionLive(reg.token.split('.')[1]!), false, 'sessionLive agrees');
});

t.test('a forged session id or a token from another secret fails', async (t) => {
  const f = await fixture(t);
  await registered(f, 'frank');
  const forged = new TokenSigner(SECRET).sign('BBBBBBBBBBBBBBBBBBBBBB', f.now.ms + 1000);
  t.match(await f.accounts.verifyToken(forged), { ok: false, reason: 'unknown-session' });
  const foreign = new TokenSigner('some-other-secret-that-is-long-enough!').sign('BBBBBBBBBBBBBBBBBBBBBB', f.now.ms + 1000);
  t.match(await f.accounts.verifyToken(foreign), { ok: false, reason: 'signature' });
});

t.test('unknown names and wrong passwords: same answer, same work', async (t) => {
  const f = await fixture(t);
  await registered(f, 'grace');
  await f.accounts.login('warm-up', 'whatever1', IP); // computes the dummy hash once
  const before = { ...f.hasher };
  const unknown = await f.accounts.login('nobody', 'whatever1', IP);
  const afterUnknown = { hashes: f.hasher.hashes, verifies: f.hasher.verifies };
  const wrong = await f.accounts.login('grace', 'whatever1', IP);
  const invalid = await f.accounts.login('not a valid id', 'whatever1', IP);
  t.same(unknown, wrong);
  t.same(unknown, invalid);
  t.match(unknown, { ok: false, error: 'AUTH_FAILED' });
  t.same(
    [afterUnknown.verifies - before.verifies, f.hasher.verifies - afterUnknown.verifies],
    [1, 2],
    'one scrypt check per attempt, whether the account exists or not',
  );
  t.equal(f.hasher.hashes, before.hashes, 'no extra hashing for unknown names');
});

t.test('sign-in limits per account and per address', async (t) => {
  const limits = { failuresPerAccount: 3, failuresPerIp: 5, registrationsPerIp: 100, windowMs: 60_000 };
  const f = await fixture(t, { limits });
  await registered(f, 'heidi');
  await registered(f, 'ivan');
  for (let i = 0; i < 3; i++) t.match(await f.accounts.login('heidi', 'wrong password', IP), { error: 'AUTH_FAILED' });
  const locked = await f.accounts.login('heidi', 'correct horse', IP);
  t.match(locked, { ok: false, error: 'TOO_MANY_ATTEMPTS', retryAfterMs: 60_000 }, 'even the right password waits');
  t.match(
    await f.accounts.login('HEIDI', 'wrong password', '198.51.100.7'),
    { error: 'TOO_MANY_ATTEMPTS' },
    'per account, from any address and in any case',
  );
  t.match(await f.accounts.login('ivan', 'correct horse', IP), { ok: true }, 'other accounts are unaffected');

  f.now.ms += 60_000;
  t.match(await f.accounts.login('heidi', 'correct horse', IP), { ok: true }, 'the window closed');

  // Per address: failures over many accounts.
  const other = '203.0.113.9';
  for (let i = 0; i < 5; i++) t.match(await f.accounts.login(`someone${i}`, 'wrong password', other), { error: 'AUTH_FAILED' });
  t.match(await f.accounts.login('ivan', 'correct horse', other), { error: 'TOO_MANY_ATTEMPTS' }, 'the address is blocked');
  t.match(await f.accounts.login('ivan', 'correct horse', IP), { ok: true }, 'other addresses are not');
});

t.test('parallel attempts cannot slip past the account limit', async (t) => {
  const f = await fixture(t, { limits: { failuresPerAccount: 3, failuresPerIp: 1000, registrationsPerIp: 100, windowMs: 60_000 } });
  await registered(f, 'judy');
  const verifies = f.hasher.verifies;
  const results = await Promise.all(Array.from({ length: 10 }, () => f.accounts.login('judy', 'wrong password', IP)));
  t.same(results.map((r) => (r.ok ? 'ok' : r.error)).sort(), [...Array(3).fill('AUTH_FAILED'), ...Array(7).fill('TOO_MANY_ATTEMPTS')]);
  t.equal(f.hasher.verifies - verifies, 3, 'only three passwords were checked');
});

t.test('registrations per address', async (t) => {
  const f = await fixture(t, { limits: { failuresPerAccount: 10, failuresPerIp: 100, registrationsPerIp: 2, windowMs: 60_000 } });
  await registered(f, 'k1');
  await registered(f, 'k2');
  t.match(await f.accounts.register({ username: 'k3', password: 'correct horse', profile: NO_PROFILE }, IP), {
    ok: false,
    error: 'TOO_MANY_ATTEMPTS',
  });
  t.match(await f.accounts.register({ username: 'k3', password: 'correct horse', profile: NO_PROFILE }, '198.51.100.1'), { ok: true });
});

t.test('changing the password revokes every other session and counts wrong guesses', async (t) => {
  const f = await fixture(t, { limits: { failuresPerAccount: 2, failuresPerIp: 100, registrationsPerIp: 100, windowMs: 60_000 } });
  const first = await registered(f, 'mallory', 'old password');
  const second = await f.accounts.login('mallory', 'old password', IP);
  if (!second.ok) throw new Error('login failed');
  const identity = (await f.accounts.verifyToken(first.token)) as { user: string; sessionId: string };

  t.match(await f.accounts.changePassword(identity, 'old password', 'short', IP), { error: 'WEAK_PASSWORD' });
  t.match(await f.accounts.changePassword(identity, 'not it at all', 'new password', IP), { error: 'WRONG_PASSWORD' });
  const revocations: Revocation[] = [];
  f.accounts.onRevoked((r) => revocations.push(r));
  t.match(await f.accounts.changePassword(identity, 'old password', 'new password', IP), { ok: true });
  t.same(revocations, [{ user: 'mallory', allExcept: identity.sessionId }]);
  t.match(await f.accounts.verifyToken(first.token), { ok: true }, 'this session stays');
  t.match(await f.accounts.verifyToken(second.token), { ok: false, reason: 'revoked' }, 'the other one is revoked');
  t.match(await f.accounts.login('mallory', 'old password', IP), { error: 'AUTH_FAILED' });
  t.match(await f.accounts.login('mallory', 'new password', IP), { ok: true });

  t.match(await f.accounts.changePassword(identity, 'guess one', 'another password', IP), { error: 'WRONG_PASSWORD' });
  t.match(await f.accounts.changePassword(identity, 'guess two', 'another password', IP), { error: 'WRONG_PASSWORD' });
  t.match(
    await f.accounts.changePassword(identity, 'new password', 'another password', IP),
    { error: 'TOO_MANY_ATTEMPTS' },
    'a stolen token cannot brute-force the password',
  );
});

t.test('a sign-in with an old hash stores a new one', async (t) => {
  const f = await fixture(t);
  await registered(f, 'niaj');
  const oldHash = (await f.storage.findUser('niaj'))!.passwordHash;
  const upgraded = new Accounts({
    storage: f.storage,
    secret: SECRET,
    tokenTtlMs: 3_600_000,
    mode: 'open',
    clock: () => f.now.ms,
    hasher: new PasswordHasher({ ...FAST, logN: 11 }),
  });
  t.match(await upgraded.login('niaj', 'correct horse', IP), { ok: true });
  const newHash = (await f.storage.findUser('niaj'))!.passwordHash;
  t.not(newHash, oldHash);
  t.match(newHash, /^\$scrypt\$ln=11,/);
  t.match(await upgraded.login('niaj', 'correct horse', IP), { ok: true }, 'and it works');
});

t.test('live sessions per account are bounded', async (t) => {
  const f = await fixture(t, { maxSessionsPerUser: 2 });
  const first = await registered(f, 'olivia');
  f.now.ms += 1;
  const second = await f.accounts.login('olivia', 'correct horse', IP);
  f.now.ms += 1;
  const third = await f.accounts.login('olivia', 'correct horse', IP);
  if (!second.ok || !third.ok) throw new Error('login failed');
  t.match(await f.accounts.verifyToken(first.token), { ok: false, reason: 'revoked' }, 'the oldest made room');
  t.match(await f.accounts.verifyToken(second.token), { ok: true });
  t.match(await f.accounts.verifyToken(third.token), { ok: true });
});

t.test('authorizeConnection: open mode', async (t) => {
  const f = await fixture(t);
  const peggy = await registered(f, 'peggy');
  const trent = await registered(f, 'trent');
  t.same(await f.accounts.authorizeConnection('guest1', undefined), { ok: true, user: null }, 'a guest takes a free name');
  t.same(await f.accounts.authorizeConnection('peggy', undefined), { ok: false, error: 'AUTH_REQUIRED', reason: 'registered' });
  t.same(
    await f.accounts.authorizeConnection('Peggy', undefined),
    { ok: false, error: 'AUTH_REQUIRED', reason: 'registered' },
    'nor a lookalike in another case',
  );
  t.match(await f.accounts.authorizeConnection('peggy', peggy.token), { ok: true, user: 'peggy', expiresAt: peggy.expiresAt });
  t.same(
    await f.accounts.authorizeConnection('peggy', trent.token),
    { ok: false, error: 'AUTH_FAILED', reason: 'other-user' },
    "another user's token",
  );
  t.same(await f.accounts.authorizeConnection('guest1', trent.token), { ok: false, error: 'AUTH_FAILED', reason: 'other-user' });
  t.same(await f.accounts.authorizeConnection('peggy', 'garbage'), { ok: false, error: 'AUTH_FAILED', reason: 'malformed' });
  t.same(await f.accounts.authorizeConnection('peggy', ''), { ok: false, error: 'AUTH_FAILED', reason: 'malformed' });
});

t.test('authorizeConnection: required mode', async (t) => {
  const f = await fixture(t, { mode: 'required' });
  const victor = await registered(f, 'victor');
  t.same(await f.accounts.authorizeConnection('guest1', undefined), { ok: false, error: 'AUTH_REQUIRED', reason: 'no-token' });
  t.match(await f.accounts.authorizeConnection('victor', victor.token), { ok: true, user: 'victor' });
  t.same(await f.accounts.authorizeConnection('walter', victor.token), { ok: false, error: 'AUTH_FAILED', reason: 'other-user' });
});

t.test('expired sessions are pruned from storage now and then', async (t) => {
  const f = await fixture(t);
  const first = await registered(f, 'xavier');
  const sessionId = ((await f.accounts.verifyToken(first.token)) as { sessionId: string }).sessionId;
  f.now.ms += 2 * 3_600_000;
  t.match(await f.accounts.login('xavier', 'correct horse', IP), { ok: true }, 'a sign-in an hour later prunes in the background');
  for (let i = 0; i < 100 && (await f.storage.findSession(sessionId)) !== null; i++) await new Promise((r) => setImmediate(r));
  t.equal(await f.storage.findSession(sessionId), null);
});
