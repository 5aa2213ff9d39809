/**
 * The browser client paces what it sends to the rate the welcome names, shows
 * one notice per kind of problem, and takes its name over from another tab
 * when asked: without a browser, on a fake clock.
 */
import t, { type Test } from 'tap';
import { CloseCode, type ClientFrame, type WelcomeFrame } from '@chorus/protocol';
import { socketUrl } from '../../apps/web/src/lib/env.js';
import { clientPace, FramePacer } from '../../apps/web/src/lib/state/frame-pacer.js';
import { LOBBY } from '../../apps/web/src/lib/state/conversation-id.js';
import { explainClose } from '../../apps/web/src/lib/state/plain-words.js';
import type { OutboxEntry } from '../../apps/web/src/lib/store/chat-store.js';
import { MemoryStore } from '../../apps/web/src/lib/store/memory-store.js';
import { FakeSocket } from './fixtures/fake-socket.js';
import { FakeTime } from './fixtures/fake-time.js';
import { ChatSession } from './fixtures/load-state.js';

/** The server's token bucket (apps/server/src/hub/token-bucket.ts), replayed over the times frames arrived. */
function refusedByServer(times: readonly number[], rate: { perSecond: number; burst: number }): number {
  let tokens = rate.burst;
  let at = times[0] ?? 0;
  let refused = 0;
  for (const now of times) {
    tokens = Math.min(rate.burst, tokens + ((now - at) / 1000) * rate.perSecond);
    at = now;
    if (tokens < 1) refused++;
    else tokens -= 1;
  }
  return refused;
}

/** Alice's session on a fake socket and a fake clock, connected (not yet welcomed). */
async function connectedSession(t: Test): Promise<{ session: InstanceType<typeof ChatSession>; time: FakeTime; socket: FakeSocket }> {
  FakeSocket.install();
  const time = new FakeTime();
  const session = new ChatSession('alice', async () => 'ws://chat.test/ws/alice?resume=1', undefined, {
    time: { timers: time, clock: time.clock },
  });
  session.start();
  t.teardown(() => session.stop());
  const socket = await FakeSocket.next();
  socket.accept();
  return { session, time, socket };
}

function welcome(frameRate?: { perSecond: number; burst: number }): WelcomeFrame {
  return {
    type: 'welcome',
    protocol: 'chorus.v1',
    clientId: 'alice',
    serverAt: 1,
    node: 'n',
    online: ['alice', 'bob'],
    onlineCount: 2,
    rooms: [],
    memberOf: [],
    limits: { maxTextLength: 10_000, maxFrameBytes: 65_536, ...(frameRate ? { frameRate } : {}) },
  };
}

function entry(n: number): OutboxEntry {
  return { ref: `o${n}`, order: n, conversation: LOBBY, to: null, room: null, text: `offline ${n}`, sentAt: n, serverAt: n, failure: null };
}

/** Records when (on the fake clock) each frame left `socket`. */
function timeFrames(socket: FakeSocket, time: FakeTime): { frame: ClientFrame; at: number }[] {
  const out: { frame: ClientFrame; at: number }[] = [];
  const send = socket.send.bind(socket);
  socket.send = (data: string) => {
    send(data);
    out.push({ frame: socket.sent.at(-1)!, at: time.now });
  };
  return out;
}

t.test('frame pacer: the burst at once, then the rate, in order; nothing is lost or reordered', (t) => {
  const time = new FakeTime();
  const written: number[] = [];
  const pacer = new FramePacer<number>((n) => written.push(n), { timers: time, clock: time.clock });
  pacer.start({ perSecond: 10, burst: 3 });
  for (let n = 1; n <= 8; n++) pacer.push(n);
  t.same(written, [1, 2, 3], 'the burst goes at once');
  t.equal(pacer.waiting, 5);
  time.advance(99);
  t.same(written, [1, 2, 3], 'no token before 100 ms');
  time.advance(1);
  t.same(written, [1, 2, 3, 4], 'one per 100 ms after it');
  time.advance(200);
  t.same(written, [1, 2, 3, 4, 5, 6]);
  pacer.push(9);
  t.same(written, [1, 2, 3, 4, 5, 6], 'a new frame waits behind the queued ones');
  t.same(pacer.stop(), [7, 8, 9], 'stopping hands back what never went, in order');
  time.advance(10_000);
  t.same(written, [1, 2, 3, 4, 5, 6], 'and nothing goes after');

  pacer.start({ perSecond: 10, burst: 3 });
  pacer.push(10);
  pacer.exhausted();
  pacer.push(11);
  t.same(written.slice(-1), [10], 'after "slow down" the bucket is empty');
  time.advance(100);
  t.same(written.slice(-1), [11], 'and refills at the rate');

  const free = new FramePacer<number>((n) => written.push(n), { timers: time, clock: time.clock });
  free.start(null);
  for (let n = 0; n < 100; n++) free.push(n);
  t.equal(free.waiting, 0, 'no rate (the server sets none): nothing waits');
  t.same(clientPace({ perSecond: 20, burst: 40 }), { perSecond: 20, burst: 20 }, 'the client keeps half the burst as headroom');
  t.same(clientPace({ perSecond: 5, burst: 1 }), { perSecond: 5, burst: 1 });
  t.end();
});

