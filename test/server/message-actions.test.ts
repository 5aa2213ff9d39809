import type { ServerFrame } from '@chorus/protocol';
import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { jsonClient, type TestClient } from '../helpers/ws-client.js';

type Frame<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

/** Removes and returns the first frame of `type` (matching `match`), leaving the frames around it unread. */
async function extractJson<T extends ServerFrame['type']>(
  client: TestClient,
  type: T,
  match: (f: Frame<T>) => boolean = () => true,
): Promise<Frame<T>> {
  const raw = await client.extract((f) => {
    const parsed = JSON.parse(f) as ServerFrame;
    return parsed.type === type && match(parsed as Frame<T>);
  });
  return JSON.parse(raw) as Frame<T>;
}

/** A client frame with an id (some deliberately invalid). */
type ClientFrameLike = { id: string; [field: string]: unknown };

const byRef = (ref: string) => (f: { ref?: string }) => f.ref === ref;

/** Sends `frame` and waits for the ack with its id. */
async function acked(client: TestClient, frame: ClientFrameLike): Promise<Frame<'ack'>> {
  client.send(frame);
  return extractJson(client, 'ack', byRef(frame.id));
}

/** Sends `frame` and waits for the error with its id. */
async function refused(client: TestClient, frame: ClientFrameLike): Promise<Frame<'error'>> {
  client.send(frame);
  return extractJson(client, 'error', byRef(frame.id));
}

