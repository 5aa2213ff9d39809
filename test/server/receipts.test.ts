import type { ReceiptsFrame } from '@chorus/protocol';
import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { jsonClient, type TestClient } from '../helpers/ws-client.js';

/** Waits until the sender's receipt counts for `id` reach `expected` (updates are batched and cumulative). */
async function receiptsUntil(client: TestClient, id: string, expected: { delivered: number; read: number }) {
  for (;;) {
    const frame = (await client.nextJson((f) => f.type === 'receipts')) as ReceiptsFrame;
    const update = frame.updates.find((u) => u.id === id);
    if (update && update.delivered === expected.delivered && update.read === expected.read) return update;
  }
}

forEachTarget(t, {}, async (t, server) => {
  const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((id) => jsonClient(server.base, id)));
  t.teardown(() => Promise.all([alice, bob, carol, dave].map((c) => c!.close())));

  await t.test('in a room of 3, the sender sees delivered and read counts of 2', async (t) => {
    alice!.send({ type: 'create-room', id: 'c', room: 'trio' });
    await alice!.nextJson((f) => f.type === 'room');
    for (const c of [bob!, carol!]) {
      c.send({ type: 'join-room', id: 'j', room: 'trio' });
      await c.nextJson((f) => f.type === 'room');
    }
    alice!.send({ type: 'send', id: 'm1', room: 'trio', text: 'hi both', sentAt: 1 });
    const ack = await alice!.nextJson((f) => f.type === 'ack');
    if (ack.type !== 'ack') throw new Error('expected ack');
    t.equal(ack.recipients, 2);
    const id = ack.id;
    for (const c of [bob!, carol!]) await c.nextJson((f) => f.type === 'message' && f.id === id);

    bob!.send({ type: 'receipt', status: 'delivered', from: 'alice', ids: [id] });
    t.same(await receiptsUntil(alice!, id, { delivered: 1, read: 0 }), { id, delivered: 1, read: 0 });
    // The same receipt again changes nothing; a read implies delivered.
    bob!.send({ type: 'receipt', status: 'delivered', from: 'alice', ids: [id] });
    carol!.send({ type: 'receipt', status: 'read', from: 'alice', ids: [id] });
    t.same(await receiptsUntil(alice!, id, { delivered: 2, read: 1 }), { id, delivered: 2, read: 1 });
    bob!.send({ type: 'receipt', status: 'read', from: 'alice', ids: [id] });
    t.same(await receiptsUntil(alice!, id, { delivered: 2, read: 2 }), { id, delivered: 2, read: 2 });
  });

  await t.test('a private message counts only its recipient; unknown ids are ignored', async (t) => {
    alice!.send({ type: 'send', id: 'p1', to: 'bob', text: 'psst', sentAt: 1 });
    const ack = await alice!.nextJson((f) => f.type === 'ack');
    if (ack.type !== 'ack') throw new Error('expected ack');
    t.equal(ack.recipients, 1);
    await bob!.nextJson((f) => f.type === 'message' && f.id === ack.id);
    dave!.send({ type: 'receipt', status: 'read', from: 'alice', ids: [ack.id, 'no-such-id'] });
    bob!.send({ type: 'receipt', status: 'read', from: 'alice', ids: [ack.id] });
    const update = await receiptsUntil(alice!, ack.id, { delivered: 1, read: 1 });
    t.same(update, { id: ack.id, delivered: 1, read: 1 }, 'dave is not counted');
    t.notOk(
      alice!.frames.some((f) => f.includes('no-such-id')),
      'receipts for unknown messages are not reported',
    );
  });

  await t.test('receipts are aggregated: one frame can carry many messages', async (t) => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) alice!.send({ type: 'send', id: `b${i}`, to: 'carol', text: `n${i}`, sentAt: 1 });
    for (let i = 0; i < 20; i++) {
      const ack = await alice!.nextJson((f) => f.type === 'ack');
      if (ack.type === 'ack') ids.push(ack.id);
    }
    carol!.send({ type: 'receipt', status: 'delivered', from: 'alice', ids });
    const frame = (await alice!.nextJson((f) => f.type === 'receipts')) as ReceiptsFrame;
    t.equal(frame.updates.length, 20, 'one frame for 20 messages');
  });

  await t.test('bad receipts are refused with a code', async (t) => {
    bob!.send({ type: 'receipt', status: 'seen', from: 'alice', ids: ['x'] });
    t.match(await bob!.nextJson((f) => f.type === 'error'), { code: 'BAD_FRAME' });
    bob!.send({ type: 'receipt', status: 'read', from: 'alice', ids: [] });
    t.match(await bob!.nextJson((f) => f.type === 'error'), { code: 'BAD_FRAME' });
  });
});
