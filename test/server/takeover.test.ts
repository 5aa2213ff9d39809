import { CloseCode, ERRORS, shouldReconnect } from '@chorus/protocol';
import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { jsonClient, TestClient, textClient } from '../helpers/ws-client.js';

t.test('REPLACED: a terminal close code with its own error', async (t) => {
  t.equal(CloseCode.REPLACED, 4410);
  t.equal(shouldReconnect(CloseCode.REPLACED), false, 'the replaced connection must not reconnect by itself');
  t.equal(ERRORS.REPLACED.close, CloseCode.REPLACED);
});

forEachTarget(t, {}, async (t, server) => {
  const watcher = await jsonClient(server.base, 'watcher');
  t.teardown(() => watcher.close());

  await t.test('?takeover=1 takes a connected id: the old connection is told and closed with 4410, the new one is welcomed', async (t) => {
    let old = await jsonClient(server.base, 'alice');
    await watcher.nextJson((f) => f.type === 'presence' && f.joined.includes('alice'));
    // Back and forth a few times: in the cluster the two land on the same worker or on different ones.
    for (let round = 1; round <= 4; round++) {
      const next = new TestClient(`${server.base}/ws/alice?resume=1&takeover=1`, 'chorus.v1');
      t.same(
        JSON.parse(await old.next()),
        { type: 'error', code: 'REPLACED', message: 'this client id was taken over by another connection', retryable: false },
        `round ${round}: the old connection is told why`,
      );
      t.same(await old.closed, { code: 4410, reason: 'this client id was taken over by another connection' }, 'and closed with 4410');
      const welcome = await next.nextJson();
      t.match(
        welcome,
        { type: 'welcome', clientId: 'alice' },
        `the new connection is welcomed (on ${welcome.type === 'welcome' ? welcome.node : '?'})`,
      );
      next.send({ type: 'resume', cursors: {} });
      await next.nextJson((f) => f.type === 'resumed');
      watcher.send({ type: 'send', id: `to-alice-${round}`, to: 'alice', text: `round ${round}`, sentAt: Date.now() });
      t.match(
        await next.nextJson((f) => f.type === 'message'),
        { from: 'watcher', text: `round ${round}` },
        'messages to alice reach the new one',
      );
      await watcher.nextJson((f) => f.type === 'ack' && f.ref === `to-alice-${round}`);
      old = next;
    }
    await old.close();
    await watcher.nextJson((f) => f.type === 'presence' && f.left.includes('alice'));
  });

  await t.test('without takeover the id stays refused as taken', async (t) => {
    const first = await jsonClient(server.base, 'bob');
    const second = new TestClient(`${server.base}/ws/bob`, 'chorus.v1');
    t.match(JSON.parse(await second.next()), { code: 'CLIENT_ID_TAKEN' });
    t.equal((await second.closed).code, 4409);
    first.send({ type: 'ping', id: 'still', sentAt: 1 });
    t.match(await first.nextJson((f) => f.type === 'pong'), { id: 'still' }, 'the first is untouched');
    await first.close();
  });

  await t.test('takeover of a free id is a plain admission; text clients can take over and be replaced too', async (t) => {
    const json = new TestClient(`${server.base}/ws/carol?takeover=1`, 'chorus.v1');
    t.match(await json.nextJson(), { type: 'welcome', clientId: 'carol' });
    const text = new TestClient(`${server.base}/ws/carol?takeover=1`);
    // Presence from the suite's earlier clients may come first: the error is what matters.
    t.match(await json.nextJson((f) => f.type === 'error'), { code: 'REPLACED' });
    t.equal((await json.closed).code, 4410);
    await text.opened;
    text.send('/time');
    t.match(await text.next(), /^Server time: /, 'the text client is admitted');
    const back = new TestClient(`${server.base}/ws/carol?takeover=1`, 'chorus.v1');
    t.equal(await text.next(), 'this client id was taken over by another connection', 'the text client is told in its protocol');
    t.equal((await text.closed).code, 4410);
    t.match(await back.nextJson(), { type: 'welcome' });
    await back.close();
    const plain = await textClient(server.base, 'dave');
    await plain.close();
  });
});
