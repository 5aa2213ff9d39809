import { WebSocket } from 'ws';
import t from 'tap';
import { startInProcess } from '../helpers/in-process-server.js';
import { jsonClient, TestClient, textClient } from '../helpers/ws-client.js';

t.test('flooding: an error frame first, then close 1008 (the clock stands still, so no refill)', async (t) => {
  const server = await startInProcess({ MESSAGE_RATE: '5', MESSAGE_BURST: '5' }, () => 1_800_000_000_000);
  t.teardown(() => server.stop());
  const c = await jsonClient(server.base, 'flood');
  const welcome = JSON.parse(c.frames[0]!);
  t.same(welcome.limits.frameRate, { perSecond: 5, burst: 5 }, 'the welcome tells the client the rate it may send at');
  for (let i = 0; i < 6; i++) c.send({ type: 'ping', id: `p${i}`, sentAt: i });
  const frames = (await c.take(6)).map((f) => JSON.parse(f));
  t.same(
    frames.slice(0, 5).map((f) => f.id),
    ['p0', 'p1', 'p2', 'p3', 'p4'],
    'the burst goes through',
  );
  t.same(frames[5], { type: 'error', code: 'RATE_LIMITED', message: 'too many frames: slow down', retryable: true });
  for (let i = 0; i < 6; i++) c.send({ type: 'ping', sentAt: i });
  t.match(JSON.parse(await c.next()), { type: 'error', code: 'FLOODING' });
  t.same(await c.closed, { code: 1008, reason: 'too many frames after a warning' });
});

t.test('limits per address: connections at once (1013) and upgrades per minute (429)', async (t) => {
  const server = await startInProcess({ MAX_CONNECTIONS_PER_IP: '2', UPGRADES_PER_MINUTE_PER_IP: '4' });
  t.teardown(() => server.stop());
  const a = await jsonClient(server.base, 'ip1');
  const b = await jsonClient(server.base, 'ip2');
  const c = new TestClient(`${server.base}/ws/ip3`, 'chorus.v1');
  t.match(JSON.parse(await c.next()), { type: 'error', code: 'TOO_MANY_CONNECTIONS', retryable: true });
  t.equal((await c.closed).code, 1013);
  await a.close();
  const d = new TestClient(`${server.base}/ws/ip4`, 'chorus.v1');
  t.match(JSON.parse(await d.next()), { type: 'welcome' }, 'a freed place can be used (4th upgrade this minute)');
  const e = new TestClient(`${server.base}/ws/ip5`, 'chorus.v1');
  await t.rejects(e.opened, /HTTP 429/, 'the 5th upgrade this minute is refused before the upgrade');
  await Promise.all([b.close(), d.close()]);
});

t.test('origin allow-list: browsers from other sites are refused before the upgrade', async (t) => {
  const dev = await startInProcess({});
  t.teardown(() => dev.stop());
  const open = (base: string, origin?: string) => {
    const socket = new WebSocket(`${base}/ws/o${Math.random().toString(36).slice(2, 8)}`, origin ? { origin } : {});
    return new Promise<number>((resolve) => {
      socket.once('open', () => {
        socket.close();
        resolve(101);
      });
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('error', () => {});
    });
  };
  t.equal(await open(dev.base), 101, 'no Origin (not a browser page): allowed');
  t.equal(await open(dev.base, 'http://localhost:3000'), 101, 'development: localhost pages allowed');
  t.equal(await open(dev.base, 'https://evil.example'), 403, 'development: other sites refused');
  const listed = await startInProcess({ ALLOWED_ORIGINS: 'https://chat.example.com, https://other.example.com' });
  t.teardown(() => listed.stop());
  t.equal(await open(listed.base, 'https://chat.example.com'), 101);
  t.equal(await open(listed.base, 'http://localhost:3000'), 403, 'with a list, only the list');
});

t.test('heartbeat: a connection that stops answering pings is dropped and its permit freed', async (t) => {
  const server = await startInProcess({ HEARTBEAT_INTERVAL_MS: '100' });
  t.teardown(() => server.stop());
  const watcher = await jsonClient(server.base, 'watcher');
  const healthy = await textClient(server.base, 'healthy');
  const zombie = new WebSocket(`${server.base}/ws/zombie`, 'chorus.v1', { autoPong: false });
  zombie.on('error', () => {});
  await watcher.nextJson((f) => f.type === 'presence' && f.joined.includes('zombie'));
  t.match(await watcher.nextJson((f) => f.type === 'presence' && f.left.length > 0), { left: ['zombie'] });
  const back = await jsonClient(server.base, 'zombie');
  t.pass('the id is free again');
  healthy.send('/time');
  t.match(await healthy.extract((f) => f.startsWith('Server time: ')), /^Server time: /, 'a client that answers pings stays');
  await Promise.all([watcher.close(), healthy.close(), back.close()]);
});

