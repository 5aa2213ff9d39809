import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { TestClient, textClient } from '../helpers/ws-client.js';

forEachTarget(t, { MAX_FRAME_BYTES: '2048' }, async (t, server) => {
  await t.test('a frame larger than MAX_FRAME_BYTES closes with 1009; others are unaffected', async (t) => {
    const watcher = await textClient(server.base, 'watcher');
    const big = await textClient(server.base, 'big');
    t.equal(await watcher.next(), 'Client #big joined the chat');
    big.send('x'.repeat(2049));
    t.equal((await big.closed).code, 1009);
    t.equal(await watcher.next(), 'Client #big left the chat');
    watcher.send(`${'x'.repeat(2000)},watcher`);
    t.equal(await watcher.next(), `You wrote: ${'x'.repeat(2000)}`);
    await watcher.close();
  });

  await t.test('a binary frame on the text protocol is answered and the connection stays', async (t) => {
    const c = await textClient(server.base, 'bin');
    c.socket.send(Buffer.from([0, 1, 2]));
    t.equal(await c.next(), 'binary frames are not supported');
    c.send('still here,bin');
    t.same(await c.take(2), ['You wrote: still here', 'bin send a private message: still here']);
    await c.close();
  });

  await t.test('frames sent before admission completes are handled, in order', async (t) => {
    const c = new TestClient(`${server.base}/ws/early`);
    c.socket.once('open', () => {
      for (let i = 0; i < 5; i++) c.send(`early${i},early`);
    });
    const frames = await c.take(10);
    t.same(frames, Array.from({ length: 5 }, (_, i) => [`You wrote: early${i}`, `early send a private message: early${i}`]).flat());
    await c.close();
  });
});
