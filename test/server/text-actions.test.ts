import type { ServerFrame } from '@chorus/protocol';
import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { jsonClient, textClient } from '../helpers/ws-client.js';

// Message actions from a plain terminal client: short ids, one new line per
// action, and the original lines exactly as they were.
forEachTarget(t, { MAX_CLIENTS: '10' }, async (t, server) => {
  const alice = await textClient(server.base, 'alice');
  const bob = await textClient(server.base, 'bob');
  t.equal(await alice.next(), 'Client #bob joined the chat');
  const carol = await jsonClient(server.base, 'carol');
  t.same([await alice.next(), await bob.next()], ['Client #carol joined the chat', 'Client #carol joined the chat']);
  t.teardown(() => Promise.all([alice.close(), bob.close(), carol.close()]));

  alice.send('helo');
  t.equal(await alice.next(), 'You wrote: helo');
  t.equal(await bob.next(), 'Client #alice says: helo', 'the original line, unchanged');
  const first = await carol.nextJson((f) => f.type === 'message');

  await t.test('/recent lists the last messages with their short ids', async (t) => {
    alice.send('/recent');
    t.equal(await alice.next(), 'Recent messages in *:\n  */1 alice: helo');
    alice.send('/recent *');
    t.equal(await alice.next(), 'Recent messages in *:\n  */1 alice: helo');
    alice.send('/recent @nobody');
    t.equal(await alice.next(), 'No messages in @nobody yet');
  });

  await t.test('/edit: one line for everyone concerned, an action frame for JSON clients', async (t) => {
    alice.send('/edit */1 hello');
    t.equal(await alice.next(), 'Client #alice edited */1: hello');
    t.equal(await bob.next(), 'Client #alice edited */1: hello');
    t.match(await carol.nextJson((f) => f.type === 'action'), {
      type: 'action',
      action: 'edit',
      message: first.type === 'message' ? first.id : '',
      from: 'alice',
      conversation: 'everyone',
      seq: 2,
      text: 'hello',
    });
  });

  await t.test('/react, /unreact and /reply', async (t) => {
    bob.send('/react */1 👍');
    t.equal(await bob.next(), 'Client #bob reacted 👍 to */1');
    t.equal(await alice.next(), 'Client #bob reacted 👍 to */1');
    bob.send('/react */1 🎉');
    t.equal(await alice.next(), 'Client #bob reacted 🎉 to */1');
    bob.send('/unreact */1 🎉');
    t.equal(await alice.next(), 'Client #bob took back 🎉 on */1');
    t.equal(await bob.next(), 'Client #bob reacted 🎉 to */1');
    t.equal(await bob.next(), 'Client #bob took back 🎉 on */1');
    bob.send('/reply */1 indeed');
    t.equal(await bob.next(), 'You wrote: indeed');
    t.equal(await alice.next(), 'Client #bob says: indeed', 'a reply is a message: the original line');
    const reply = await carol.nextJson((f) => f.type === 'message');
    t.match(reply, { text: 'indeed', replyTo: { seq: 1, from: 'alice', text: 'hello' } });
    alice.send('/recent');
    t.equal(await alice.next(), 'Recent messages in *:\n  */1 alice: hello (edited)  [👍 1]\n  */6 bob (reply to */1): indeed');
  });

  await t.test('hostile commands get readable errors and change nothing', async (t) => {
    const cases: [string, string | RegExp][] = [
      ['/edit */1 mine now', /^you can only edit your own messages: /],
      ['/delete */1', /^only its sender or the room owner can delete this message: /],
      ['/edit */99 x', 'no such message: seq 99'],
      ['/edit */2 x', 'no such message: seq 2'],
      ['/react */1', 'not a reaction emoji: an emoji is required'],
      ['/react */1 wow', 'not a reaction emoji: not an emoji'],
      ['/edit 1 x', 'usage: /edit ID text'],
      ['/edit */1', 'usage: /edit ID text'],
      ['/reply #nowhere/1 hi', 'no such room: nowhere'],
      ['/recent #bad room', 'usage: /recent [* | #ROOM | @ID]'],
      ['/delete a/b', 'usage: /delete ID'],
      [`/edit */6 ${'x'.repeat(10_001)}`, 'text is too long: at most 10000 characters'],
      ['/delete general', 'no such room: general'],
    ];
    for (const [command, expected] of cases) {
      bob.send(command);
      const line = await bob.next();
      if (typeof expected === 'string') t.equal(line, expected, command.slice(0, 40));
      else t.match(line, expected, command);
    }
    // Nothing reached alice: her next line is this one.
    bob.send('marker');
    t.equal(await bob.next(), 'You wrote: marker');
    t.equal(await alice.next(), 'Client #bob says: marker');
  });

  await t.test('rooms: a non-member cannot read or act; the owner deletes any message', async (t) => {
    carol.send({ type: 'create-room', id: 'cr', room: 'den' });
    await carol.nextJson((f) => f.type === 'room');
    alice.send('/join den');
    t.equal(await alice.next(), 'You joined den (2 members: alice, carol)');
    alice.send('/room den in the den');
    t.equal(await alice.next(), 'You wrote: in the den');
    // The echo comes before the message is stored: wait for its delivery.
    const message = await carol.nextJson((f) => f.type === 'message');
    bob.send('/recent #den');
    t.equal(await bob.next(), 'you are not part of this conversation: room:den');
    bob.send('/react #den/1 👍');
    t.equal(await bob.next(), 'you are not part of this conversation: room:den');
    carol.send({ type: 'delete', id: 'd1', message: message.type === 'message' ? message.id : '' });
    t.equal(await alice.next(), 'Client #carol deleted #den/1');
    alice.send('/recent #den');
    t.equal(await alice.next(), 'Recent messages in #den:\n  #den/1 alice: (message deleted)');
  });

  await t.test('private messages: each side names the other; actions while away come on connect', async (t) => {
    alice.send('secret,bob');
    t.equal(await alice.next(), 'You wrote: secret');
    t.equal(await bob.next(), 'alice send a private message: secret');
    bob.send('/react @alice/1 ❤️');
    t.equal(await bob.next(), 'Client #bob reacted ❤️ to @alice/1');
    t.equal(await alice.next(), 'Client #bob reacted ❤️ to @bob/1');
    await bob.close();
    t.equal(await alice.next(), 'Client #bob left the chat');
    // Bob is offline: the text protocol refuses new private messages, but his own messages can still be acted on.
    alice.send('/edit @bob/1 secret!');
    t.equal(await alice.next(), 'Client #alice edited @bob/1: secret!');
    const back = await textClient(server.base, 'bob');
    t.teardown(() => back.close());
    // textClient has consumed its /time answer; what was kept came before it.
    t.same(back.frames.slice(0, 1), ['Client #alice edited @alice/1: secret!'], 'the edit made while away, once');
    t.same(await carolSawNothingPrivate(carol.frames), [], 'carol never saw the private conversation');
  });
});

async function carolSawNothingPrivate(frames: readonly string[]): Promise<string[]> {
  return frames.filter((f) => (JSON.parse(f) as ServerFrame & { conversation?: string }).conversation === 'dm:alice,bob');
}
