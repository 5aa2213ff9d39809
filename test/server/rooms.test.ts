import type { ServerFrame } from '@chorus/protocol';
import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { jsonClient, type TestClient } from '../helpers/ws-client.js';

const of =
  <T extends ServerFrame['type']>(type: T) =>
  (f: ServerFrame): f is Extract<ServerFrame, { type: T }> =>
    f.type === type;

async function next<T extends ServerFrame['type']>(client: TestClient, type: T): Promise<Extract<ServerFrame, { type: T }>> {
  return (await client.nextJson(of(type))) as Extract<ServerFrame, { type: T }>;
}

forEachTarget(t, {}, async (t, server) => {
  const alice = await jsonClient(server.base, 'alice');
  const bob = await jsonClient(server.base, 'bob');
  const carol = await jsonClient(server.base, 'carol');
  t.teardown(() => Promise.all([alice.close(), bob.close(), carol.close()]));

  await t.test('create: the creator owns the room and is its first member; everyone sees it listed', async (t) => {
    alice.send({ type: 'create-room', id: 'c1', room: 'Lounge' });
    t.same(await next(alice, 'room'), { type: 'room', ref: 'c1', name: 'lounge', owner: 'alice', members: ['alice'] });
    t.same(await next(carol, 'rooms'), { type: 'rooms', rooms: [{ name: 'lounge', owner: 'alice', members: 1 }], deleted: [] });
    alice.send({ type: 'create-room', id: 'c2', room: 'lounge' });
    t.match(await next(alice, 'error'), { code: 'ROOM_EXISTS', ref: 'c2' });
    alice.send({ type: 'create-room', id: 'c3', room: 'no spaces' });
    t.match(await next(alice, 'error'), { code: 'BAD_FRAME', ref: 'c3' });
    alice.send({ type: 'create-room', id: 'c4', room: 'lobby' });
    t.match(await next(alice, 'error'), { code: 'BAD_ROOM_NAME', ref: 'c4', message: 'invalid room name: "lobby" is reserved' });
  });

  await t.test('join: the joiner gets the member list, the members get the joiner', async (t) => {
    bob.send({ type: 'join-room', id: 'j1', room: 'lounge' });
    t.same(await next(bob, 'room'), { type: 'room', ref: 'j1', name: 'lounge', owner: 'alice', members: ['alice', 'bob'] });
    t.match(await next(alice, 'room-members'), { room: 'lounge', joined: ['bob'], left: [] });
    t.match(await next(carol, 'rooms'), { rooms: [{ name: 'lounge', members: 2 }] });
    carol.send({ type: 'list-rooms', id: 'l1' });
    t.same(await next(carol, 'rooms'), { type: 'rooms', ref: 'l1', rooms: [{ name: 'lounge', owner: 'alice', members: 2 }], deleted: [] });
    carol.send({ type: 'join-room', id: 'j2', room: 'nowhere' });
    t.match(await next(carol, 'error'), { code: 'ROOM_NOT_FOUND', ref: 'j2' });
  });

  await t.test('a room message reaches its members only; a non-member is refused', async (t) => {
    alice.send({ type: 'send', id: 'r1', room: 'lounge', text: 'members only', sentAt: 1 });
    const ack = await next(alice, 'ack');
    t.match(ack, { ref: 'r1', recipients: 1 });
    t.match(await next(bob, 'message'), { id: ack.id, from: 'alice', to: null, room: 'lounge', text: 'members only' });
    carol.send({ type: 'send', id: 'r2', room: 'lounge', text: 'let me in', sentAt: 1 });
    t.match(await next(carol, 'error'), { code: 'NOT_ROOM_MEMBER', ref: 'r2' });
    alice.send({ type: 'send', id: 'r3', text: 'lobby marker', sentAt: 1 });
    t.match(await next(carol, 'message'), { text: 'lobby marker', room: null }, 'carol got no room message before this');
    t.match(await next(bob, 'message'), { text: 'lobby marker' });
    t.match(await next(alice, 'ack'), { ref: 'r3', recipients: 2 });
  });

  await t.test('the owner disconnecting leaves the room and its ownership intact', async (t) => {
    await alice.close();
    t.match(await bob.nextJson((f) => f.type === 'presence' && f.left.includes('alice')), { left: ['alice'] });
    const again = await jsonClient(server.base, 'alice');
    const welcome = again.frames.map((f) => JSON.parse(f)).find((f) => f.type === 'welcome');
    t.same(welcome.memberOf, ['lounge'], 'still a member after reconnecting');
    t.same(welcome.rooms, [{ name: 'lounge', owner: 'alice', members: 2 }]);
    bob.send({ type: 'send', id: 'r4', room: 'lounge', text: 'welcome back', sentAt: 1 });
    t.match(await next(again, 'message'), { room: 'lounge', text: 'welcome back' });

    await t.test('a member that drops without a goodbye is gone from presence, not from the room', async (t) => {
      carol.send({ type: 'join-room', id: 'j3', room: 'lounge' });
      await next(carol, 'room');
      carol.socket.terminate();
      t.match(await bob.nextJson((f) => f.type === 'presence' && f.left.includes('carol')), { left: ['carol'] });
      const back = await jsonClient(server.base, 'carol');
      bob.send({ type: 'send', id: 'r5', room: 'lounge', text: 'still in?', sentAt: 1 });
      t.match(await next(back, 'message'), { room: 'lounge', text: 'still in?' });

      await t.test('leave: the leaver is answered, the others told', async (t) => {
        back.send({ type: 'leave-room', id: 'x1', room: 'lounge' });
        t.same(await next(back, 'room-left'), { type: 'room-left', ref: 'x1', room: 'lounge' });
        t.match(await bob.nextJson((f) => f.type === 'room-members' && f.left.length > 0), { room: 'lounge', joined: [], left: ['carol'] });
        back.send({ type: 'leave-room', id: 'x2', room: 'lounge' });
        t.match(await next(back, 'error'), { code: 'NOT_ROOM_MEMBER', ref: 'x2' });
        await back.close();
      });
    });

    await t.test('delete: only the owner; members are told and removed', async (t) => {
      bob.send({ type: 'delete-room', id: 'd1', room: 'lounge' });
      t.match(await next(bob, 'error'), {
        code: 'NOT_ROOM_OWNER',
        ref: 'd1',
        message: 'only the owner can delete this room: lounge belongs to alice',
      });
      again.send({ type: 'delete-room', id: 'd2', room: 'lounge' });
      t.same(await next(again, 'room-deleted'), { type: 'room-deleted', ref: 'd2', room: 'lounge', by: 'alice' });
      t.same(await next(bob, 'room-deleted'), { type: 'room-deleted', room: 'lounge', by: 'alice' });
      t.match(await next(bob, 'rooms'), { rooms: [], deleted: ['lounge'] });
      bob.send({ type: 'send', id: 'r6', room: 'lounge', text: 'hello?', sentAt: 1 });
      t.match(await next(bob, 'error'), { code: 'ROOM_NOT_FOUND', ref: 'r6' });
      await again.close();
    });
  });
});