t.test('slow consumer: past MAX_BUFFERED_BYTES it is disconnected (4500: reconnect and resume)', async (t) => {
  const server = await startInProcess({ MAX_BUFFERED_BYTES: '65536', MAX_FRAME_BYTES: '65536' });
  t.teardown(() => server.stop());
  const watcher = await jsonClient(server.base, 'watcher2');
  const slow = await jsonClient(server.base, 'slow');
  const sender = await jsonClient(server.base, 'sender');
  // The slow client stops reading from its socket.
  (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  const text = 'x'.repeat(9_000);
  let acked = 0;
  const left = watcher.nextJson((f) => f.type === 'presence' && f.left.includes('slow'), 30_000);
  for (let i = 0; i < 2_000; i++) {
    sender.send({ type: 'send', id: `s${i}`, text, sentAt: i });
    if (i % 50 === 49) {
      await sender.nextJson((f) => f.type === 'ack' && f.ref === `s${i}`);
      acked = i + 1;
      const gone = await Promise.race([left.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
      if (gone) break;
    }
  }
  t.match(await left, { left: ['slow'] }, `the slow client was dropped after about ${acked} messages`);
  sender.send({ type: 'ping', id: 'alive', sentAt: 1 });
  t.match(await sender.nextJson((f) => f.type === 'pong'), { id: 'alive' }, 'everyone else carries on');
  await Promise.all([watcher.close(), sender.close()]);
});

t.test('hostile frames get an error with a code; the connection and the server survive', async (t) => {
  const server = await startInProcess({});
  t.teardown(() => server.stop());
  const c = await jsonClient(server.base, 'hostile');
  const cases: [string, string][] = [
    [JSON.stringify({ type: 'send', id: 'h1', text: 'x', sentAt: 1e308 }), 'BAD_FRAME'],
    [JSON.stringify({ type: 'send', id: 'h2', text: 'x', sentAt: -1 }), 'BAD_FRAME'],
    ['{"type":"send","id":"h3","text":"x","sentAt":1,"__proto__":{"polluted":true}}', 'BAD_FRAME'],
    [JSON.stringify({ type: 'send', id: 'h5', text: 42, sentAt: 1 }), 'BAD_FRAME'],
    ['['.repeat(20_000) + ']'.repeat(20_000), 'BAD_FRAME'],
    [`{"type":"send"${',"x":1'.repeat(5_000)}}`, 'BAD_FRAME'],
    ['{"type":', 'BAD_JSON'],
    [JSON.stringify({ type: 'send', id: 'nul', text: 'a\u0000b', sentAt: 1 }), 'BAD_FRAME'],
    ['{"type":"send","id":"sur","text":"a\\ud800b","sentAt":1}', 'BAD_FRAME'],
    ['null', 'BAD_FRAME'],
    ['"just a string"', 'BAD_FRAME'],
  ];
  for (const [frame, code] of cases) {
    c.send(frame);
    t.match(await c.nextJson((f) => f.type === 'error'), { code }, frame.slice(0, 40));
  }
  // A `__proto__` cursor is dropped by the parser: the resume carries no cursors and pollutes nothing.
  c.send('{"type":"resume","cursors":{"__proto__":{"polluted":true}}}');
  t.same(await c.nextJson((f) => f.type === 'resumed'), { type: 'resumed', conversations: {}, truncated: [] });
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  c.send({ type: 'ping', id: 'still', sentAt: 1 });
  t.match(await c.nextJson((f) => f.type === 'pong'), { id: 'still' });

  const text = await textClient(server.base, 'nultext');
  text.send('a\u0000b,');
  t.equal(await text.next(), 'frame does not match the protocol: text may not contain NUL characters');
  await text.close();

  // Invalid UTF-8 in a text frame: the WebSocket layer closes that connection with 1007.
  const raw = new WebSocket(`${server.base}/ws/badutf8`);
  await new Promise((resolve) => raw.once('open', resolve));
  const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
  raw.send(Buffer.from([0xc3, 0x28]), { binary: false });
  t.equal(await closed, 1007);
  c.send({ type: 'ping', id: 'after', sentAt: 1 });
  t.match(await c.nextJson((f) => f.type === 'pong'), { id: 'after' }, 'the server is fine');
  await c.close();
});
