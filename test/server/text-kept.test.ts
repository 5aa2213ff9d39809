import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startInProcess } from '../helpers/in-process-server.js';
import { forEachTarget } from '../helpers/targets.js';
import { jsonClient, textClient, type TestClient } from '../helpers/ws-client.js';

/** Sends a private message from a JSON client and waits for its ack (stored: kept for an offline recipient). */
async function sendPrivate(from: TestClient, to: string, ref: string, text: string): Promise<void> {
  from.send({ type: 'send', id: ref, to, text, sentAt: 1796227469181 });
  const answer = await from.nextJson((f) => (f.type === 'ack' || f.type === 'error') && f.ref === ref);
  if (answer.type !== 'ack') throw new Error(`not accepted: ${JSON.stringify(answer)}`);
}

/**
 * Closes `client` and waits until `watcher` (a JSON client) hears it left:
 * then the service has released its id everywhere, and it may connect again.
 */
async function leave(client: TestClient, watcher: TestClient, id: string): Promise<void> {
  await client.close();
  await watcher.nextJson((f) => f.type === 'presence' && f.left.includes(id));
}

/**
 * The frames a text client gets first on connecting, up to a marker the test
 * sends live: what it was kept comes before anything live, and nothing else.
 */
async function framesUntilMarker(client: TestClient, marker: TestClient, markerFrom: string, id: string): Promise<string[]> {
  await sendPrivate(marker, id, `${id}-marker-${Math.random()}`, 'marker');
  const frames: string[] = [];
  for (;;) {
    const frame = await client.next();
    if (frame === `${markerFrom} send a private message: marker`) return frames;
    frames.push(frame);
  }
}

// JSON senders may write to a text client that is away (it has connected
// before); a text client has no resume cursor, so the server keeps one per
// client and private conversation, and delivers what was kept, in the
// original wording, once, when the client is back.
forEachTarget(t, {}, async (t, server) => {
  await t.test('private messages kept while away arrive on reconnect, in order, in the original words, once', async (t) => {
    const alice = await jsonClient(server.base, 'kept-alice');
    const bob = await textClient(server.base, 'kept-bob');
    await leave(bob, alice, 'kept-bob');

    await sendPrivate(alice, 'kept-bob', 'k1', 'first, while you were away');
    await sendPrivate(alice, 'kept-bob', 'k2', 'second');
    const back = await textClient(server.base, 'kept-bob');
    t.same(
      await framesUntilMarker(back, alice, 'kept-alice', 'kept-bob'),
      ['kept-alice send a private message: first, while you were away', 'kept-alice send a private message: second'],
      'exactly the kept ones, before live traffic',
    );
    await leave(back, alice, 'kept-bob');

    const again = await textClient(server.base, 'kept-bob');
    t.same(await framesUntilMarker(again, alice, 'kept-alice', 'kept-bob'), [], 'given once: not again, nor the live marker');
    await Promise.all([again.close(), alice.close()]);
  });

  await t.test('what a text client got live, and what it sent itself, is not sent again', async (t) => {
    const carol = await jsonClient(server.base, 'live-carol');
    const dave = await textClient(server.base, 'live-dave');
    await sendPrivate(carol, 'live-dave', 'l1', 'live one');
    t.equal(await dave.next(), 'live-carol send a private message: live one');
    dave.send('an answer,live-carol');
    t.equal(await dave.next(), 'You wrote: an answer');
    await carol.nextJson((f) => f.type === 'message' && f.text === 'an answer');
    await leave(dave, carol, 'live-dave');
    await sendPrivate(carol, 'live-dave', 'l2', 'kept one');

    const back = await textClient(server.base, 'live-dave');
    t.same(await framesUntilMarker(back, carol, 'live-carol', 'live-dave'), ['live-carol send a private message: kept one']);
    await Promise.all([back.close(), carol.close()]);
  });

  await t.test('kept messages from several people, each conversation in order', async (t) => {
    const erin = await jsonClient(server.base, 'many-erin');
    const frank = await jsonClient(server.base, 'many-frank');
    const gus = await textClient(server.base, 'many-gus');
    await leave(gus, erin, 'many-gus');
    await sendPrivate(erin, 'many-gus', 'e1', 'e one');
    await sendPrivate(frank, 'many-gus', 'f1', 'f one');
    await sendPrivate(erin, 'many-gus', 'e2', 'e two');
    const back = await textClient(server.base, 'many-gus');
    const frames = await framesUntilMarker(back, erin, 'many-erin', 'many-gus');
    t.same([...frames].sort(), [
      'many-erin send a private message: e one',
      'many-erin send a private message: e two',
      'many-frank send a private message: f one',
    ]);
    t.ok(
      frames.indexOf('many-erin send a private message: e one') < frames.indexOf('many-erin send a private message: e two'),
      "each sender's order",
    );
    await Promise.all([back.close(), erin.close(), frank.close()]);
  });
});

t.test('the cursors are in storage: kept messages survive a restart, and are not sent twice after one', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-text-kept-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  let server = await startInProcess({ DATA_DIR: dataDir });
  let alice = await jsonClient(server.base, 'alice');
  const bob = await textClient(server.base, 'bob');
  await bob.close();
  await sendPrivate(alice, 'bob', 'r1', 'kept across a restart');
  await server.stop();
  await alice.closed;

  server = await startInProcess({ DATA_DIR: dataDir });
  alice = await jsonClient(server.base, 'alice');
  const back = await textClient(server.base, 'bob');
  t.same(await framesUntilMarker(back, alice, 'alice', 'bob'), ['alice send a private message: kept across a restart']);
  await back.close();
  await alice.close();
  await server.stop();

  server = await startInProcess({ DATA_DIR: dataDir });
  t.teardown(() => server.stop());
  alice = await jsonClient(server.base, 'alice');
  const later = await textClient(server.base, 'bob');
  t.same(await framesUntilMarker(later, alice, 'alice', 'bob'), [], 'its cursor was stored before the stop');
  await Promise.all([later.close(), alice.close()]);
});
