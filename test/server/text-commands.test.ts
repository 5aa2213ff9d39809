import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { textClient } from '../helpers/ws-client.js';

const HELP = `Commands:
  /help                list these commands
  /users               who is online
  /rooms               every room with its member count
  /create NAME         create a room (you own it and are its first member)
  /join NAME           join a room
  /leave NAME          leave a room
  /delete NAME         delete a room you own
  /delete ID           delete a message of yours (or any, in a room you own)
  /room NAME message   send a message to a room you are in
  /time                the server time
  /upload              how to upload a file (with curl), and your ticket for it
  /share FILE WHERE    share an uploaded file (WHERE: * everyone, #room, @id; a message may follow)
  /recent [WHERE]      the last messages with their ids (WHERE: * the lobby, #room, @id; ids: */12, #room/12, @bob/12)
  /edit ID text        replace the text of a message of yours
  /react ID EMOJI      react to a message
  /unreact ID EMOJI    take your reaction back
  /reply ID message    answer a message, in its conversation
  message,target       a private message (the text after the last comma is the recipient)
  message              a message to everyone (so is "message,")
  //text               a message that starts with a slash`;

// Every slash command's exact output, for a person with a plain terminal client.
forEachTarget(t, {}, async (t, server) => {
  const alice = await textClient(server.base, 'alice');
  const bob = await textClient(server.base, 'bob');
  t.equal(await alice.next(), 'Client #bob joined the chat');
  const carol = await textClient(server.base, 'carol');
  t.same([await alice.next(), await bob.next()], ['Client #carol joined the chat', 'Client #carol joined the chat']);
  t.teardown(() => Promise.all([alice.close(), bob.close(), carol.close()]));

  await t.test('/help lists every command', async (t) => {
    alice.send('/help');
    t.equal(await alice.next(), HELP);
  });

  await t.test('/users lists who is online, sorted', async (t) => {
    carol.send('/users');
    t.equal(await carol.next(), 'Online (3): alice, bob, carol');
  });

  await t.test('/time gives the server clock', async (t) => {
    const before = Date.now();
    bob.send('/time');
    const [, iso, ms] = /^Server time: (\S+) \((\d+)\)$/.exec(await bob.next()) ?? [];
    t.equal(new Date(iso!).getTime(), Number(ms));
    t.ok(Number(ms) >= before - 1000 && Number(ms) <= Date.now() + 1000);
  });

  await t.test('rooms: create, list, join, talk, leave, delete', async (t) => {
    alice.send('/rooms');
    t.equal(await alice.next(), 'No rooms yet: create one with /create NAME');
    alice.send('/create General');
    t.equal(await alice.next(), 'Room general created; you are its owner');
    alice.send('/create general');
    t.equal(await alice.next(), 'a room with this name already exists: general');
    bob.send('/join general');
    t.equal(await bob.next(), 'You joined general (2 members: alice, bob)');
    t.equal(await alice.next(), 'Client #bob joined general');
    carol.send('/rooms');
    t.equal(await carol.next(), 'Rooms: general (2 members, owner alice)');

    bob.send('/room general hello, room');
    t.equal(await bob.next(), 'You wrote: hello, room');
    t.equal(await alice.next(), 'Client #bob says in general: hello, room');
    carol.send('/room general let me in');
    // A room message that cannot go out gets the error alone, no echo saying it went out.
    t.equal(await carol.next(), 'you are not a member of this room: general');
    carol.send('/room nowhere hi');
    t.equal(await carol.next(), 'no such room: nowhere');
    // carol saw nothing of the room: her next frame is this broadcast.
    alice.send('marker');
    t.equal(await alice.next(), 'You wrote: marker');
    t.equal(await carol.next(), 'Client #alice says: marker');
    t.equal(await bob.next(), 'Client #alice says: marker');

    bob.send('/leave general');
    t.equal(await bob.next(), 'You left general');
    t.equal(await alice.next(), 'Client #bob left general');
    bob.send('/leave general');
    t.equal(await bob.next(), 'you are not a member of this room: general');
    bob.send('/join general');
    t.equal(await bob.next(), 'You joined general (2 members: alice, bob)');
    t.equal(await alice.next(), 'Client #bob joined general');
    bob.send('/delete general');
    t.equal(await bob.next(), 'only the owner can delete this room: general belongs to alice');
    alice.send('/delete general');
    t.equal(await alice.next(), 'Room general deleted');
    t.equal(await bob.next(), 'Room general was deleted by alice');
    bob.send('/room general anyone?');
    t.equal(await bob.next(), 'no such room: general');
    carol.send('/rooms');
    t.equal(await carol.next(), 'No rooms yet: create one with /create NAME');
  });

  await t.test('bad room names and bad usage get a short answer', async (t) => {
    alice.send('/create bad!name');
    t.equal(await alice.next(), 'invalid room name: room name may only contain letters, digits and _ . -');
    alice.send('/create everyone');
    t.equal(await alice.next(), 'invalid room name: "everyone" is reserved');
    alice.send(`/create ${'x'.repeat(33)}`);
    t.equal(await alice.next(), 'invalid room name: room name is longer than 32 characters');
    alice.send('/create');
    t.equal(await alice.next(), 'usage: /create NAME');
    alice.send('/join two words');
    t.equal(await alice.next(), 'usage: /join NAME');
    alice.send('/room general');
    t.equal(await alice.next(), 'usage: /room NAME message');
  });

  await t.test('an unknown command points to /help; //text sends a slash', async (t) => {
    bob.send('/dance now');
    t.equal(await bob.next(), 'unknown command: /dance: type /help for the list');
    bob.send('//shrug');
    t.equal(await bob.next(), 'You wrote: /shrug');
    t.equal(await alice.next(), 'Client #bob says: /shrug');
    t.equal(await carol.next(), 'Client #bob says: /shrug');
    bob.send('//me waves,alice');
    t.equal(await bob.next(), 'You wrote: /me waves');
    t.equal(await alice.next(), 'bob send a private message: /me waves');
  });
});