t.test('session: after a reconnect, 60 kept messages, the resume, a ping and receipts never exceed the welcome’s rate', async (t) => {
  FakeSocket.install();
  const time = new FakeTime();
  const store = new MemoryStore();
  for (let n = 1; n <= 60; n++) await store.putOutbox(entry(n));
  const session = new ChatSession(
    'alice',
    async () => 'ws://chat.test/ws/alice?resume=1',
    async () => store,
    {
      time: { timers: time, clock: time.clock },
    },
  );
  session.start();
  t.teardown(() => session.stop());
  const socket = await FakeSocket.next();
  const sent = timeFrames(socket, time);
  socket.accept();
  const rate = { perSecond: 20, burst: 40 };
  socket.play(welcome(rate));
  // Messages from bob arrive meanwhile: each is answered with a receipt.
  for (let seq = 1; seq <= 30; seq++) {
    socket.play({
      type: 'message',
      id: `b${seq}`,
      from: 'bob',
      to: null,
      room: null,
      conversation: LOBBY,
      seq,
      text: `hi ${seq}`,
      sentAt: 1,
      serverAt: 1,
    });
    time.advance(10);
  }
  time.advance(10_000);
  const sends = sent.filter((s) => s.frame.type === 'send');
  t.equal(sends.length, 60, 'all 60 went out');
  t.same(
    sends.map((s) => (s.frame as { id: string }).id),
    Array.from({ length: 60 }, (_, i) => `o${i + 1}`),
    'in the order written',
  );
  t.equal(sent[0]?.frame.type, 'resume', 'the resume first');
  t.ok(
    sent.some((s) => s.frame.type === 'receipt'),
    'the receipts too',
  );
  t.equal(
    refusedByServer(
      sent.map((s) => s.at),
      rate,
    ),
    0,
    'the server’s bucket never runs dry',
  );
  const lastAt = sent.at(-1)!.at;
  t.ok(lastAt >= (sent.length - 20) * 50, `paced, not all at once (the last frame left at ${lastAt} ms)`);
});

t.test('session: receipts still waiting for the rate when the connection drops go after the next welcome', async (t) => {
  const { session, time, socket } = await connectedSession(t);
  socket.play(welcome({ perSecond: 1, burst: 2 }));
  socket.play({
    type: 'message',
    id: 'b1',
    from: 'bob',
    to: null,
    room: null,
    conversation: LOBBY,
    seq: 1,
    text: 'hi',
    sentAt: 1,
    serverAt: 1,
  });
  time.advance(100);
  t.equal(socket.sent.filter((f) => f.type === 'receipt').length, 0, 'the receipt waits behind the resume and the ping');
  socket.drop();
  session.connection.retryNow();
  const again = await FakeSocket.next();
  again.accept();
  again.play(welcome());
  time.advance(200);
  t.match(
    again.sent.filter((f) => f.type === 'receipt'),
    [{ status: 'delivered', from: 'bob', ids: ['b1'] }],
    'sent on the new connection',
  );
});