forEachTarget(t, { MAX_CLIENTS: '10' }, async (t, server) => {
  const alice = await jsonClient(server.base, 'alice');
  const bob = await jsonClient(server.base, 'bob');
  const carol = await jsonClient(server.base, 'carol');
  t.teardown(() => Promise.all([alice.close(), bob.close(), carol.close()]));

  // A lobby message from alice that everyone has.
  const sent = await acked(alice, { type: 'send', id: 'm1', text: 'helo all', sentAt: 1 });
  await extractJson(bob, 'message', (m) => m.id === sent.id);
  await extractJson(carol, 'message', (m) => m.id === sent.id);

  await t.test('edit: everyone concerned gets one action frame; the actor an ack with the action seq', async (t) => {
    const ack = await acked(alice, { type: 'edit', id: 'e1', message: sent.id, text: 'hello all' });
    t.match(ack, { type: 'ack', ref: 'e1', recipients: 0, conversation: 'everyone', seq: sent.seq + 1 });
    const expected = {
      type: 'action',
      id: ack.id,
      action: 'edit',
      message: sent.id,
      from: 'alice',
      conversation: 'everyone',
      seq: sent.seq + 1,
      text: 'hello all',
      serverAt: ack.serverAt,
    };
    t.same(await extractJson(bob, 'action'), expected, 'bob: the exact frame');
    t.same(await extractJson(carol, 'action'), expected);
    t.same(await extractJson(alice, 'action'), expected, "the actor's own connection gets it too");
  });

  await t.test('a retried edit (same id) is acknowledged again and not delivered again', async (t) => {
    const first = bob.frames.length;
    const again = await acked(alice, { type: 'edit', id: 'e1', message: sent.id, text: 'hello all' });
    t.match(again, { ref: 'e1', seq: sent.seq + 1 });
    // A marker after the retry: bob's next frames are the marker, no second action.
    const marker = await acked(alice, { type: 'send', id: 'marker1', text: 'marker', sentAt: 2 });
    await extractJson(bob, 'message', (m) => m.id === marker.id);
    const since = bob.frames.slice(first).map((f) => JSON.parse(f).type);
    t.same(
      since.filter((type) => type === 'action'),
      [],
      'no action frame for the retry',
    );
    t.match(await refused(alice, { type: 'react', id: 'e1', message: sent.id, emoji: '👍' }), { code: 'ID_REUSED' });
  });

  await t.test('hostile inputs get error frames with codes, and nothing is stored', async (t) => {
    const tooLong = 'x'.repeat(10_001);
    const cases: [ClientFrameLike, object][] = [
      [
        { type: 'edit', id: 'h1', message: sent.id, text: 'mine now' },
        { code: 'NOT_YOUR_MESSAGE', retryable: false },
      ],
      [
        { type: 'delete', id: 'h2', message: sent.id },
        { code: 'NOT_ALLOWED', retryable: false },
      ],
      [
        { type: 'edit', id: 'h3', message: 'no.such', text: 'x' },
        { code: 'UNKNOWN_MESSAGE', message: 'no such message: no.such' },
      ],
      [
        { type: 'react', id: 'h4', message: sent.id, emoji: '' },
        { code: 'BAD_EMOJI', message: 'not a reaction emoji: an emoji is required' },
      ],
      [
        { type: 'react', id: 'h5', message: sent.id, emoji: 'lol' },
        { code: 'BAD_EMOJI', message: 'not a reaction emoji: not an emoji' },
      ],
      [{ type: 'react', id: 'h6', message: sent.id, emoji: '👍'.repeat(17) }, { code: 'BAD_EMOJI' }],
      [
        { type: 'edit', id: 'h7', message: sent.id, text: tooLong },
        { code: 'BAD_FRAME', message: /text/ },
      ],
      [{ type: 'edit', id: 'h8', message: sent.id, text: '' }, { code: 'BAD_FRAME' }],
      [{ type: 'delete', id: 'h9', message: sent.id, extra: 1 }, { code: 'BAD_FRAME' }],
      [{ type: 'send', id: 'h10', text: 're', sentAt: 1, replyTo: 'no.such' }, { code: 'UNKNOWN_MESSAGE' }],
      [{ type: 'unreact', id: 'h11', message: 'no.such', emoji: '👍' }, { code: 'UNKNOWN_MESSAGE' }],
    ];
    for (const [frame, expected] of cases) t.match(await refused(bob, frame), { type: 'error', ref: frame.id, ...expected });
    // Nothing of that reached anyone: alice's next frame is bob's ping answer's neighbour, a message.
    const marker = await acked(bob, { type: 'send', id: 'marker2', text: 'marker', sentAt: 3 });
    await extractJson(alice, 'message', (m) => m.id === marker.id);
    t.same(
      alice.unread().filter((f) => JSON.parse(f).type === 'action'),
      [],
      'no action reached alice',
    );
  });

  await t.test('reactions: counts per emoji and who, live and in history; unreact takes one back', async (t) => {
    const r1 = await acked(bob, { type: 'react', id: 'r1', message: sent.id, emoji: '👍' });
    await acked(carol, { type: 'react', id: 'r2', message: sent.id, emoji: '👍' });
    await acked(carol, { type: 'react', id: 'r3', message: sent.id, emoji: '🎉' });
    t.match(await extractJson(alice, 'action', (a) => a.id === r1.id), { action: 'react', from: 'bob', text: '👍', message: sent.id });
    await acked(carol, { type: 'unreact', id: 'r4', message: sent.id, emoji: '🎉' });
    alice.send({ type: 'history', id: 'h', conversation: 'everyone' });
    const page = await extractJson(alice, 'history');
    const message = page.messages.find((m) => m.id === sent.id);
    t.match(message, { text: 'hello all', reactions: [{ emoji: '👍', by: ['bob', 'carol'] }] });
    t.type(message?.editedAt, 'number', 'history says it was edited');
    t.same(
      page.messages.map((m) => m.type),
      page.messages.map(() => 'message'),
      'history pages carry messages only: actions are applied to them',
    );
    t.same(
      page.actionSeqs,
      [sent.seq + 1, sent.seq + 4, sent.seq + 5, sent.seq + 6, sent.seq + 7],
      'and name the seqs of the actions (the edit, four reactions; refused ones took none)',
    );
  });

  await t.test('reply: the reply shows what it answers; only within its conversation', async (t) => {
    const reply = await acked(bob, { type: 'send', id: 'rp1', text: 'indeed', sentAt: 4, replyTo: sent.id });
    const got = await extractJson(alice, 'message', (m) => m.id === reply.id);
    t.same(got.replyTo, { id: sent.id, seq: sent.seq, from: 'alice', text: 'hello all' });
    const dm = await acked(alice, { type: 'send', id: 'dm1', to: 'bob', text: 'private', sentAt: 5 });
    await extractJson(bob, 'message', (m) => m.id === dm.id);
    t.match(await refused(bob, { type: 'send', id: 'rp2', text: 'x', sentAt: 6, replyTo: dm.id }), {
      code: 'UNKNOWN_MESSAGE',
      message: `no such message: ${dm.id} is not in everyone`,
    });
    t.match(await refused(carol, { type: 'send', id: 'rp3', to: 'alice', text: 'x', sentAt: 6, replyTo: dm.id }), {
      code: 'NOT_IN_CONVERSATION',
    });
  });

  await t.test('private messages: an action reaches the two only; a third cannot act on it', async (t) => {
    const dm = await acked(alice, { type: 'send', id: 'dm2', to: 'bob', text: 'secret', sentAt: 7 });
    await extractJson(bob, 'message', (m) => m.id === dm.id);
    t.match(await refused(carol, { type: 'react', id: 'c1', message: dm.id, emoji: '👀' }), { code: 'NOT_IN_CONVERSATION' });
    t.match(await refused(carol, { type: 'delete', id: 'c2', message: dm.id }), { code: 'NOT_IN_CONVERSATION' });
    const react = await acked(bob, { type: 'react', id: 'dmr', message: dm.id, emoji: '❤️' });
    t.match(await extractJson(alice, 'action', (a) => a.id === react.id), { conversation: 'dm:alice,bob', action: 'react' });
    t.match(await extractJson(bob, 'action', (a) => a.id === react.id), { conversation: 'dm:alice,bob' });
    const marker = await acked(bob, { type: 'send', id: 'marker3', text: 'marker', sentAt: 8 });
    await extractJson(carol, 'message', (m) => m.id === marker.id);
    t.same(
      carol.frames.filter((f) => f.includes('dm:alice,bob')),
      [],
      'carol never saw anything of the private conversation',
    );
  });

  await t.test('rooms: members see actions; the owner may delete any message; a non-member may not act', async (t) => {
    alice.send({ type: 'create-room', id: 'cr', room: 'den' });
    await extractJson(alice, 'room', byRef('cr'));
    bob.send({ type: 'join-room', id: 'jr', room: 'den' });
    await extractJson(bob, 'room', byRef('jr'));
    const own = await acked(bob, { type: 'send', id: 'rm1', room: 'den', text: 'in the den', sentAt: 9 });
    await extractJson(alice, 'message', (m) => m.id === own.id);
    t.match(await refused(carol, { type: 'react', id: 'c3', message: own.id, emoji: '👍' }), { code: 'NOT_IN_CONVERSATION' });
    const del = await acked(alice, { type: 'delete', id: 'd1', message: own.id });
    const expected = {
      type: 'action',
      id: del.id,
      action: 'delete',
      message: own.id,
      from: 'alice',
      conversation: 'room:den',
      seq: own.seq + 1,
      text: '',
      serverAt: del.serverAt,
    };
    t.same(await extractJson(bob, 'action', (a) => a.id === del.id), expected, 'the owner deleted a member’s message');
    t.match(await refused(bob, { type: 'edit', id: 'e9', message: own.id, text: 'back' }), { code: 'MESSAGE_DELETED' });
    t.match(await refused(bob, { type: 'send', id: 'rp9', room: 'den', text: 'x', sentAt: 1, replyTo: own.id }), {
      code: 'MESSAGE_DELETED',
    });
    bob.send({ type: 'history', id: 'hd', conversation: 'room:den' });
    const page = await extractJson(bob, 'history', byRef('hd'));
    t.same(
      page.messages.map((m) => ({ id: m.id, text: m.text, deleted: m.deleted })),
      [{ id: own.id, text: '', deleted: true }],
      'history: a tombstone, without its text',
    );
    // Bob deletes his own in the room too; carol (not a member) never saw the room.
    const mine = await acked(bob, { type: 'send', id: 'rm2', room: 'den', text: 'second', sentAt: 10 });
    await acked(bob, { type: 'delete', id: 'd2', message: mine.id });
    t.same(
      carol.frames.filter((f) => f.includes('room:den')),
      [],
    );
  });

  await t.test('resume after a reconnect: the actions missed, in order, once, then resumed', async (t) => {
    const note = await acked(alice, { type: 'send', id: 'rs1', text: 'before', sentAt: 11 });
    await extractJson(carol, 'message', (m) => m.id === note.id);
    await carol.close();
    const edit = await acked(alice, { type: 'edit', id: 'rs2', message: note.id, text: 'after' });
    const react = await acked(bob, { type: 'react', id: 'rs3', message: note.id, emoji: '🔥' });
    const del = await acked(alice, { type: 'delete', id: 'rs4', message: sent.id });
    const back = await jsonClient(server.base, 'carol', { resume: true });
    t.teardown(() => back.close());
    back.send({ type: 'resume', cursors: { everyone: note.seq } });
    const replay: ServerFrame[] = [];
    for (;;) {
      const f = await back.nextJson((f) => f.type === 'action' || f.type === 'message' || f.type === 'resumed');
      if (f.type === 'resumed') {
        t.same(f.conversations, { everyone: del.seq });
        break;
      }
      replay.push(f);
    }
    t.same(
      replay.map((f) => (f.type === 'action' ? [f.action, f.seq, f.message, f.text] : [f.type])),
      [
        ['edit', edit.seq, note.id, 'after'],
        ['react', react.seq, note.id, '🔥'],
        ['delete', del.seq, sent.id, ''],
      ],
      'each action once, in seq order, nothing else',
    );
  });
});
