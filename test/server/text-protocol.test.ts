import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { TestClient, textClient } from '../helpers/ws-client.js';

// Every row of DESIGN.md's text-protocol table, with the exact strings and order.
forEachTarget(t, { MAX_CLIENTS: '3' }, async (t, server) => {
  const alice = await textClient(server.base, 'alice');
  const bob = await textClient(server.base, 'bob');
  t.equal(await alice.next(), 'Client #bob joined the chat', 'everyone else hears of a new client');
  const carol = await textClient(server.base, 'carol');
  t.equal(await alice.next(), 'Client #carol joined the chat');
  t.equal(await bob.next(), 'Client #carol joined the chat');
  t.teardown(() => Promise.all([alice.close(), bob.close(), carol.close()]));
  // Wait until everyone is admitted everywhere: a private message from each reaches the next.
  for (const [from, to] of [
    [alice, bob],
    [bob, carol],
    [carol, alice],
  ] as const) {
    const target = to === bob ? 'bob' : to === carol ? 'carol' : 'alice';
    from.send(`ready?,${target}`);
    await from.next((f) => f === 'You wrote: ready?');
    await to.next((f) => f.endsWith('send a private message: ready?'));
  }

  await t.test('a frame without a comma goes to everyone else; the sender gets the echo', async (t) => {
    alice.send('hello');
    t.equal(await alice.next(), 'You wrote: hello');
    t.equal(await bob.next(), 'Client #alice says: hello');
    t.equal(await carol.next(), 'Client #alice says: hello');
  });

  await t.test('an empty target means everyone; the message keeps its commas', async (t) => {
    bob.send('hi, all, again,');
    t.equal(await bob.next(), 'You wrote: hi, all, again');
    t.equal(await alice.next(), 'Client #bob says: hi, all, again');
    t.equal(await carol.next(), 'Client #bob says: hi, all, again');
  });

  await t.test('the text after the LAST comma is the target, trimmed; only the target gets it', async (t) => {
    alice.send('psst, over here ,  bob ');
    t.equal(await alice.next(), 'You wrote: psst, over here ');
    t.equal(await bob.next(), 'alice send a private message: psst, over here ');
    // carol's next frame is the later broadcast, so she never saw the private one.
    alice.send('marker');
    t.equal(await alice.next(), 'You wrote: marker');
    t.equal(await carol.next(), 'Client #alice says: marker');
    t.equal(await bob.next(), 'Client #alice says: marker');
  });

  await t.test('a client may message itself: echo first, then the delivery', async (t) => {
    carol.send('note to self,carol');
    t.same(await carol.take(2), ['You wrote: note to self', 'carol send a private message: note to self']);
  });

  await t.test('an unknown target: echo first, then the error, to the sender only', async (t) => {
    bob.send('anyone?, nobody');
    t.same(await bob.take(2), ['You wrote: anyone?', 'nobody is not a valid client']);
    bob.send('spaces?,not an id');
    t.same(await bob.take(2), ['You wrote: spaces?', 'not an id is not a valid client']);
  });

  await t.test('order holds for a burst of mixed frames', async (t) => {
    for (let i = 0; i < 50; i++) alice.send(i % 2 === 0 ? `n${i},bob` : `n${i}`);
    const echoes = await alice.take(50);
    t.same(
      echoes,
      Array.from({ length: 50 }, (_, i) => `You wrote: n${i}`),
    );
    const atBob = await bob.take(50);
    t.same(
      atBob,
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? `alice send a private message: n${i}` : `Client #alice says: n${i}`)),
    );
    const atCarol = await carol.take(25);
    t.same(
      atCarol,
      Array.from({ length: 25 }, (_, k) => `Client #alice says: n${2 * k + 1}`),
    );
  });

  await t.test('over the cap: "Server full", then close 1013', async (t) => {
    const dave = new TestClient(`${server.base}/ws/dave`);
    t.equal(await dave.next(), 'Server full');
    t.same(await dave.closed, { code: 1013, reason: 'Server full' });
  });

  await t.test('someone leaves: everyone else is told', async (t) => {
    await carol.close();
    t.equal(await alice.next(), 'Client #carol left the chat');
    t.equal(await bob.next(), 'Client #carol left the chat');
  });

  await t.test('a disconnect frees its permit at once', async (t) => {
    const erin = await textClient(server.base, 'erin');
    t.equal(await alice.next(), 'Client #erin joined the chat');
    erin.send('in,');
    t.equal(await erin.next(), 'You wrote: in');
    t.equal(await alice.next(), 'Client #erin says: in');
    await erin.close();
  });
});