t.test('notices: one per kind, never a stack; "too many frames" goes by itself and the outbox goes again', async (t) => {
  const { session, time, socket } = await connectedSession(t);
  socket.play(welcome());
  session.send('are you there?');
  const id = (socket.sent.find((f) => f.type === 'send') as { id: string }).id;
  for (let i = 0; i < 35; i++) socket.play({ type: 'error', code: 'RATE_LIMITED', message: 'too many frames: slow down', retryable: true });
  t.equal(session.notices.length, 1, '35 refusals: one notice');
  for (let i = 0; i < 3; i++)
    socket.play({ type: 'error', code: 'BAD_FRAME', message: 'frame does not match the protocol', retryable: false });
  t.equal(session.notices.length, 2, 'another kind of problem: a second notice, once');
  time.advance(2_999);
  t.equal(session.notices.length, 2, 'the rate notice stays while the problem may last');
  const before = socket.sent.filter((f) => f.type === 'send').length;
  time.advance(1);
  t.same(
    session.notices.map((n) => n.kind),
    ['BAD_FRAME'],
    'it goes once the server has been quiet',
  );
  t.same(
    socket.sent
      .filter((f) => f.type === 'send')
      .slice(before)
      .map((f) => (f as { id: string }).id),
    [id],
    'and the unacknowledged message goes again, same id',
  );
  session.dismiss(session.notices[0]!.id);
  t.same(session.notices, [], 'dismissed');
});

t.test('a name in use: the conflict, "use this tab instead" with ?takeover=1, and the tab that was replaced', async (t) => {
  FakeSocket.install();
  t.equal(socketUrl('ws://h', 'alice', { resume: true, takeover: true }), 'ws://h/ws/alice?resume=1&takeover=1');
  const asked: boolean[] = [];
  const session = new ChatSession('alice', async ({ takeover }) => {
    asked.push(takeover);
    return `ws://chat.test/ws/alice?resume=1${takeover ? '&takeover=1' : ''}`;
  });
  session.start();
  t.teardown(() => session.stop());
  const socket = await FakeSocket.next();
  socket.accept();
  socket.play({ type: 'error', code: 'CLIENT_ID_TAKEN', message: 'this client id is already connected', retryable: false });
  socket.close(CloseCode.CLIENT_ID_TAKEN, 'this client id is already connected');
  t.equal(session.conflict, 'taken', 'taken: the app shows the name-in-use screen');
  t.equal(session.connection.status.kind, 'offline', 'and does not reconnect by itself');

  session.takeOver();
  const taking = await FakeSocket.next();
  t.equal(taking.url, 'ws://chat.test/ws/alice?resume=1&takeover=1', 'the next attempt asks to take the name over');
  t.equal(session.conflict, null, 'no conflict while connecting');
  taking.accept();
  taking.play(welcome());
  t.equal(session.connection.status.kind, 'online');
  taking.drop();
  session.connection.retryNow();
  const later = await FakeSocket.next();
  t.equal(later.url, 'ws://chat.test/ws/alice?resume=1', 'once welcomed, later reconnects ask for nothing special');
  t.same(asked, [false, true, false]);
  later.accept();
  later.play(welcome());
  later.play({ type: 'error', code: 'REPLACED', message: 'this client id was taken over by another connection', retryable: false });
  later.close(CloseCode.REPLACED, 'this client id was taken over by another connection');
  t.equal(session.conflict, 'replaced', 'replaced by another tab: the app says so');
  t.match(session.connection.status, { kind: 'offline', code: 4410 }, 'and it stays disconnected');
  t.equal(session.notices.length, 0, 'no notice on top of the screen');
  t.match(explainClose({ code: CloseCode.REPLACED, reason: '', error: null, clientId: 'alice', opened: true }), /in use in another tab/);
});

t.test('a ping that waited for the rate carries the time it left, so the round trip is the network’s alone', async (t) => {
  FakeSocket.install();
  const time = new FakeTime();
  const realNow = Date.now;
  Date.now = () => 1_700_000_000_000 + time.now;
  t.teardown(() => void (Date.now = realNow));
  const store = new MemoryStore();
  for (let n = 1; n <= 10; n++) await store.putOutbox(entry(n));
  const session = new ChatSession(
    'alice',
    async () => 'ws://chat.test/ws/alice?resume=1',
    async () => store,
    { time: { timers: time, clock: time.clock } },
  );
  session.start();
  t.teardown(() => session.stop());
  const socket = await FakeSocket.next();
  const sent = timeFrames(socket, time);
  socket.accept();
  socket.play(welcome({ perSecond: 10, burst: 2 }));
  time.advance(5_000);
  const ping = sent.find((s) => s.frame.type === 'ping')!;
  t.ok(ping.at > 0, `the ping waited behind the outbox (left at ${ping.at} ms)`);
  t.equal((ping.frame as { sentAt: number }).sentAt, 1_700_000_000_000 + ping.at, 'its sentAt is when it left');
});
