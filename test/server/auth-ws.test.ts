import t from 'tap';
import { startInProcess } from '../helpers/in-process-server.js';
import { jsonClient, TestClient } from '../helpers/ws-client.js';

async function register(http: string, username: string): Promise<string> {
  const res = await fetch(`${http}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'correct horse battery' }),
  });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** A chorus.v1 connection carrying a token in the subprotocol list (as the browser does). */
function withToken(base: string, id: string, token: string): TestClient {
  return new TestClient(`${base}/ws/${id}`, ['chorus.v1', `auth.${token}`]);
}

t.test('AUTH_MODE=open: guests connect; a registered id needs its token; several tabs count once', async (t) => {
  const server = await startInProcess({ AUTH_MODE: 'open' });
  t.teardown(() => server.stop());
  const http = server.base.replace('ws://', 'http://');
  const token = await register(http, 'alice');
  const bobToken = await register(http, 'bob');

  const guest = await jsonClient(server.base, 'guest');
  t.pass('a guest with an unregistered id connects');

  const noToken = new TestClient(`${server.base}/ws/alice`, 'chorus.v1');
  t.match(JSON.parse(await noToken.next()), { type: 'error', code: 'AUTH_REQUIRED' });
  t.same(await noToken.closed, { code: 4401, reason: 'sign in first: this requires a token' });

  const wrong = withToken(server.base, 'alice', bobToken);
  t.match(JSON.parse(await wrong.next()), { type: 'error', code: 'AUTH_FAILED' }, "bob's token is not alice's");
  t.equal((await wrong.closed).code, 4401);

  const tab1 = withToken(server.base, 'alice', token);
  await tab1.nextJson((f) => f.type === 'welcome');
  t.equal(tab1.socket.protocol, 'chorus.v1', 'the server selects chorus.v1, never the auth entry');
  await guest.nextJson((f) => f.type === 'presence' && f.joined.includes('alice'));
  const tab2 = withToken(server.base, 'alice', token);
  await tab2.nextJson((f) => f.type === 'welcome');
  t.pass('a second tab of a signed-in user is admitted');

  guest.send({ type: 'send', id: 'g1', to: 'alice', text: 'to every tab', sentAt: 1 });
  t.match(await tab1.nextJson((f) => f.type === 'message'), { text: 'to every tab' });
  t.match(await tab2.nextJson((f) => f.type === 'message'), { text: 'to every tab' });

  tab1.send({ type: 'send', id: 'a1', to: 'guest', text: 'from tab 1', sentAt: 1 });
  t.match(await tab1.nextJson((f) => f.type === 'ack'), { ref: 'a1' });
  t.match(
    await tab2.nextJson((f) => f.type === 'message'),
    { from: 'alice', to: 'guest', text: 'from tab 1' },
    'the other tab sees what was sent',
  );
  t.match(await guest.nextJson((f) => f.type === 'message'), { from: 'alice', text: 'from tab 1' });

  await tab2.close();
  guest.send({ type: 'send', id: 'g2', text: 'still here?', sentAt: 1 });
  t.match(await tab1.nextJson((f) => f.type === 'message'), { text: 'still here?' });
  t.notOk(
    guest.frames.some((f) => f.includes('"left":["alice"]')),
    'closing one tab is not leaving: presence counts the user once',
  );

  const guestTab = new TestClient(`${server.base}/ws/guest`, 'chorus.v1');
  t.match(JSON.parse(await guestTab.next()), { code: 'CLIENT_ID_TAKEN' }, 'a guest id stays single-connection');

  // Logging out closes the live connections of that session.
  const closed = tab1.closed;
  const out = await fetch(`${http}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  t.equal(out.status, 204);
  t.same(await closed, { code: 4401, reason: 'signed out' });
  const again = withToken(server.base, 'alice', token);
  t.match(JSON.parse(await again.next()), { code: 'AUTH_FAILED' }, 'the revoked token no longer connects');
  await guest.close();
});

t.test('AUTH_MODE=required: every connection needs a token for its own id; Bearer works for terminals', async (t) => {
  const server = await startInProcess({ AUTH_MODE: 'required' });
  t.teardown(() => server.stop());
  const http = server.base.replace('ws://', 'http://');
  const token = await register(http, 'carol');
  const guest = new TestClient(`${server.base}/ws/nobody`, 'chorus.v1');
  t.match(JSON.parse(await guest.next()), { code: 'AUTH_REQUIRED' });
  t.equal((await guest.closed).code, 4401);
  const terminal = new TestClient(`${server.base}/ws/carol`, 'chorus.text');
  // ws lets a test set headers the way `wscat -H` does.
  const bearer = new (await import('ws')).WebSocket(`${server.base}/ws/carol`, 'chorus.text', {
    headers: { authorization: `Bearer ${token}` },
  });
  const lines: string[] = [];
  bearer.on('message', (m) => lines.push(m.toString()));
  await new Promise((resolve) => bearer.once('open', resolve));
  bearer.send('hello me,carol');
  await new Promise<void>((resolve) => {
    const check = () => (lines.length >= 2 ? resolve() : bearer.once('message', check));
    check();
  });
  t.same(lines.slice(0, 2), ['You wrote: hello me', 'carol send a private message: hello me']);
  t.equal(bearer.protocol, 'chorus.text');
  bearer.close();
  t.match(await terminal.next(), /sign in first/);
});

t.test('a logout closes the tabs of that session on every worker at once', async (t) => {
  // The periodic session check is 10 minutes away: only the relay can close the other worker's tab in time.
  const { startApp } = await import('../helpers/spawn-app.js');
  const server = await startApp('server', { WORKERS: '2', HEARTBEAT_INTERVAL_MS: '600000' });
  t.teardown(() => server.stop());
  const base = `ws://127.0.0.1:${server.port}`;
  const token = await register(`http://127.0.0.1:${server.port}`, 'erin');
  // Open tabs until two of them are on different workers.
  const tabs = new Map<string, TestClient>();
  const extra: TestClient[] = [];
  while (tabs.size < 2) {
    const tab = withToken(base, 'erin', token);
    const welcome = await tab.nextJson((f) => f.type === 'welcome');
    if (welcome.type !== 'welcome') throw new Error('expected welcome');
    if (tabs.has(welcome.node)) extra.push(tab);
    else tabs.set(welcome.node, tab);
  }
  const closes = [...tabs.values(), ...extra].map((tab) => tab.closed);
  const out = await fetch(`http://127.0.0.1:${server.port}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  t.equal(out.status, 204);
  const results = await Promise.all(closes);
  t.ok(
    results.every((r) => r.code === 4401 && r.reason === 'signed out'),
    `all ${results.length} tabs on both workers closed with 4401`,
  );
});
