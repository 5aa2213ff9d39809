import type { AckFrame, HistoryPageFrame, MessageFrame, ResumedFrame, ServerFrame } from '@chorus/protocol';
import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { jsonClient, type TestClient, textClient } from '../helpers/ws-client.js';

const is =
  <T extends ServerFrame['type']>(type: T) =>
  (f: ServerFrame): f is Extract<ServerFrame, { type: T }> =>
    f.type === type;

async function ack(c: TestClient, ref: string): Promise<AckFrame> {
  return (await c.nextJson((f) => f.type === 'ack' && f.ref === ref)) as AckFrame;
}

async function page(c: TestClient, ref: string): Promise<HistoryPageFrame> {
  return (await c.nextJson((f) => f.type === 'history' && f.ref === ref)) as HistoryPageFrame;
}

forEachTarget(t, {}, async (t, server) => {
  await t.test('acks carry the conversation and seq; messages too', async (t) => {
    const a = await jsonClient(server.base, 'seqa');
    const b = await jsonClient(server.base, 'seqb');
    a.send({ type: 'send', id: 's1', to: 'seqb', text: 'one', sentAt: 1 });
    t.match(await ack(a, 's1'), { conversation: 'dm:seqa,seqb', seq: 1, recipients: 1 });
    t.match(await b.nextJson(is('message')), { conversation: 'dm:seqa,seqb', seq: 1, text: 'one' });
    b.send({ type: 'send', id: 's2', to: 'seqa', text: 'two', sentAt: 1 });
    t.match(await ack(b, 's2'), { conversation: 'dm:seqa,seqb', seq: 2 });
    await Promise.all([a.close(), b.close()]);
  });

  await t.test('a retried send (same id) is stored and delivered once', async (t) => {
    const a = await jsonClient(server.base, 'retrya');
    const b = await jsonClient(server.base, 'retryb');
    a.send({ type: 'send', id: 'same', to: 'retryb', text: 'only once', sentAt: 1 });
    a.send({ type: 'send', id: 'same', to: 'retryb', text: 'only once', sentAt: 1 });
    const [first, second] = [await ack(a, 'same'), await ack(a, 'same')];
    t.equal(second.id, first.id, 'the retry is acknowledged with the original id');
    t.equal(second.seq, first.seq);
    a.send({ type: 'send', id: 'after', to: 'retryb', text: 'next', sentAt: 1 });
    await ack(a, 'after');
    const received = [await b.nextJson(is('message')), await b.nextJson(is('message'))] as MessageFrame[];
    t.same(
      received.map((m) => m.text),
      ['only once', 'next'],
      'the recipient got it once',
    );
    b.send({ type: 'history', id: 'h', conversation: 'dm:retrya,retryb' });
    t.same(
      (await page(b, 'h')).messages.map((m) => m.text),
      ['next', 'only once'],
      'stored once',
    );
    await Promise.all([a.close(), b.close()]);
  });

  await t.test('an id reused for another message after a reconnect is refused, never acknowledged for the old one', async (t) => {
    const b = await jsonClient(server.base, 'reuseb');
    let a = await jsonClient(server.base, 'reusea');
    a.send({ type: 'send', id: '1', to: 'reuseb', text: 'first', sentAt: 1 });
    const first = await ack(a, '1');
    t.match(await b.nextJson(is('message')), { text: 'first', id: first.id });
    await a.close();
    // Reconnect once the cluster has let the guest id go (on two workers the
    // release travels through the primary; before it, the id is still taken).
    await b.nextJson((f) => f.type === 'presence' && (f as { left: string[] }).left.includes('reusea'));
    // A restarted script counts its ids from 1 again.
    a = await jsonClient(server.base, 'reusea');
    a.send({ type: 'send', id: '1', to: 'reuseb', text: 'second', sentAt: 2 });
    const refused = await a.nextJson((f) => f.type === 'error' || f.type === 'ack');
    t.match(refused, { type: 'error', code: 'ID_REUSED', ref: '1', retryable: false }, 'an error, not an ack of the first message');
    // The same id to another conversation is another message too.
    a.send({ type: 'send', id: '1', text: 'first', sentAt: 3 });
    t.match(await a.nextJson((f) => f.type === 'error' || f.type === 'ack'), { type: 'error', code: 'ID_REUSED', ref: '1' });
    // A true retry (same conversation, same text) is still acknowledged with the original.
    a.send({ type: 'send', id: '1', to: 'reuseb', text: 'first', sentAt: 1 });
    t.match(await ack(a, '1'), { id: first.id, seq: first.seq });
    a.send({ type: 'send', id: '2', to: 'reuseb', text: 'second', sentAt: 2 });
    t.match(await ack(a, '2'), { seq: first.seq + 1 }, 'with a new id it is stored');
    // A retry that reaches another worker is routed again (the original may never have
    // gone out); clients keep one copy per (conversation, seq). Nothing else may arrive.
    const seen: string[] = [];
    for (let m = (await b.nextJson(is('message'))) as MessageFrame; ; m = (await b.nextJson(is('message'))) as MessageFrame) {
      seen.push(`${m.seq}:${m.text}`);
      if (m.text === 'second') break;
    }
    t.ok(
      seen.every((s) => s === `${first.seq}:first` || s === `${first.seq + 1}:second`),
      `the recipient got nothing of the refused sends (${seen.join(', ')})`,
    );
    b.send({ type: 'history', id: 'h', conversation: 'dm:reusea,reuseb' });
    t.same(
      (await page(b, 'h')).messages.map((m) => m.text),
      ['second', 'first'],
      'stored: exactly what was acknowledged',
    );
    await Promise.all([a.close(), b.close()]);
  });

  await t.test('history pages back, newest first, with exact edges', async (t) => {
    const c = await jsonClient(server.base, 'pager');
    const room = 'paging';
    c.send({ type: 'create-room', id: 'c', room });
    await c.nextJson(is('room'));
    c.send({ type: 'history', id: 'empty', conversation: `room:${room}`, limit: 5 });
    t.same(await page(c, 'empty'), { type: 'history', ref: 'empty', conversation: `room:${room}`, messages: [], more: false });
    for (let i = 1; i <= 10; i++) c.send({ type: 'send', id: `p${i}`, room, text: `m${i}`, sentAt: i });
    await ack(c, 'p10');
    c.send({ type: 'history', id: 'one', conversation: `room:${room}`, limit: 20 });
    const all = await page(c, 'one');
    t.same(
      all.messages.map((m) => m.seq),
      [10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
    );
    t.equal(all.more, false, 'one page holds everything');
    c.send({ type: 'history', id: 'exact', conversation: `room:${room}`, limit: 10 });
    t.equal((await page(c, 'exact')).more, false, 'a page exactly the size of the rest says there is no more');
    c.send({ type: 'history', id: 'p1', conversation: `room:${room}`, limit: 4 });
    const p1 = await page(c, 'p1');
    t.same([p1.messages.map((m) => m.text), p1.more], [['m10', 'm9', 'm8', 'm7'], true]);
    c.send({ type: 'history', id: 'p2', conversation: `room:${room}`, limit: 4, before: 7 });
    const p2 = await page(c, 'p2');
    t.same([p2.messages.map((m) => m.seq), p2.more], [[6, 5, 4, 3], true]);
    c.send({ type: 'history', id: 'p3', conversation: `room:${room}`, limit: 4, before: 3 });
    const p3 = await page(c, 'p3');
    t.same([p3.messages.map((m) => m.seq), p3.more], [[2, 1], false]);
    c.send({ type: 'history', id: 'big', conversation: `room:${room}`, limit: 201 });
    t.match(await c.nextJson(is('error')), { code: 'BAD_FRAME', ref: 'big' });
    await c.close();
  });

  await t.test('history is only for conversations you belong to', async (t) => {
    const c = await jsonClient(server.base, 'nosy');
    c.send({ type: 'history', id: 'dm', conversation: 'dm:alice,bob' });
    t.match(await c.nextJson(is('error')), { code: 'NOT_IN_CONVERSATION', ref: 'dm' });
    c.send({ type: 'history', id: 'room', conversation: 'room:paging' });
    t.match(await c.nextJson(is('error')), { code: 'NOT_IN_CONVERSATION', ref: 'room' });
    c.send({ type: 'history', id: 'junk', conversation: 'nonsense' });
    t.match(await c.nextJson(is('error')), { code: 'BAD_FRAME', ref: 'junk' }, 'not even a conversation id');
    c.send({ type: 'history', id: 'lobby', conversation: 'everyone', limit: 1 });
    t.match(await page(c, 'lobby'), { conversation: 'everyone' });
    await c.close();
  });

  await t.test('a private message to someone seen before but offline is kept and delivered on resume', async (t) => {
    const bob = await jsonClient(server.base, 'offbob');
    await bob.close();
    const alice = await jsonClient(server.base, 'offalice');
    alice.send({ type: 'send', id: 'o1', to: 'offbob', text: 'while you were out', sentAt: 1 });
    t.match(await ack(alice, 'o1'), { recipients: 1, conversation: 'dm:offalice,offbob', seq: 1 });
    alice.send({ type: 'send', id: 'o2', to: 'never-seen', text: 'hello?', sentAt: 1 });
    t.match(await alice.nextJson(is('error')), { code: 'UNKNOWN_RECIPIENT', ref: 'o2' });
    const text = await textClient(server.base, 'offtext');
    text.send('hi,offbob');
    t.same(await text.take(2), ['You wrote: hi', 'offbob is not a valid client'], 'text clients keep the original answer');

    const back = await jsonClient(server.base, 'offbob', { resume: true });
    back.send({ type: 'resume', cursors: {} });
    t.match(await back.nextJson(is('message')), { from: 'offalice', text: 'while you were out', seq: 1 });
    t.same(await back.nextJson(is('resumed')), {
      type: 'resumed',
      conversations: { 'dm:offalice,offbob': 1 },
      truncated: [],
    } satisfies ResumedFrame);
    await Promise.all([alice.close(), back.close(), text.close()]);
  });

  await t.test('resume: what was missed, in order, then live traffic, without gap or duplicate', async (t) => {
    const sender = await jsonClient(server.base, 'rsender');
    let reader = await jsonClient(server.base, 'rreader');
    const send = async (n: number) => {
      sender.send({ type: 'send', id: `n${n}`, text: `n${n}`, sentAt: n });
      return ack(sender, `n${n}`);
    };
    let last = 0;
    for (let n = 1; n <= 5; n++) last = (await send(n)).seq;
    const seen: number[] = [];
    while (seen.length < 5) seen.push(((await reader.nextJson(is('message'))) as MessageFrame).seq);
    await reader.close();
    for (let n = 6; n <= 10; n++) await send(n);

    reader = await jsonClient(server.base, 'rreader', { resume: true });
    // Live traffic keeps coming while the reader resumes.
    const more = (async () => {
      for (let n = 11; n <= 30; n++) await send(n);
    })();
    reader.send({ type: 'resume', cursors: { everyone: seen.at(-1)! } });
    const after: number[] = [];
    let resumed: ResumedFrame | undefined;
    while (after.length < 25) {
      const frame = await reader.nextJson((f) => f.type === 'message' || f.type === 'resumed');
      if (frame.type === 'resumed') resumed = frame;
      else after.push((frame as MessageFrame).seq);
    }
    await more;
    const first = seen.at(-1)! + 1;
    t.same(
      after,
      Array.from({ length: 25 }, (_, i) => first + i),
      'every seq once, in order',
    );
    t.ok(resumed, 'the replay ended with resumed');
    t.ok(last > 0);
    await Promise.all([sender.close(), reader.close()]);
  });
});
