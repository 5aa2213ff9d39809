import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AckFrame, HistoryPageFrame, MessageFrame, ReceiptsFrame } from '@chorus/protocol';
import t from 'tap';
import { startInProcess } from '../helpers/in-process-server.js';
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

/** Waits until `watcher` has heard that every one of `ids` left. */
async function wentAway(watcher: TestClient, ids: readonly string[]): Promise<void> {
  const waiting = new Set(ids);
  while (waiting.size > 0) {
    const presence = await watcher.nextJson((f) => f.type === 'presence');
    if (presence.type === 'presence') for (const id of presence.left) waiting.delete(id);
  }
}

/** A message frame as the protocol writes it, for exact comparisons. */
function messageFrame(fields: Omit<MessageFrame, 'type'>): string {
  return JSON.stringify({ type: 'message', ...fields });
}

// Ticks must survive a reload and a later session: the counts come back with
// history and resume, from storage (another worker, or a restarted server,
// never saw the receipts).
forEachTarget(t, {}, async (t, server) => {
  await t.test('history and resume bring the sender its counts; nobody else gets them', async (t) => {
    const [alice, bob, carol] = await Promise.all(['hist-a', 'hist-b', 'hist-c'].map((id) => jsonClient(server.base, id)));
    alice!.send({ type: 'create-room', id: 'c', room: 'ticks' });
    await alice!.nextJson((f) => f.type === 'room');
    for (const c of [bob!, carol!]) {
      c.send({ type: 'join-room', id: 'j', room: 'ticks' });
      await c.nextJson((f) => f.type === 'room');
    }
    alice!.send({ type: 'send', id: 'r1', room: 'ticks', text: 'seen by one of two', sentAt: 1796227469181 });
    const roomAck = (await alice!.nextJson((f) => f.type === 'ack' && f.ref === 'r1')) as AckFrame;
    alice!.send({ type: 'send', id: 'd1', to: 'hist-b', text: 'private', sentAt: 1796227469182 });
    const dmAck = (await alice!.nextJson((f) => f.type === 'ack' && f.ref === 'd1')) as AckFrame;
    alice!.send({ type: 'send', id: 'd2', to: 'hist-b', text: 'not received yet', sentAt: 1796227469183 });
    const unreadAck = (await alice!.nextJson((f) => f.type === 'ack' && f.ref === 'd2')) as AckFrame;
    await bob!.nextJson((f) => f.type === 'message' && f.id === unreadAck.id);
    bob!.send({ type: 'receipt', status: 'read', from: 'hist-a', ids: [roomAck.id, dmAck.id] });
    carol!.send({ type: 'receipt', status: 'delivered', from: 'hist-a', ids: [roomAck.id] });
    await receiptsUntil(alice!, roomAck.id, { delivered: 2, read: 1 });
    await Promise.all([alice!.close(), bob!.close()]);
    // Once carol hears they left, their ids are free everywhere (in the cluster, too).
    await wentAway(carol!, ['hist-a', 'hist-b']);
    await carol!.close();

    // A later session (in the cluster, maybe on the other worker).
    const again = await jsonClient(server.base, 'hist-a', { resume: true });
    again.send({ type: 'resume', cursors: { 'room:ticks': 0 } });
    const replayed = await again.next((f) => f.includes(roomAck.id));
    t.equal(
      replayed,
      messageFrame({
        id: roomAck.id,
        from: 'hist-a',
        to: null,
        room: 'ticks',
        conversation: 'room:ticks',
        seq: roomAck.seq,
        text: 'seen by one of two',
        sentAt: 1796227469181,
        serverAt: roomAck.serverAt,
        receipts: { recipients: 2, delivered: 2, read: 1 },
      }),
      'resume: read by 1 of 2, delivered to 2 of 2',
    );
    await again.nextJson((f) => f.type === 'resumed');
    again.send({ type: 'history', id: 'h', conversation: 'dm:hist-a,hist-b' });
    const page = (await again.nextJson((f) => f.type === 'history')) as HistoryPageFrame;
    const [newest, older] = page.messages;
    t.same(
      older,
      {
        type: 'message',
        id: dmAck.id,
        from: 'hist-a',
        to: 'hist-b',
        room: null,
        conversation: 'dm:hist-a,hist-b',
        seq: dmAck.seq,
        text: 'private',
        sentAt: 1796227469182,
        serverAt: dmAck.serverAt,
        receipts: { recipients: 1, delivered: 1, read: 1 },
      },
      'history: read',
    );
    // No receipt yet: nothing stored. The node that routed it still knows it was for one
    // (another worker does not): then the page says so.
    if (newest!.receipts !== undefined)
      t.same(newest!.receipts, { recipients: 1, delivered: 0, read: 0 }, 'history: sent, not delivered yet');
    await again.close();

    const reader = await jsonClient(server.base, 'hist-b');
    reader.send({ type: 'history', id: 'h', conversation: 'dm:hist-a,hist-b' });
    const theirs = (await reader.nextJson((f) => f.type === 'history')) as HistoryPageFrame;
    t.ok(
      theirs.messages.every((m) => m.receipts === undefined),
      "the recipient does not get the sender's counts",
    );
    await reader.close();
  });
});

t.test('counts come back after a restart, from storage alone', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-receipts-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  let server = await startInProcess({ DATA_DIR: dataDir });
  const alice = await jsonClient(server.base, 'alice');
  const bob = await jsonClient(server.base, 'bob');
  alice.send({ type: 'send', id: 'kept-1', to: 'bob', text: 'read before the restart', sentAt: 1796227469181 });
  const ack = (await alice.nextJson((f) => f.type === 'ack')) as AckFrame;
  await bob.nextJson((f) => f.type === 'message');
  bob.send({ type: 'receipt', status: 'read', from: 'alice', ids: [ack.id] });
  await receiptsUntil(alice, ack.id, { delivered: 1, read: 1 });
  // The stop writes what is pending, then closes storage.
  await server.stop();
  await Promise.all([alice.closed, bob.closed]);

  server = await startInProcess({ DATA_DIR: dataDir });
  t.teardown(() => server.stop());
  const later = await jsonClient(server.base, 'alice');
  later.send({ type: 'history', id: 'h', conversation: 'dm:alice,bob' });
  t.equal(
    await later.next((f) => f.includes('"type":"history"')),
    JSON.stringify({
      type: 'history',
      conversation: 'dm:alice,bob',
      messages: [
        {
          type: 'message',
          id: ack.id,
          from: 'alice',
          to: 'bob',
          room: null,
          conversation: 'dm:alice,bob',
          seq: 1,
          text: 'read before the restart',
          sentAt: 1796227469181,
          serverAt: ack.serverAt,
          receipts: { recipients: 1, delivered: 1, read: 1 },
        },
      ],
      more: false,
      ref: 'h',
    }),
  );
  await later.close();
});
