import type { ServerFrame } from '@chorus/protocol';
import t from 'tap';
import { GENEROUS_LIMITS } from '../helpers/spawn-app.js';
import { forEachTarget } from '../helpers/targets.js';
import { jsonClient, TestClient, textClient } from '../helpers/ws-client.js';

const isType =
  <T extends ServerFrame['type']>(type: T) =>
  (f: ServerFrame): f is Extract<ServerFrame, { type: T }> =>
    f.type === type;

forEachTarget(t, { MAX_CLIENTS: '3' }, async (t, server) => {
  await t.test('welcome tells the client who it is, who is online and the server time', async (t) => {
    const before = Date.now();
    const raw = new TestClient(`${server.base}/ws/alice`, 'chorus.v1');
    await raw.opened;
    t.equal(raw.socket.protocol, 'chorus.v1');
    const welcome = await raw.nextJson();
    if (welcome.type !== 'welcome') throw new Error('expected welcome');
    t.equal(welcome.clientId, 'alice');
    t.equal(welcome.protocol, 'chorus.v1');
    t.same(welcome.online, ['alice']);
    t.ok(welcome.serverAt >= before - 1000 && welcome.serverAt <= Date.now() + 1000, 'server time is now');
    t.same(
      welcome.limits,
      {
        maxTextLength: 10_000,
        maxFrameBytes: 65_536,
        frameRate: { perSecond: Number(GENEROUS_LIMITS.MESSAGE_RATE), burst: Number(GENEROUS_LIMITS.MESSAGE_BURST) },
      },
      'limits: text, frame size, and the frame rate it may send at (MESSAGE_RATE, MESSAGE_BURST)',
    );
    t.match(welcome.node, /^(s|w\d+)-[0-9a-f]{6}$/);
    await raw.close();
  });

  const alice = await jsonClient(server.base, 'alice');
  const bob = await jsonClient(server.base, 'bob');
  t.teardown(() => Promise.all([alice.close(), bob.close()]));

  await t.test('presence: a join reaches the others, not the joiner (its welcome says it all)', async (t) => {
    const presence = await alice.nextJson((f) => f.type === 'presence' && f.joined.includes('bob'));
    t.same(presence.type === 'presence' && presence.left, []);
    alice.send({ type: 'send', id: 'sync', to: 'bob', text: 'sync', sentAt: 1 });
    t.match(await bob.nextJson(isType('message')), { text: 'sync' });
    const aboutHimself = bob.frames.map((f) => JSON.parse(f)).filter((f) => f.type === 'presence' && f.joined.includes('bob'));
    t.same(aboutHimself, [], 'bob got no presence frame about himself');
    await alice.nextJson(isType('ack'));
  });

  await t.test('send to everyone: an ack for the sender, the message for everyone else', async (t) => {
    alice.send({ type: 'send', id: 'c1', text: 'hello, all', sentAt: 1_700_000_000_000 });
    const ack = await alice.nextJson(isType('ack'));
    const msg = await bob.nextJson(isType('message'));
    if (ack.type !== 'ack' || msg.type !== 'message') throw new Error('unexpected frames');
    t.equal(ack.ref, 'c1');
    t.equal(msg.id, ack.id, 'the ack carries the server id of the delivered message');
    t.same(
      { from: msg.from, to: msg.to, text: msg.text, sentAt: msg.sentAt },
      {
        from: 'alice',
        to: null,
        text: 'hello, all',
        sentAt: 1_700_000_000_000,
      },
    );
    t.equal(msg.serverAt, ack.serverAt);
    t.same(
      alice
        .unread()
        .map((f) => JSON.parse(f).type)
        .filter((type) => type === 'message'),
      [],
      'the sender does not get its own broadcast',
    );
  });

  await t.test('a private message reaches its recipient only; messaging yourself works', async (t) => {
    bob.send({ type: 'send', id: 'p1', to: 'alice', text: 'psst', sentAt: 1 });
    t.match(await bob.nextJson(isType('ack')), { type: 'ack', ref: 'p1' });
    t.match(await alice.nextJson(isType('message')), { type: 'message', from: 'bob', to: 'alice', text: 'psst', sentAt: 1 });
    bob.send({ type: 'send', id: 'self', to: 'bob', text: 'memo', sentAt: 2 });
    const [ack, note] = (await bob.take(2)).map((f) => JSON.parse(f));
    t.match(ack, { type: 'ack', ref: 'self' }, 'the ack comes first');
    t.match(note, { type: 'message', id: ack.id, from: 'bob', to: 'bob', text: 'memo' });
  });

  await t.test('an unknown recipient: an error with the ref and no ack', async (t) => {
    alice.send({ type: 'send', id: 'u1', to: 'nobody', text: 'hi', sentAt: 3 });
    t.same(JSON.parse(await alice.next((f) => JSON.parse(f).type !== 'presence')), {
      type: 'error',
      code: 'UNKNOWN_RECIPIENT',
      message: 'recipient is not connected: nobody',
      retryable: true,
      ref: 'u1',
    });
  });

  await t.test('bad frames get an error with a code, and the connection survives', async (t) => {
    const errors: [string | Buffer, object][] = [
      ['{not json', { code: 'BAD_JSON' }],
      [JSON.stringify({ type: 'send', id: 'b1', text: '', sentAt: 1 }), { code: 'BAD_FRAME', ref: 'b1' }],
      [JSON.stringify({ type: 'send', id: 'b2', sentAt: 1 }), { code: 'BAD_FRAME', ref: 'b2', message: /text/ }],
      [JSON.stringify({ type: 'shout', id: 'b3' }), { code: 'BAD_FRAME', ref: 'b3' }],
      [JSON.stringify({ type: 'send', id: 'b4', to: 'a,b', text: 'x', sentAt: 1 }), { code: 'BAD_FRAME', ref: 'b4' }],
      [JSON.stringify({ type: 'send', id: 'b5', text: 'x', sentAt: 1, extra: true }), { code: 'BAD_FRAME', ref: 'b5' }],
      [JSON.stringify([1, 2]), { code: 'BAD_FRAME' }],
      [Buffer.from([1, 2, 3]), { code: 'BINARY_UNSUPPORTED' }],
    ];
    for (const [frame, expected] of errors) {
      alice.socket.send(frame);
      t.match(await alice.nextJson(isType('error')), { type: 'error', retryable: false, ...expected });
    }
    alice.send({ type: 'ping', id: 'after', sentAt: 42 });
    t.match(await alice.nextJson(isType('pong')), { type: 'pong', id: 'after', sentAt: 42 });
  });

  await t.test('ping answers with the server clock and echoes the client clock', async (t) => {
    const before = Date.now();
    bob.send({ type: 'ping', sentAt: 123 });
    const pong = await bob.nextJson(isType('pong'));
    if (pong.type !== 'pong') throw new Error('expected pong');
    t.equal(pong.sentAt, 123);
    t.notOk('id' in pong);
    t.ok(pong.serverAt >= before - 1000 && pong.serverAt <= Date.now() + 1000);
  });

  await t.test('text and JSON clients talk to each other', async (t) => {
    const carol = await textClient(server.base, 'carol');
    await alice.nextJson((f) => f.type === 'presence' && f.joined.includes('carol'));
    carol.send('hi json,alice');
    t.equal(await carol.next(), 'You wrote: hi json');
    t.match(await alice.nextJson(isType('message')), { from: 'carol', to: 'alice', text: 'hi json' });
    alice.send({ type: 'send', id: 'x1', to: 'carol', text: 'hi text', sentAt: 5 });
    t.equal(await carol.next(), 'alice send a private message: hi text');
    bob.send({ type: 'send', id: 'x2', text: 'to all', sentAt: 6 });
    t.equal(await carol.next(), 'Client #bob says: to all');

    await t.test('over the cap, a JSON client gets SERVER_FULL and close 1013', async (t) => {
      const dave = new TestClient(`${server.base}/ws/dave`, 'chorus.v1');
      t.same(JSON.parse(await dave.next()), { type: 'error', code: 'SERVER_FULL', message: 'Server full', retryable: true });
      t.same(await dave.closed, { code: 1013, reason: 'Server full' });
    });

    await carol.close();
    t.match(await alice.nextJson(isType('presence')), { joined: [], left: ['carol'] });
  });

  await t.test('a second connection with a connected id is refused; the first is untouched', async (t) => {
    const again = new TestClient(`${server.base}/ws/alice`, 'chorus.v1');
    t.same(JSON.parse(await again.next()), {
      type: 'error',
      code: 'CLIENT_ID_TAKEN',
      message: 'this client id is already connected',
      retryable: false,
    });
    t.same(await again.closed, { code: 4409, reason: 'this client id is already connected' });
    const textAgain = new TestClient(`${server.base}/ws/alice`);
    t.equal(await textAgain.next(), 'this client id is already connected');
    t.equal((await textAgain.closed).code, 4409);
    bob.send({ type: 'send', id: 'still', to: 'alice', text: 'still there?', sentAt: 7 });
    t.match(await alice.nextJson(isType('message')), { text: 'still there?' });
  });

  await t.test('someone leaves: presence tells the others', async (t) => {
    await bob.close();
    t.match(await alice.nextJson(isType('presence')), { joined: [], left: ['bob'] });
  });
});
