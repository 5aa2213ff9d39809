import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { loadServerConfig } from '../../apps/server/src/config.js';
import { runSingleProcess } from '../../apps/server/src/run-single.js';
import { startInProcess } from '../helpers/in-process-server.js';
import { GENEROUS_LIMITS } from '../helpers/spawn-app.js';

interface Response {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON; each test reads the fields its route answers.
  body: any;
}

interface Request {
  method?: string;
  body?: unknown;
  /** Sent as is (not JSON-encoded) when a string and `raw` is set. */
  raw?: boolean;
  token?: string;
  headers?: Record<string, string>;
}

/** Real HTTP to a running server. */
function client(port: number) {
  return async function api(path: string, request: Request = {}): Promise<Response> {
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined && !request.raw) headers['content-type'] ??= 'application/json';
    if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: request.method ?? (request.body === undefined ? 'GET' : 'POST'),
      headers,
      ...(request.body !== undefined && { body: request.raw ? (request.body as string) : JSON.stringify(request.body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
  };
}

/** A single-process server on port 0 with `env`, stopped at teardown; `now.ms` is its clock. */
async function server(t: Test, env: Record<string, string> = {}) {
  const now = { ms: Date.now() };
  const running = await startInProcess(env, () => now.ms);
  t.teardown(() => running.stop());
  return { api: client(running.port), now, port: running.port };
}

const PASSWORD = 'correct horse battery';

async function register(api: ReturnType<typeof client>, username: string, password = PASSWORD): Promise<string> {
  const res = await api('/auth/register', { body: { username, password } });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

t.test('register, duplicate name, weak password, bad bodies', async (t) => {
  const { api } = await server(t);
  const profile = { firstNames: 'Ada Augusta', lastNames: 'King', age: 36, gender: 'female' };
  const res = await api('/auth/register', { body: { username: 'ada', password: PASSWORD, profile } });
  t.equal(res.status, 201);
  t.match(res.body, {
    token: /^v1\.[A-Za-z0-9_-]+\.\d+\.[A-Za-z0-9_-]+$/,
    expiresAt: Number,
    user: { username: 'ada', profile, createdAt: Number },
  });
  t.same(Object.keys(res.body.user).sort(), ['createdAt', 'profile', 'username'], 'no hash in the answer');
  t.equal(res.headers.get('cache-control'), 'no-store');
  t.ok(res.body.expiresAt - Date.now() > 6.9 * 24 * 3600 * 1000, 'valid for TOKEN_TTL_SECONDS (7 days)');

  for (const username of ['ada', 'ADA']) {
    const dup = await api('/auth/register', { body: { username, password: 'another password' } });
    t.equal(dup.status, 409, `${username}: taken`);
    t.same(dup.body, { code: 'USERNAME_TAKEN', message: 'this username is taken' });
  }

  const weak = await api('/auth/register', { body: { username: 'bob', password: 'short' } });
  t.equal(weak.status, 400);
  t.same(weak.body, { code: 'WEAK_PASSWORD', message: 'password must be at least 8 characters' });
  t.equal((await api('/auth/register', { body: { username: 'bob', password: 'x'.repeat(257) } })).body.code, 'WEAK_PASSWORD');

  const badName = await api('/auth/register', { body: { username: 'a,b', password: PASSWORD } });
  t.equal(badName.status, 400);
  t.equal(badName.body.code, 'INVALID_CLIENT_ID');

  const cases: [string, Request, number][] = [
    ['an unknown field', { body: { username: 'bob', password: PASSWORD, admin: true } }, 400],
    ['a wrong type', { body: { username: 'bob', password: 12345678 } }, 400],
    ['a bad age', { body: { username: 'bob', password: PASSWORD, profile: { age: -1 } } }, 400],
    ['a control character in a name', { body: { username: 'bob', password: PASSWORD, profile: { firstNames: 'a\u0007' } } }, 400],
    ['no body', { method: 'POST' }, 400],
    [
      'broken JSON',
      { body: `{"username":"bob","password":"${PASSWORD}"`, raw: true, headers: { 'content-type': 'application/json' } },
      400,
    ],
    ['not JSON', { body: 'username=bob', raw: true, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415],
    ['a huge body', { body: { username: 'bob', password: 'x'.repeat(20_000) } }, 413],
  ];
  for (const [name, request, status] of cases) {
    const bad = await api('/auth/register', request);
    t.equal(bad.status, status, `${name}: ${status}`);
    t.equal(bad.body.code, 'INVALID_REQUEST', `${name}: INVALID_REQUEST`);
    t.notMatch(JSON.stringify(bad.body), PASSWORD, `${name}: the answer does not quote the password`);
  }
  t.equal((await api('/auth/login', { body: { username: 'bob', password: PASSWORD } })).status, 401, 'none of them created bob');
});

t.test('login: right password, wrong password and unknown user', async (t) => {
  const { api } = await server(t);
  await register(api, 'carol');
  const ok = await api('/auth/login', { body: { username: 'carol', password: PASSWORD } });
  t.equal(ok.status, 200);
  t.match(ok.body, { token: String, expiresAt: Number, user: { username: 'carol' } });

  const wrong = await api('/auth/login', { body: { username: 'carol', password: 'not the password' } });
  const unknown = await api('/auth/login', { body: { username: 'nobody', password: 'not the password' } });
  const otherCase = await api('/auth/login', { body: { username: 'Carol', password: PASSWORD } });
  t.equal(wrong.status, 401);
  t.same(wrong.body, { code: 'AUTH_FAILED', message: 'wrong username, password or token' });
  t.same([unknown.status, unknown.body], [wrong.status, wrong.body], 'an unknown user gets the same answer');
  t.same([otherCase.status, otherCase.body], [wrong.status, wrong.body], 'names are exact');
});

t.test('the token works for /auth/me; logout revokes it', async (t) => {
  const { api } = await server(t);
  const token = await register(api, 'dave');
  const other = (await api('/auth/login', { body: { username: 'dave', password: PASSWORD } })).body.token as string;

  const me = await api('/auth/me', { token });
  t.equal(me.status, 200);
  t.match(me.body, { user: { username: 'dave', profile: { firstNames: null, lastNames: null, age: null, gender: null } } });

  const none = await api('/auth/me');
  t.equal(none.status, 401);
  t.equal(none.body.code, 'AUTH_REQUIRED');
  t.equal(none.headers.get('www-authenticate'), 'Bearer');

  t.equal((await api('/auth/logout', { method: 'POST', token })).status, 204);
  const after = await api('/auth/me', { token });
  t.equal(after.status, 401);
  t.same(after.body, { code: 'AUTH_FAILED', message: 'wrong username, password or token' });
  t.equal((await api('/auth/logout', { method: 'POST', token })).status, 401, 'a revoked token cannot log out again');
  t.equal((await api('/auth/me', { token: other })).status, 200, 'the other session lives on');
});

t.test('a password change revokes the other sessions, not this one', async (t) => {
  const { api } = await server(t);
  const current = await register(api, 'erin');
  const other = (await api('/auth/login', { body: { username: 'erin', password: PASSWORD } })).body.token as string;

  const wrong = await api('/auth/password', { token: current, body: { currentPassword: 'not it at all', newPassword: 'new password!' } });
  t.equal(wrong.status, 403);
  t.equal(wrong.body.code, 'WRONG_PASSWORD');
  const weak = await api('/auth/password', { token: current, body: { currentPassword: PASSWORD, newPassword: 'short' } });
  t.equal(weak.status, 400);
  t.equal(weak.body.code, 'WEAK_PASSWORD');
  t.equal(
    (await api('/auth/password', { body: { currentPassword: PASSWORD, newPassword: 'new password!' } })).status,
    401,
    'needs a token',
  );

  t.equal((await api('/auth/password', { token: current, body: { currentPassword: PASSWORD, newPassword: 'new password!' } })).status, 204);
  t.equal((await api('/auth/me', { token: current })).status, 200, 'this session stays');
  t.equal((await api('/auth/me', { token: other })).status, 401, 'the other session is revoked');
  t.equal((await api('/auth/login', { body: { username: 'erin', password: PASSWORD } })).status, 401, 'the old password is gone');
  t.equal((await api('/auth/login', { body: { username: 'erin', password: 'new password!' } })).status, 200);
});

t.test('an expired token fails (injected clock)', async (t) => {
  const { api, now } = await server(t, { TOKEN_TTL_SECONDS: '3600' });
  const token = await register(api, 'frank');
  now.ms += 3600_000 - 1000;
  t.equal((await api('/auth/me', { token })).status, 200, 'a second before expiry');
  now.ms += 1000;
  const expired = await api('/auth/me', { token });
  t.equal(expired.status, 401);
  t.equal(expired.body.code, 'AUTH_FAILED');
});

t.test('a tampered or foreign token fails', async (t) => {
  const { api } = await server(t);
  const token = await register(api, 'grace');
  const [v, sid, exp, sig] = token.split('.') as [string, string, string, string];
  const later = [v, sid, String(Number(exp) + 86_400_000), sig].join('.');
  const otherSig = [v, sid, exp, sig.slice(0, -2) + (sig.endsWith('AA') ? 'BB' : 'AA')].join('.');
  for (const [name, bad] of [
    ['a later expiry', later],
    ['another signature', otherSig],
    ['garbage', 'not-a-token'],
    ['a token in a Basic header', ''],
  ] as const) {
    const res =
      bad === '' ? await api('/auth/me', { headers: { authorization: 'Basic Z3JhY2U6cGFzcw==' } }) : await api('/auth/me', { token: bad });
    t.equal(res.status, 401, name);
    t.equal(res.body.code, 'AUTH_FAILED', name);
  }
});

t.test('login rate limit per account: 429 after N failures, other accounts unaffected', async (t) => {
  const { api, now } = await server(t, { AUTH_FAILURES_PER_ACCOUNT: '3', AUTH_RATE_WINDOW_SECONDS: '600' });
  await register(api, 'heidi');
  await register(api, 'ivan');
  for (let i = 1; i <= 3; i++) {
    t.equal((await api('/auth/login', { body: { username: 'heidi', password: `wrong ${i} password` } })).status, 401, `failure ${i}`);
  }
  const limited = await api('/auth/login', { body: { username: 'heidi', password: PASSWORD } });
  t.equal(limited.status, 429, 'then 429, even with the right password');
  t.equal(limited.body.code, 'TOO_MANY_ATTEMPTS');
  t.equal(limited.headers.get('retry-after'), '600');
  t.equal((await api('/auth/login', { body: { username: 'ivan', password: PASSWORD } })).status, 200, 'another account signs in');
  now.ms += 600_000;
  t.equal((await api('/auth/login', { body: { username: 'heidi', password: PASSWORD } })).status, 200, 'after the window');
});

t.test('login rate limit per address', async (t) => {
  const { api } = await server(t, { AUTH_FAILURES_PER_IP: '4' });
  await register(api, 'judy');
  for (let i = 0; i < 4; i++) await api('/auth/login', { body: { username: `someone${i}`, password: 'wrong password' } });
  const limited = await api('/auth/login', { body: { username: 'judy', password: PASSWORD } });
  t.equal(limited.status, 429);
  t.equal(limited.body.code, 'TOO_MANY_ATTEMPTS');
  t.ok(Number(limited.headers.get('retry-after')) > 0);
});

t.test('CORS: the origins the WebSocket route allows', async (t) => {
  t.test('development, empty ALLOWED_ORIGINS: any localhost page', async (t) => {
    const { api } = await server(t);
    const preflight = await api('/auth/login', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:3000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    t.equal(preflight.status, 204);
    t.equal(preflight.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    t.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/i);
    t.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    t.match(preflight.headers.get('vary') ?? '', /Origin/i);

    const refused = await api('/auth/login', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    t.equal(refused.status, 403);
    t.equal(refused.headers.get('access-control-allow-origin'), null);
    t.equal(refused.body.code, 'ORIGIN_NOT_ALLOWED');

    await register(api, 'kim');
    const login = await api('/auth/login', { body: { username: 'kim', password: PASSWORD }, headers: { origin: 'http://127.0.0.1:5173' } });
    t.equal(login.status, 200);
    t.equal(login.headers.get('access-control-allow-origin'), 'http://127.0.0.1:5173');
    t.match(login.headers.get('access-control-expose-headers') ?? '', /Retry-After/i);
  });

  t.test('an explicit ALLOWED_ORIGINS list', async (t) => {
    const { api } = await server(t, { ALLOWED_ORIGINS: 'https://chat.example.com' });
    const allowed = await api('/auth/me', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://chat.example.com',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    t.equal(allowed.status, 204);
    t.equal(allowed.headers.get('access-control-allow-origin'), 'https://chat.example.com');
    for (const origin of ['http://localhost:3000', 'https://chat.example.com.evil.example']) {
      const refused = await api('/auth/register', { body: { username: 'lee', password: PASSWORD }, headers: { origin } });
      t.equal(refused.status, 403, `${origin}: refused`);
      t.equal(refused.headers.get('access-control-allow-origin'), null);
    }
    t.equal(
      (await api('/auth/register', { body: { username: 'lee', password: PASSWORD } })).status,
      201,
      'no Origin (not a browser page): served',
    );
  });
});

t.test('logs never hold a password or a token', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-auth-logs-'));
  const config = loadServerConfig({ PORT: '0', HOST: '127.0.0.1', WORKERS: '1', DATA_DIR: dataDir, ...GENEROUS_LIMITS });
  const running = await runSingleProcess(config, pino({ level: 'trace' }, sink));
  t.teardown(async () => {
    await running.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const api = client(running.port);
  const secretPassword = 'Sup3r-secret-passw0rd';
  const token = await register(api, 'mona', secretPassword);
  const second = (await api('/auth/login', { body: { username: 'mona', password: secretPassword } })).body.token as string;
  await api('/auth/login', { body: { username: 'mona', password: 'Wr0ng-secret-passw0rd' } });
  await api('/auth/me', { token });
  await api('/auth/me', { token: `${token}x` });
  await api('/auth/password', { token, body: { currentPassword: secretPassword, newPassword: 'N3w-secret-passw0rd' } });
  await api('/auth/logout', { method: 'POST', token });
  await api('/auth/register', {
    body: `{"username":"x","password":"${secretPassword}"`,
    raw: true,
    headers: { 'content-type': 'application/json' },
  });

  const log = lines.join('');
  t.match(log, /"msg":"signed in"/, 'the routes do log');
  t.match(log, /"msg":"sign-in failed"/);
  for (const secret of [secretPassword, 'Wr0ng-secret', 'N3w-secret', token, second, token.split('.')[3]!, second.split('.')[3]!]) {
    t.notOk(log.includes(secret), `not in the logs: ${secret.slice(0, 6)}...`);
  }
  t.notMatch(log, /authorization/i, 'no Authorization header');
});
