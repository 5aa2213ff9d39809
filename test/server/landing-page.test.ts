import t from 'tap';
import { startInProcess } from '../helpers/in-process-server.js';

/** GET (or HEAD) on a running server, with the answer's status, type and body. */
async function get(base: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${base.replace(/^ws/, 'http')}${path}`, init);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

t.test('with CLIENT_URL: / and /NAME say what this is and link the web client', async (t) => {
  const server = await startInProcess({ CLIENT_URL: 'https://chat.example.com/' });
  t.teardown(() => server.stop());

  const root = await get(server.base, '/');
  t.equal(root.status, 200);
  t.match(root.type, /^text\/html; charset=utf-8/);
  t.match(root.body, /<title>Chorus chat server<\/title>/);
  t.match(root.body, /This is the chat server of Chorus/);
  t.match(root.body, '<a href="https://chat.example.com/">https://chat.example.com/</a>', 'the web client, without a doubled slash');
  t.match(root.body, '<a href="/health">/health</a>');
  t.match(root.body, '<a href="/protocol">/protocol</a>');
  t.match(root.body, `<code>${server.base}/ws/{name}</code>`, 'the WebSocket address as the request reached the server');

  const alice = await get(server.base, '/alice');
  t.equal(alice.status, 404, 'not a page of this server');
  t.match(alice.type, /^text\/html/);
  t.match(
    alice.body,
    'Looking for the chat as <strong>alice</strong>? Open <a href="https://chat.example.com/alice">https://chat.example.com/alice</a>.',
  );

  const head = await fetch(`${server.base.replace(/^ws/, 'http')}/`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD / too');

  const doc = await get(server.base, '/protocol');
  t.equal(doc.status, 200);
  t.match(doc.type, /^text\/markdown/);
  t.match(doc.body, /^# Chorus wire protocols/);
});

t.test('other unknown paths keep the JSON 404 for API clients; health is untouched', async (t) => {
  const server = await startInProcess();
  t.teardown(() => server.stop());
  for (const path of ['/no/such/path', '/a,b', '/has%20space', '/alice/', '/x'.repeat(40)]) {
    const res = await get(server.base, path);
    t.equal(res.status, 404, path);
    t.match(res.type, /^application\/json/, `${path}: JSON`);
    t.match(JSON.parse(res.body), { statusCode: 404, error: 'Not Found' }, path);
  }
  t.same(JSON.parse((await get(server.base, '/health')).body), { status: 'ok' });
  t.equal((await get(server.base, '/ready')).status, 200, '/ready is not taken for a name');
});

t.test('without CLIENT_URL the page says where the web client comes from', async (t) => {
  const server = await startInProcess();
  t.teardown(() => server.stop());
  const root = await get(server.base, '/');
  t.match(root.body, /served by the Chorus client app, not by this server/);
  t.match(root.body, /<code>CLIENT_URL<\/code>/);
  const bob = await get(server.base, '/bob');
  t.equal(bob.status, 404);
  t.match(bob.body, /This is not the web client, so <strong>bob<\/strong> cannot chat here/);
});

t.test('the Host header is escaped, never markup', async (t) => {
  const server = await startInProcess();
  t.teardown(() => server.stop());
  const { port } = new URL(server.base);
  // fetch will not send a forged Host; a raw request does.
  const { request } = await import('node:http');
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: '"><script>x</script>' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  t.notMatch(body, /<script>/);
  t.match(body, /&lt;script&gt;/);
});

t.test('CLIENT_URL must be an http(s) URL', async (t) => {
  const { loadServerConfig } = await import('../../apps/server/src/config.js');
  t.throws(() => loadServerConfig({ CLIENT_URL: 'ws://chat.example.com' }), /CLIENT_URL must be an http:\/\/ or https:\/\/ URL/);
  t.equal(loadServerConfig({ CLIENT_URL: 'http://localhost:3000///' }).CLIENT_URL, 'http://localhost:3000');
  t.equal(loadServerConfig({}).CLIENT_URL, undefined);
});
