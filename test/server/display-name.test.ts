import { DISPLAY_NAME_MAX, DisplayName, displayNameProblem, normalizeDisplayName } from '@chorus/protocol';
import t, { type Test } from 'tap';
import { startInProcess } from '../helpers/in-process-server.js';

// Display names: the rule (packages/protocol/src/display-name.ts) and the
// HTTP API that sets and looks them up (POST /auth/display-name, GET /auth/names).

t.test('any script, spaces and emoji are names; stored NFC, trimmed, with single spaces', async (t) => {
  for (const name of ['Ana María', 'Дмитрий Шостакович', 'João Gonçalves', '李小龍', 'محمد علي', 'Zoë 🌻', 'x']) {
    t.equal(displayNameProblem(name), null, name);
  }
  t.equal(normalizeDisplayName('  Ana \t  María  '), 'Ana María');
  t.equal(normalizeDisplayName('Jose\u0301'), 'José', 'NFC: a combining accent is composed');
  t.equal(DisplayName.parse(' Zoë '), 'Zoë');
  t.equal(
    normalizeDisplayName('\uFEFFbo\uFEFFb'),
    'bo b',
    'a byte order mark is white space to JavaScript: dropped at the ends, a space inside',
  );
  t.equal(displayNameProblem('a'.repeat(DISPLAY_NAME_MAX)), null, '64 characters');
  t.equal(displayNameProblem('🌻'.repeat(DISPLAY_NAME_MAX)), null, '64 code points, 128 UTF-16 units');
});

t.test('invisible, control, direction-changing and overlong names are refused in plain words', async (t) => {
  const invisible = 'the name holds an invisible or control character (such as a direction mark or a zero-width space)';
  const cases: [string, string, string][] = [
    ['', 'the name is empty', 'empty'],
    ['   ', 'the name is empty', 'only spaces'],
    ['bob\u202Eevil', invisible, 'right-to-left override'],
    ['\u2066bob\u2069', invisible, 'isolate'],
    ['bob\u200Bby', invisible, 'zero-width space'],
    ['al\u200Dice', invisible, 'zero-width joiner'],
    ['bob\u0000', invisible, 'NUL'],
    ['bob\u0007', invisible, 'bell'],
    ['\uE000boss', invisible, 'private use'],
    ['a\ud800b', 'the name holds a broken character (a lone surrogate)', 'lone surrogate'],
    ['a'.repeat(65), 'the name is 65 characters long; at most 64 are allowed', 'too long'],
  ];
  for (const [name, problem, label] of cases) t.equal(displayNameProblem(name), problem, label);
  t.equal(DisplayName.safeParse('bob\u202E').success, false);
});

const PASSWORD = 'correct horse battery';

async function server(t: Test) {
  const running = await startInProcess({});
  t.teardown(() => running.stop());
  const base = `http://127.0.0.1:${running.port}`;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON; each test reads the fields its route answers.
  async function api(path: string, init: { body?: unknown; token?: string } = {}): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    const res = await fetch(base + path, {
      method: init.body === undefined ? 'GET' : 'POST',
      headers,
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  }
  return api;
}

t.test('a display name given at sign-up, changed, cleared, and looked up by anyone', async (t) => {
  const api = await server(t);
  const ana = await api('/auth/register', {
    body: { username: 'ana', password: PASSWORD, profile: { displayName: '  Ana   María ' } },
  });
  t.equal(ana.status, 201);
  t.same(ana.body.user.profile, { firstNames: null, lastNames: null, age: null, gender: null, displayName: 'Ana María' }, 'normalized');
  const bob = await api('/auth/register', { body: { username: 'bob', password: PASSWORD } });
  t.equal(bob.body.user.profile.displayName, null, 'none chosen');

  t.same((await api('/auth/names?ids=ana,bob,guest')).body, { names: { ana: 'Ana María' } }, 'only those who chose one');
  t.same((await api('/auth/names?ids=')).body, { names: {} });

  const set = await api('/auth/display-name', { token: bob.body.token, body: { displayName: 'Роберт' } });
  t.equal(set.status, 200);
  t.equal(set.body.user.username, 'bob');
  t.equal(set.body.user.profile.displayName, 'Роберт');
  t.equal((await api('/auth/me', { token: bob.body.token })).body.user.profile.displayName, 'Роберт');
  t.same((await api('/auth/names?ids=ana,bob')).body, { names: { ana: 'Ana María', bob: 'Роберт' } });

  const cleared = await api('/auth/display-name', { token: ana.body.token, body: { displayName: null } });
  t.equal(cleared.body.user.profile.displayName, null);
  t.same((await api('/auth/names?ids=ana,bob')).body, { names: { bob: 'Роберт' } });
});

t.test('bad display names and lookups get 400 with the reason; no token gets 401', async (t) => {
  const api = await server(t);
  const { body } = await api('/auth/register', { body: { username: 'eve', password: PASSWORD } });
  const refused = await api('/auth/display-name', { token: body.token, body: { displayName: 'bob\u202E' } });
  t.equal(refused.status, 400);
  t.same(refused.body, {
    code: 'INVALID_REQUEST',
    message:
      'invalid request: displayName: the name holds an invisible or control character (such as a direction mark or a zero-width space)',
  });
  const long = await api('/auth/display-name', { token: body.token, body: { displayName: 'e'.repeat(65) } });
  t.same(long.body, {
    code: 'INVALID_REQUEST',
    message: 'invalid request: displayName: the name is 65 characters long; at most 64 are allowed',
  });
  const missing = await api('/auth/display-name', { token: body.token, body: {} });
  t.equal(missing.status, 400, 'the field is required (null clears it)');
  const extra = await api('/auth/display-name', { token: body.token, body: { displayName: 'Eve', admin: true } });
  t.equal(extra.status, 400, 'unknown fields are refused');
  t.equal((await api('/auth/me', { token: body.token })).body.user.profile.displayName, null, 'nothing was changed');

  const anonymous = await api('/auth/display-name', { body: { displayName: 'Mallory' } });
  t.equal(anonymous.status, 401);
  t.equal(anonymous.body.code, 'AUTH_REQUIRED');

  const signUp = await api('/auth/register', { body: { username: 'zed', password: PASSWORD, profile: { displayName: '\u200B' } } });
  t.equal(signUp.status, 400);
  t.match(signUp.body.message, /^invalid request: profile\.displayName: the name holds an invisible/);

  t.same((await api('/auth/names?ids=a%20b')).body, {
    code: 'INVALID_REQUEST',
    message: 'invalid request: ids.0: each id must be a username',
  });
  const many = Array.from({ length: 201 }, (_, i) => `u${i}`).join(',');
  t.same((await api(`/auth/names?ids=${many}`)).body, {
    code: 'INVALID_REQUEST',
    message: 'invalid request: ids: at most 200 ids per lookup',
  });
  t.equal((await api('/auth/names')).status, 400, 'ids is required');
  t.equal((await api('/auth/names?ids=a&x=1')).status, 400, 'unknown parameters are refused');
});
