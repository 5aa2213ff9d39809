import { TYPING_REFRESH_MS, TYPING_TTL_MS, type TypingEventFrame } from '@chorus/protocol';
import t from 'tap';
import { startInProcess } from '../helpers/in-process-server.js';
import { jsonClient } from '../helpers/ws-client.js';

t.test('typing indicators: forwarded with a server expiry, throttled, never to non-members', async (t) => {
  let now = 1_800_000_000_000;
  const server = await startInProcess({}, () => now);
  t.teardown(() => server.stop());
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((id) => jsonClient(server.base, id)));
  const typing = async (c: typeof alice) => (await c!.nextJson((f) => f.type === 'typing')) as TypingEventFrame;

  alice!.send({ type: 'typing', to: 'bob', active: true });
  t.same(await typing(bob), { type: 'typing', from: 'alice', to: 'bob', room: null, active: true, expiresAt: now + TYPING_TTL_MS });

  // A refresh sooner than the client's refresh interval allows is dropped; a later one goes through.
  alice!.send({ type: 'typing', to: 'bob', active: true });
  now += TYPING_REFRESH_MS;
  alice!.send({ type: 'typing', to: 'bob', active: true });
  t.match(await typing(bob), { active: true, expiresAt: now + TYPING_TTL_MS }, 'the dropped one never arrived');
  alice!.send({ type: 'typing', to: 'bob', active: false });
  t.match(await typing(bob), { active: false });

  alice!.send({ type: 'create-room', id: 'c', room: 'duo' });
  await alice!.nextJson((f) => f.type === 'room');
  bob!.send({ type: 'join-room', id: 'j', room: 'duo' });
  await bob!.nextJson((f) => f.type === 'room');
  alice!.send({ type: 'typing', room: 'duo', active: true });
  t.match(await typing(bob), { from: 'alice', room: 'duo', to: null, active: true });
  carol!.send({ type: 'typing', room: 'duo', active: true });
  t.match(await carol!.nextJson((f) => f.type === 'error'), { code: 'NOT_ROOM_MEMBER' });
  // In the lobby everyone else sees it; carol never saw the room's indicator.
  bob!.send({ type: 'typing', active: true });
  t.match(await typing(carol), { from: 'bob', to: null, room: null });
  t.match(await typing(alice), { from: 'bob', to: null, room: null });
  await Promise.all([alice!.close(), bob!.close(), carol!.close()]);
});
