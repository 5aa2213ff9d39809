/**
 * The browser client's logic without a browser: backoff, routes, ids, wording,
 * and the state classes (conversations, receipts, ticks, typing), the
 * `*.svelte.ts` ones compiled by Svelte as the browser build compiles them.
 * Time-based behaviour runs on a fake clock.
 */
import t from 'tap';
import {
  CloseCode,
  MAX_RECEIPT_IDS,
  TYPING_REFRESH_MS,
  TYPING_TTL_MS,
  type ClientFrame,
  type ErrorFrame,
  type MessageFrame,
  type ReceiptFrame,
  type SendFrame,
  type WelcomeFrame,
} from '@chorus/protocol';
import { AuthApi, authBase, type SignedIn } from '../../apps/web/src/lib/auth/auth-api.js';
import { explainAuthFailure, formatWait } from '../../apps/web/src/lib/auth/auth-words.js';
import { entryAfterAuthEnded, entryFor, type AuthEnding } from '../../apps/web/src/lib/auth/start-route.js';
import { TOKENS_KEY, TokenStore, type KeyValueStorage } from '../../apps/web/src/lib/auth/token-store.js';
import { Backoff } from '../../apps/web/src/lib/backoff.js';
import { socketUrl } from '../../apps/web/src/lib/env.js';
import { clockSkewNote } from '../../apps/web/src/lib/format-time.js';
import { idFromPath, pathForId } from '../../apps/web/src/lib/route.js';
import type { ChatMessage } from '../../apps/web/src/lib/state/chat-message.js';
import {
  LOBBY,
  conversationIdOf,
  directConversation,
  parseConversation,
  roomConversation,
  targetOf,
  type ConversationId,
} from '../../apps/web/src/lib/state/conversation-id.js';
import { describeTyping, explainClose, explainRoomError, explainSendError } from '../../apps/web/src/lib/state/plain-words.js';
import { ReceiptOutbox } from '../../apps/web/src/lib/state/receipt-outbox.js';
import { tickOf } from '../../apps/web/src/lib/state/ticks.js';
import { TypingSender } from '../../apps/web/src/lib/state/typing-sender.js';
import { Cursors, MAX_RESUME_CURSORS } from '../../apps/web/src/lib/state/cursors.js';
import { HistoryPager } from '../../apps/web/src/lib/state/history-pager.js';
import { Outbox } from '../../apps/web/src/lib/state/outbox.js';
import type { OutboxEntry, StoredMessage } from '../../apps/web/src/lib/store/chat-store.js';
import { MemoryStore } from '../../apps/web/src/lib/store/memory-store.js';
import { FakeSocket } from './fixtures/fake-socket.js';
import { FakeTime } from './fixtures/fake-time.js';
import { ChatSession, Conversations, MessageLog, OnlineList, RoomDirectory, SignInFlow, TypingIndicators } from './fixtures/load-state.js';

t.test('backoff: full jitter under an exponential ceiling, reset after a welcome', (t) => {
  const highest = new Backoff({ baseMs: 500, capMs: 15_000, random: () => 0.999999 });
  const ceilings = Array.from({ length: 8 }, () => highest.next() + 1);
  t.same(ceilings, [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000], 'doubles up to the cap');
  highest.reset();
  t.equal(highest.next(), 499, 'starts over after reset');
  const lowest = new Backoff({ baseMs: 500, capMs: 15_000, random: () => 0 });
  t.equal(lowest.next(), 0, 'full jitter may retry at once');
  t.end();
});

t.test('routes: the id in the path', (t) => {
  t.equal(idFromPath('/'), null);
  t.equal(idFromPath('/alice'), 'alice');
  t.equal(idFromPath('/alice/'), 'alice');
  t.equal(idFromPath('/a%40b.c'), 'a@b.c');
  t.equal(idFromPath('/%E0%A4%A'), '%E0%A4%A', 'a malformed escape is kept for validation to explain');
  t.equal(idFromPath(pathForId('x y')), 'x y', 'pathForId is the inverse');
  t.equal(socketUrl('ws://h:1/', 'a@b'), 'ws://h:1/ws/a%40b');
  t.equal(socketUrl('wss://h', 'bob', { resume: true }), 'wss://h/ws/bob?resume=1', 'resume asks the server to hold live traffic');
  t.end();
});

t.test('conversation ids: the lobby, rooms, and one id per pair', (t) => {
  t.equal(conversationIdOf('alice', null), LOBBY);
  t.equal(conversationIdOf('alice', 'bob'), conversationIdOf('bob', 'alice'));
  t.equal(conversationIdOf('alice', 'bob'), 'dm:alice,bob', 'sorted pair');
  t.not(conversationIdOf('alice', 'bob'), conversationIdOf('alice', 'carol'));
  t.equal(conversationIdOf('alice', null, 'general'), 'room:general');
  t.equal(roomConversation('general'), 'room:general');
  t.equal(directConversation('bob', 'alice'), 'dm:alice,bob');
  t.same(parseConversation('dm:alice,bob', 'bob'), { kind: 'dm', peer: 'alice' });
  t.same(parseConversation('dm:alice,alice', 'alice'), { kind: 'dm', peer: 'alice' }, 'a note to myself');
  t.same(parseConversation('room:general', 'bob'), { kind: 'room', room: 'general' });
  t.same(targetOf(LOBBY, 'bob'), {}, 'the lobby has no target');
  t.same(targetOf('room:general', 'bob'), { room: 'general' });
  t.same(targetOf('dm:alice,bob', 'alice'), { to: 'bob' });
  t.end();
});

t.test('close reasons in plain words', (t) => {
  const base = { reason: '', error: null, clientId: 'alice', opened: true };
  const taken: ErrorFrame = {
    type: 'error',
    code: 'CLIENT_ID_TAKEN',
    message: 'this client id is already connected',
    retryable: false,
  };
  t.match(explainClose({ ...base, code: CloseCode.CLIENT_ID_TAKEN }), /already connected as “alice”/);
  t.match(explainClose({ ...base, code: 1006, error: taken }), /already connected/, 'the error frame explains the close');
  t.match(explainClose({ ...base, code: CloseCode.TRY_AGAIN_LATER }), /server is full/);
  t.match(explainClose({ ...base, code: CloseCode.GOING_AWAY }), /restarting/);
  t.match(explainClose({ ...base, code: 1006, opened: false }), /Cannot reach/);
  t.match(explainClose({ ...base, code: 1006 }), /lost/);
  const unknown: ErrorFrame = { type: 'error', code: 'UNKNOWN_RECIPIENT', message: 'x', retryable: true, ref: 'r' };
  t.equal(explainSendError(unknown, 'bob'), 'Not sent: no one called “bob” has ever been here.');
  const notMember: ErrorFrame = { type: 'error', code: 'NOT_ROOM_MEMBER', message: 'x', retryable: false, ref: 'r' };
  t.match(explainSendError(notMember, null, 'general'), /not in “general”/);
  t.end();
});

t.test('room errors in plain words', (t) => {
  const error = (code: ErrorFrame['code'], message: string): ErrorFrame => ({ type: 'error', code, message, retryable: false, ref: 'r' });
  t.match(
    explainRoomError(error('ROOM_EXISTS', 'a room with this name already exists: general'), 'create', 'general'),
    /already a room called “general”/,
  );
  t.match(explainRoomError(error('ROOM_NOT_FOUND', 'no such room: x'), 'join', 'x'), /no room called “x”/);
  t.equal(
    explainRoomError(error('NOT_ROOM_OWNER', 'only the owner can delete this room: general belongs to alice'), 'delete', 'general'),
    'Only the owner, alice, can delete “general”.',
  );
  t.equal(
    explainRoomError(error('BAD_ROOM_NAME', 'invalid room name: "lobby" is reserved'), 'create', 'lobby'),
    '“lobby” cannot be used as a room name: "lobby" is reserved.',
  );
  t.end();
});

t.test('clock skew: a note only past a minute, saying which way', (t) => {
  t.equal(clockSkewNote(1_000_000, 1_000_000 + 60_000, false), null, 'a minute is fine');
  t.equal(clockSkewNote(1_000_000 + 5 * 60_000, 1_000_000, false), "sender's clock is 5 min ahead");
  t.equal(clockSkewNote(1_000_000, 1_000_000 + 3 * 3_600_000, false), "sender's clock is 3 h behind");
  t.equal(clockSkewNote(1_000_000, 1_000_000 + 61_000, true), 'your clock is 1 min behind');
  t.end();
});

t.test('typing text', (t) => {
  t.equal(describeTyping([]), null);
  t.equal(describeTyping(['alice']), 'alice is typing…');
  t.equal(describeTyping(['alice', 'bob']), 'alice and bob are typing…');
  t.equal(describeTyping(['alice', 'bob', 'carol']), 'alice, bob and carol are typing…');
  t.equal(describeTyping(['a', 'b', 'c', 'd']), '4 people are typing…');
  t.end();
});

// ---- typing ------------------------------------------------------------------

t.test('typing indicators expire at expiresAt unless refreshed (injected clock)', (t) => {
  const time = new FakeTime();
  time.now = 1_000_000;
  const typing = new TypingIndicators(time.clock, time);
  const room: ConversationId = 'room:general';

  typing.apply(room, 'alice', true, time.now + TYPING_TTL_MS);
  typing.apply(room, 'bob', true, time.now + TYPING_TTL_MS);
  t.same(typing.in(room), ['alice', 'bob'], 'both show');
  t.same(typing.in(LOBBY), [], 'only in their conversation');
  t.equal(time.pending, 1, 'one timer for all indicators');

  time.advance(TYPING_REFRESH_MS);
  typing.apply(room, 'alice', true, time.now + TYPING_TTL_MS); // alice refreshes, bob does not
  time.advance(TYPING_TTL_MS - TYPING_REFRESH_MS - 1);
  t.same(typing.in(room), ['alice', 'bob'], 'still there 1 ms before bob expires');
  time.advance(1);
  t.same(typing.in(room), ['alice'], 'bob expires at his expiresAt');
  time.advance(TYPING_REFRESH_MS);
  t.same(typing.in(room), [], 'alice expires at her refreshed expiresAt');
  t.equal(time.pending, 0, 'no timer left when nobody is typing');

  typing.apply(room, 'alice', true, time.now + TYPING_TTL_MS);
  typing.apply(room, 'alice', false, time.now);
  t.same(typing.in(room), [], 'active: false ends it at once');

  typing.apply(room, 'alice', true, time.now + TYPING_TTL_MS);
  typing.stopped(room, 'alice');
  t.same(typing.in(room), [], 'a message from alice ends it');

  typing.apply(room, 'alice', true, time.now + 10 * TYPING_TTL_MS);
  time.advance(TYPING_TTL_MS);
  t.same(typing.in(room), [], 'an expiresAt far in the future (a bad clock estimate) lasts one TTL at most');

  typing.apply(room, 'alice', true, time.now - 1);
  t.same(typing.in(room), [], 'an indicator that expired in transit never shows');

  typing.apply(room, 'alice', true, time.now + TYPING_TTL_MS);
  typing.clear();
  t.same(typing.in(room), [], 'cleared when the connection is lost');
  t.equal(time.pending, 0);
  t.end();
});

t.test('typing indicators go by the server clock estimate, never early', (t) => {
  const time = new FakeTime();
  let offset = 0;
  const typing = new TypingIndicators(() => time.now + offset, time);
  typing.apply(LOBBY, 'alice', true, TYPING_TTL_MS);
  offset = -2_000; // a better estimate (a pong) says the server is 2 s behind this machine
  time.advance(TYPING_TTL_MS);
  t.same(typing.in(LOBBY), ['alice'], 'the timer fired, but the server clock has not reached expiresAt');
  time.advance(2_000);
  t.same(typing.in(LOBBY), [], 'gone once the server clock reaches expiresAt');
  t.end();
});

t.test('typing sender: throttled to one refresh per TYPING_REFRESH_MS, stopped on send, empty text or switch', (t) => {
  const time = new FakeTime();
  const sent: [ConversationId, boolean][] = [];
  const sender = new TypingSender((conversation, active) => {
    sent.push([conversation, active]);
    return true;
  }, time.clock);
  sender.input(LOBBY, 'h');
  sender.input(LOBBY, 'he');
  time.advance(TYPING_REFRESH_MS - 1);
  sender.input(LOBBY, 'hel');
  t.same(sent, [[LOBBY, true]], 'one frame for a burst of keys');
  time.advance(1);
  sender.input(LOBBY, 'hell');
  t.same(sent.at(-1), [LOBBY, true], 'refreshed after TYPING_REFRESH_MS');
  t.equal(sent.length, 2);
  sender.input(LOBBY, '');
  t.same(sent.at(-1), [LOBBY, false], 'emptied: stopped');
  sender.input(LOBBY, '   ');
  t.equal(sent.length, 3, 'blank text is not typing');
  sender.input('room:a', 'x');
  sender.input('room:b', 'y');
  t.same(
    sent.slice(3),
    [
      ['room:a', true],
      ['room:a', false],
      ['room:b', true],
    ],
    'switching stops the old one first',
  );
  sender.stop();
  t.same(sent.at(-1), ['room:b', false], 'sending stops it');
  sender.stop();
  t.equal(sent.length, 7, 'stopping twice sends once');
  sender.input(LOBBY, 'x');
  sender.reset();
  sender.stop();
  t.equal(sent.length, 8, 'after a reset (connection lost) nothing is sent');
  t.end();
});

// ---- receipts ------------------------------------------------------------------

t.test('receipt outbox: batched per sender and status, at most MAX_RECEIPT_IDS per frame', (t) => {
  const time = new FakeTime();
  const frames: ReceiptFrame[] = [];
  let online = true;
  const outbox = new ReceiptOutbox(
    (frame) => {
      if (!online) return false;
      frames.push(frame);
      return true;
    },
    { delayMs: 100, timers: time },
  );
  outbox.add('delivered', 'alice', 'm1');
  outbox.add('delivered', 'bob', 'm2');
  outbox.add('delivered', 'alice', 'm3');
  outbox.add('delivered', 'alice', 'm3');
  t.equal(frames.length, 0, 'nothing sent at once');
  time.advance(99);
  t.equal(frames.length, 0, 'nothing before the delay');
  time.advance(1);
  t.same(
    frames,
    [
      { type: 'receipt', status: 'delivered', from: 'alice', ids: ['m1', 'm3'] },
      { type: 'receipt', status: 'delivered', from: 'bob', ids: ['m2'] },
    ],
    'one frame per sender, each id once',
  );

  frames.length = 0;
  for (let i = 0; i < MAX_RECEIPT_IDS + 5; i++) outbox.add('delivered', 'alice', `d${i}`);
  time.advance(100);
  t.same(
    frames.map((f) => f.ids.length),
    [MAX_RECEIPT_IDS, 5],
    'split at MAX_RECEIPT_IDS',
  );

  frames.length = 0;
  outbox.add('delivered', 'alice', 'x1');
  outbox.add('delivered', 'alice', 'x2');
  outbox.add('read', 'alice', 'x1');
  time.advance(100);
  t.same(
    frames,
    [
      { type: 'receipt', status: 'delivered', from: 'alice', ids: ['x2'] },
      { type: 'receipt', status: 'read', from: 'alice', ids: ['x1'] },
    ],
    'a read receipt replaces a pending delivery receipt for the same message',
  );

  frames.length = 0;
  online = false;
  outbox.add('read', 'bob', 'y1');
  time.advance(100);
  t.equal(outbox.size, 1, 'kept while offline');
  online = true;
  t.equal(outbox.flush(), true, 'flushed after reconnecting');
  t.same(frames, [{ type: 'receipt', status: 'read', from: 'bob', ids: ['y1'] }]);
  t.equal(outbox.size, 0);
  t.end();
});

// ---- ticks from acks and receipts ----------------------------------------------

let nextSeq = 0;
/** A message frame as the server sends it; `seq` defaults to a fresh one. */
function frameFrom(from: string, id: string, extra: Partial<MessageFrame> = {}): MessageFrame {
  const base = { type: 'message', id, from, to: null, room: null, text: `text of ${id}`, sentAt: 1000, serverAt: 1000 } as const;
  const frame = { ...base, ...extra };
  return { conversation: conversationIdOf(frame.from, frame.to, frame.room), seq: ++nextSeq, ...frame };
}

/** My message with send ref `ref`, wherever it is in `conversation`'s timeline. */
function mineIn(log: InstanceType<typeof MessageLog>, conversation: ConversationId, ref: string): ChatMessage {
  return log.in(conversation).find((m): m is ChatMessage => m.kind === 'message' && m.ref === ref)!;
}

t.test('ticks: pending, sent on ack, delivered and read from receipt counts', (t) => {
  const log = new MessageLog('alice');
  const own = (ref: string, to: string | null, room: string | null) =>
    log.addOwn({ ref, from: 'alice', to, room, text: ref, sentAt: 1, serverAt: 1 });
  const room: ConversationId = 'room:general';
  const dm: ConversationId = 'dm:alice,bob';

  own('r1', null, 'general');
  t.equal(tickOf(mineIn(log, room, 'r1')).tick, 'pending', 'a clock until the ack');
  log.ack({ ref: 'r1', id: 'n.1', serverAt: 5, recipients: 2, conversation: room, seq: 1 });
  t.same(tickOf(mineIn(log, room, 'r1')), { tick: 'sent', label: 'Sent to 2, not delivered yet', detail: null }, 'one tick on the ack');
  log.applyReceipts([{ id: 'n.1', delivered: 1, read: 0 }]);
  t.same(tickOf(mineIn(log, room, 'r1')), { tick: 'delivered', label: 'Delivered to 1 of 2', detail: 'delivered to 1 of 2' });
  log.applyReceipts([{ id: 'n.1', delivered: 2, read: 1 }]);
  t.same(tickOf(mineIn(log, room, 'r1')), {
    tick: 'read',
    label: 'Read by 1 of 2, delivered to 2 of 2',
    detail: 'read by 1 of 2',
  });
  log.applyReceipts([{ id: 'n.1', delivered: 1, read: 0 }]);
  t.equal(mineIn(log, room, 'r1').read, 1, 'a stale batch never takes a tick back');

  own('r2', 'bob', null);
  log.applyReceipts([{ id: 'n.2', delivered: 1, read: 0 }]);
  log.ack({ ref: 'r2', id: 'n.2', serverAt: 6, recipients: 1, conversation: dm, seq: 1 });
  t.same(tickOf(mineIn(log, dm, 'r2')), { tick: 'delivered', label: 'Delivered', detail: null }, 'a receipt that overtook its ack counts');
  log.applyReceipts([{ id: 'n.2', delivered: 1, read: 1 }]);
  t.same(tickOf(mineIn(log, dm, 'r2')), { tick: 'read', label: 'Read', detail: null }, 'a private message: just "Read"');

  own('r3', null, null);
  log.ack({ ref: 'r3', id: 'n.3', serverAt: 7, recipients: 0, conversation: LOBBY, seq: 1 });
  t.match(tickOf(mineIn(log, LOBBY, 'r3')), { tick: 'sent', label: 'Sent (no one else is online)' }, 'the lobby with nobody in it');

  own('r4', 'bob', null);
  log.fail('r4', 'Not sent: no one called “bob” has ever been here.');
  t.match(tickOf(mineIn(log, dm, 'r4')), { tick: 'failed', label: /has ever been here/ });

  t.same(
    tickOf({ status: 'sent', failure: null, to: null, room: 'x', recipients: 3, delivered: 0, read: 2 }).detail,
    'read by 2 of 3',
    'read implies delivered',
  );
  t.same(
    tickOf({ status: 'sent', failure: null, to: null, room: null, recipients: null, delivered: 0, read: 0 }),
    { tick: 'sent', label: 'Sent', detail: null },
    'sent from elsewhere: counts unknown',
  );
  t.end();
});

t.test('ticks from history and resume: a message of mine comes back with its counts', (t) => {
  const persisted: StoredMessage[] = [];
  const log = new MessageLog('alice', (messages) => persisted.push(...messages));
  // A later session: the lobby message bob read, as a history page or a replay brings it.
  log.add(frameFrom('alice', 'h.1', { receipts: { recipients: 1, delivered: 1, read: 1 } }));
  const [fromHistory] = log.in(LOBBY) as ChatMessage[];
  t.same(
    tickOf(fromHistory!),
    { tick: 'read', label: 'Read by 1 of 1, delivered to 1 of 1', detail: 'read by 1 of 1' },
    'two blue ticks, not one',
  );
  t.match(persisted.at(-1), { id: 'h.1', recipients: 1, delivered: 1, read: 1 }, 'kept in the store with its counts');

  // Held already (the store kept it before the read receipts came): the page brings it up to date.
  const room: ConversationId = 'room:general';
  const stored = frameFrom('alice', 'h.2', { room: 'general' });
  log.addStored([{ ...toStoredFrame(stored), recipients: 2, delivered: 1, read: 0 }]);
  const again = { ...stored, receipts: { recipients: 2, delivered: 2, read: 2 } };
  t.equal(log.add(again), null, 'one copy');
  t.match(tickOf(log.in(room)[0] as ChatMessage), { tick: 'read', detail: 'read by 2 of 2' });
  t.match(persisted.at(-1), { id: 'h.2', delivered: 2, read: 2 });

  // A page with older counts takes nothing back.
  log.add({ ...again, receipts: { recipients: 2, delivered: 1, read: 0 } });
  t.match(log.in(room)[0], { delivered: 2, read: 2 });

  // Someone else's message never carries mine.
  log.add(frameFrom('bob', 'h.3', { receipts: { recipients: 1, delivered: 1, read: 1 } }));
  t.match(
    log.in(LOBBY).find((m) => m.key === 'm:h.3'),
    { recipients: null, delivered: 0, read: 0 },
  );
  t.end();
});

/** A message frame as the browser's store keeps it (counts unknown). */
function toStoredFrame(frame: MessageFrame): StoredMessage {
  const { type: _type, receipts: _receipts, ...fields } = frame;
  return { ...fields, ref: null, recipients: null, delivered: 0, read: 0, seen: true };
}

t.test('message log: a note to myself is shown once, whichever of ack and delivery comes first', (t) => {
  const log = new MessageLog('alice');
  const notes: ConversationId = 'dm:alice,alice';
  log.addOwn({ ref: 'r1', from: 'alice', to: 'alice', room: null, text: 'memo', sentAt: 7, serverAt: 7 });
  log.ack({ ref: 'r1', id: 'n.1', serverAt: 8, recipients: 0, conversation: notes, seq: 1 });
  t.equal(
    log.add(frameFrom('alice', 'n.1', { to: 'alice', text: 'memo', sentAt: 7, seq: 1 })),
    null,
    'ack first: the delivery adds nothing',
  );
  log.addOwn({ ref: 'r2', from: 'alice', to: 'alice', room: null, text: 'memo 2', sentAt: 9, serverAt: 9 });
  t.equal(
    log.add(frameFrom('alice', 'n.2', { to: 'alice', text: 'memo 2', sentAt: 9, seq: 2 })),
    null,
    'delivery first: it is my pending one',
  );
  t.equal(mineIn(log, notes, 'r2').status, 'sent', 'which shows as sent at once');
  log.ack({ ref: 'r2', id: 'n.2', serverAt: 10, recipients: 0, conversation: notes, seq: 2 });
  t.same(
    log.in(notes).map((m) => m.key),
    ['r:r1', 'r:r2'],
    'each once, in seq order',
  );
  t.not(log.add(frameFrom('bob', 'n.9')), null);
  t.end();
});

t.test('message log: seen once, and only for messages of others', (t) => {
  const log = new MessageLog('alice');
  const received = log.add(frameFrom('bob', 'n.1', { room: 'general' }))!;
  t.equal(received.conversation, 'room:general');
  t.equal(log.markSeen(received), true, 'first time');
  t.equal(log.markSeen(received), false, 'once only');
  const own = log.addOwn({ ref: 'r', from: 'alice', to: null, room: null, text: 'x', sentAt: 1, serverAt: 1 });
  t.equal(log.markSeen(own), false, 'never my own');
  log.addNote('room:general', 'carol joined the room', 5);
  t.same(
    log.in('room:general').map((i) => i.kind),
    ['message', 'note'],
    'notes are in the timeline',
  );
  t.end();
});

// ---- conversations and rooms ---------------------------------------------------

t.test('conversations: unread counts for conversations that are not open', (t) => {
  const conversations = new Conversations('alice');
  const dm = directConversation('alice', 'bob');
  t.equal(conversations.active, LOBBY, 'the lobby is open at first');
  conversations.arrived(LOBBY, false);
  t.equal(conversations.unread(LOBBY), 0, 'the open conversation gets no unread count');
  conversations.arrived('room:general', false);
  conversations.arrived('room:general', false);
  conversations.arrived(dm, false);
  conversations.arrived('room:general', true);
  t.equal(conversations.unread('room:general'), 2, 'two from others (mine do not count)');
  t.equal(conversations.unread(dm), 1);
  t.equal(conversations.totalUnread, 3);
  t.same(conversations.direct, ['bob'], 'a private message lists its peer');
  conversations.open('room:general');
  t.equal(conversations.unread('room:general'), 0, 'opening clears it');
  t.equal(conversations.totalUnread, 1);
  conversations.arrived('room:general', false);
  t.equal(conversations.unread('room:general'), 0, 'nothing counts while open');

  conversations.openDirect('carol');
  t.equal(conversations.active, directConversation('alice', 'carol'));
  t.same(conversations.direct, ['carol', 'bob'], 'a new direct conversation comes first');
  conversations.arrived(dm, false);
  t.same(conversations.direct, ['bob', 'carol'], 'the most recent first');
  t.equal(conversations.unread(dm), 2);

  conversations.open('room:general');
  conversations.keepDraft('room:general', 'half a thought');
  conversations.forget('room:general');
  t.equal(conversations.active, LOBBY, 'a room that is gone closes to the lobby');
  t.equal(conversations.draft('room:general'), '', 'and its draft is dropped');
  t.end();
});

t.test('online list: a big lobby is counted past the ids its welcome lists', (t) => {
  const online = new OnlineList();
  online.reset(['alice', 'bob'], 5);
  t.equal(online.count, 5, 'three online without being listed');
  t.same(online.sorted, ['alice', 'bob']);
  online.apply(['carol'], ['zed']);
  t.equal(online.count, 5, 'an unlisted id left, carol came');
  online.apply(['yan'], ['yan']);
  t.same([online.count, online.has('yan')], [5, true], 'an unlisted id left and came back in one batch: now listed');
  online.apply([], ['alice', 'xi', 'wu', 'vo']);
  t.same([online.count, online.sorted], [3, ['bob', 'carol', 'yan']], 'never below the listed ones');
  online.reset(['bob']);
  t.equal(online.count, 1, 'without a total, the list is everyone');
  t.end();
});

t.test('room directory: welcome, answers and pushes', (t) => {
  const rooms = new RoomDirectory();
  rooms.reset(
    [
      { name: 'general', owner: 'alice', members: 2 },
      { name: 'dev', owner: 'bob', members: 1 },
    ],
    ['general'],
  );
  t.same(
    rooms.joined.map((r) => r.name),
    ['general'],
  );
  t.same(
    rooms.others.map((r) => r.name),
    ['dev'],
  );
  t.equal(rooms.members('general'), null, 'members unknown until the server lists them');
  rooms.entered({ name: 'dev', owner: 'bob', members: ['bob', 'carol'] });
  t.same(
    rooms.joined.map((r) => [r.name, r.members]),
    [
      ['dev', 2],
      ['general', 2],
    ],
  );
  t.same(rooms.others, []);
  rooms.membersChanged('dev', ['dave'], ['bob']);
  t.same(rooms.members('dev'), ['carol', 'dave']);
  rooms.update([{ name: 'new', owner: 'dave', members: 1 }], ['general']);
  t.equal(rooms.isMember('general'), false, 'a deleted room is not mine any more');
  t.same(
    rooms.others.map((r) => r.name),
    ['new'],
  );
  rooms.left('dev');
  t.same(
    rooms.others.map((r) => r.name),
    ['dev', 'new'],
    'a room I left is still listed',
  );
  t.end();
});

// ---- durable conversations: cursors, one copy per seq, the outbox, history, the store ----

/** A stored lobby message `seq` from `from`. */
function storedMessage(seq: number, from = 'bob', conversation: ConversationId = LOBBY): StoredMessage {
  return {
    conversation,
    seq,
    id: `s.${conversation}.${seq}`,
    from,
    to: null,
    room: null,
    text: `${conversation} #${seq}`,
    sentAt: seq,
    serverAt: seq,
    ref: null,
    recipients: null,
    delivered: 0,
    read: 0,
    seen: true,
  };
}

/** A lobby message frame `seq` (the same message as storedMessage(seq)). */
function lobbyFrame(seq: number, from = 'bob'): MessageFrame {
  return {
    type: 'message',
    id: `s.${LOBBY}.${seq}`,
    from,
    to: null,
    room: null,
    conversation: LOBBY,
    seq,
    text: `${LOBBY} #${seq}`,
    sentAt: seq,
    serverAt: seq,
  };
}

const textsOf = (items: readonly { kind: string }[]): string[] =>
  items.filter((i): i is ChatMessage => i.kind === 'message').map((m) => m.text);

t.test('cursors: every seq held up to N (my acked ones too), a mid-way start, gaps', (t) => {
  const cursors = new Cursors();
  t.equal(cursors.get(LOBBY), undefined, 'nothing before the first message');
  t.equal(cursors.hold(LOBBY, 57), true);
  t.equal(cursors.get(LOBBY), 57, 'first met at seq 57: 1..56 are history to page, not messages missed');
  t.equal(cursors.hold(LOBBY, 20), false, 'a history page below changes nothing');
  t.equal(cursors.hold(LOBBY, 59), false, 'above a gap: not moved');
  t.equal(cursors.get(LOBBY), 57, 'the cursor never claims the missing 58');
  cursors.hold(LOBBY, 60);
  t.equal(cursors.hold(LOBBY, 58), true);
  t.equal(cursors.get(LOBBY), 60, 'the gap filled: the cursor moves over everything now contiguous');
  t.equal(cursors.hold(LOBBY, 60), false, 'a duplicate changes nothing');

  const dm = directConversation('alice', 'bob');
  cursors.hold(dm, 1); // bob's message
  cursors.hold(dm, 3); // bob's again, after mine
  t.equal(cursors.get(dm), 1, 'seq 2 (my own message) not acknowledged yet');
  cursors.hold(dm, 2); // the ack of mine names seq 2
  t.equal(cursors.get(dm), 3, 'my acked message counts');

  t.same(new Cursors(cursors.toRecord()).toRecord(), { [LOBBY]: 60, [dm]: 3 }, 'kept and read back as a record');

  const many = new Cursors();
  for (let i = 0; i < MAX_RESUME_CURSORS + 5; i++) many.hold(`room:r${i}`, 1);
  many.hold('room:r0', 2);
  const record = many.toRecord();
  t.equal(Object.keys(record).length, MAX_RESUME_CURSORS, 'a resume carries at most 1000 cursors');
  t.equal(record['room:r0'], 2, 'the most recently active are kept');
  t.equal(record['room:r1'], undefined, 'the least recently active are left out');
  t.end();
});

t.test('message log: one copy per (conversation, seq) from the store, replay, live and history, in seq order', (t) => {
  const persisted: StoredMessage[] = [];
  const log = new MessageLog('alice', (messages) => persisted.push(...messages));
  log.restore(
    [1, 2, 3].map((seq) => storedMessage(seq)),
    [],
  );
  t.same(textsOf(log.in(LOBBY)), ['everyone #1', 'everyone #2', 'everyone #3'], 'the store is shown');
  t.equal(persisted.length, 0, 'restoring writes nothing back');

  t.equal(log.add(lobbyFrame(3)), null, 'a replay of a kept message adds nothing');
  t.not(log.add(lobbyFrame(5)), null, 'live');
  t.not(log.add(lobbyFrame(4)), null, 'replayed after it');
  t.equal(log.add(lobbyFrame(5)), null, 'a redelivery after a reconnect');
  for (const seq of [5, 4, 3, 2, 1]) log.add(lobbyFrame(seq)); // a history page, newest first
  t.same(
    textsOf(log.in(LOBBY)),
    [1, 2, 3, 4, 5].map((n) => `everyone #${n}`),
    'once each, by seq',
  );
  t.same(
    persisted.map((m) => m.seq),
    [5, 4],
    'only what was new is written',
  );
  t.equal(log.floor(LOBBY), 1);
  t.equal(log.complete(LOBBY), true, 'seq 1 shown: the start of the conversation');
  t.end();
});

t.test('message log: my pending message takes its place on the ack, once, even when the replay brings it first', (t) => {
  const log = new MessageLog('alice');
  log.add(lobbyFrame(10));
  log.addOwn({ ref: 'r1', from: 'alice', to: null, room: null, text: 'one', sentAt: 100, serverAt: 100 });
  t.same(
    log.in(LOBBY).map((m) => m.key),
    ['m:s.everyone.10', 'r:r1'],
    'pending at the end',
  );
  log.add(lobbyFrame(11)); // bob's message committed before mine
  t.same(
    log.in(LOBBY).map((m) => m.key),
    ['m:s.everyone.10', 'm:s.everyone.11', 'r:r1'],
    'still pending at the end',
  );
  log.ack({ ref: 'r1', id: 'a.1', serverAt: 101, recipients: 1, conversation: LOBBY, seq: 12 });
  t.same(mineIn(log, LOBBY, 'r1').seq, 12, 'placed at its seq');
  t.equal(
    log.ack({ ref: 'r1', id: 'a.1', serverAt: 101, recipients: 1, conversation: LOBBY, seq: 12 })?.key,
    'r:r1',
    'a repeated ack (a retry) changes nothing',
  );

  // Sent, then the connection dropped before the ack: the replay brings it back with its seq.
  log.addOwn({ ref: 'r2', from: 'alice', to: null, room: null, text: 'two', sentAt: 200, serverAt: 200 });
  const replayed: MessageFrame = { ...lobbyFrame(13, 'alice'), id: 'a.2', text: 'two', sentAt: 200 };
  t.equal(log.add(replayed), null, 'the replay of my pending message is that message');
  t.same([mineIn(log, LOBBY, 'r2').status, mineIn(log, LOBBY, 'r2').seq], ['sent', 13]);
  log.ack({ ref: 'r2', id: 'a.2', serverAt: 201, recipients: 1, conversation: LOBBY, seq: 13 });
  t.equal(mineIn(log, LOBBY, 'r2').recipients, 1, 'the ack of the retry gives the count');

  // A copy at the ack's seq that did not match (sent with another clock reading): the held copy stays.
  log.addOwn({ ref: 'r3', from: 'alice', to: null, room: null, text: 'three', sentAt: 300, serverAt: 300 });
  log.add({ ...lobbyFrame(14, 'alice'), id: 'a.3', text: 'three', sentAt: 299 });
  log.ack({ ref: 'r3', id: 'a.3', serverAt: 301, recipients: 1, conversation: LOBBY, seq: 14 });
  t.same(textsOf(log.in(LOBBY)), ['everyone #10', 'everyone #11', 'one', 'two', 'three'], 'each message once, in seq order');
  t.equal(log.in(LOBBY).filter((m) => m.kind === 'message' && m.status === 'pending').length, 0, 'nothing left pending');
  t.end();
});

t.test('message log: only the newest run without a gap is shown; notes stay after their message', (t) => {
  const log = new MessageLog('alice');
  for (const seq of [1, 2, 3]) log.add(lobbyFrame(seq));
  log.addNote(LOBBY, 'carol joined the chat', 3);
  log.add(lobbyFrame(6));
  t.same(textsOf(log.in(LOBBY)), ['everyone #6'], 'a gap (4, 5 missing): the older run waits');
  t.equal(log.gapBelow(LOBBY), true);
  t.equal(log.complete(LOBBY), false);
  log.add(lobbyFrame(5));
  log.add(lobbyFrame(4));
  t.same(
    log.in(LOBBY).map((i) => (i.kind === 'note' ? i.text : i.seq)),
    [1, 2, 3, 'carol joined the chat', 4, 5, 6],
    'filled: all, the note where it happened',
  );
  t.equal(log.gapBelow(LOBBY), false);
  t.end();
});

function outboxEntry(ref: string, order: number, extra: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    ref,
    order,
    conversation: LOBBY,
    to: null,
    room: null,
    text: `text ${ref}`,
    sentAt: order,
    serverAt: order,
    failure: null,
    ...extra,
  };
}

t.test('outbox: kept while offline, sent in order with the original ids after the resume, retried with the same id', (t) => {
  const time = new FakeTime();
  const sent: SendFrame[] = [];
  let online = false;
  const kept = new Map<string, OutboxEntry>();
  const outbox = new Outbox({
    send: (frame) => {
      if (!online) return false;
      sent.push(frame);
      return true;
    },
    save: (entry) => kept.set(entry.ref, entry),
    remove: (ref) => kept.delete(ref),
    timers: time,
    retryDelayMs: (attempt) => 1000 * 2 ** attempt,
  });
  outbox.add(outboxEntry('a', 1));
  outbox.add(outboxEntry('b', 2, { to: 'bob', conversation: 'dm:alice,bob' }));
  t.same(sent, [], 'nothing goes out while offline');
  t.same([...kept.keys()], ['a', 'b'], 'both kept (they survive a reload)');

  online = true;
  outbox.ready();
  t.same(
    sent,
    [
      { type: 'send', id: 'a', text: 'text a', sentAt: 1 },
      { type: 'send', id: 'b', to: 'bob', text: 'text b', sentAt: 2 },
    ],
    'in order, with their ids and their original sentAt, once the connection is ready',
  );
  outbox.add(outboxEntry('c', 3));
  t.equal(sent.at(-1)?.id, 'c', 'a message written while ready goes at once');
  t.same(outbox.acked('a')?.ref, 'a');
  t.same([...kept.keys()], ['b', 'c'], 'acknowledged: removed from the store');
  t.equal(outbox.acked('a'), undefined, 'a repeated ack finds nothing');

  // The connection drops before b and c are acknowledged.
  outbox.lost();
  sent.length = 0;
  outbox.add(outboxEntry('d', 4));
  online = false;
  t.same(sent, [], 'not sent while not ready');
  online = true;
  outbox.ready();
  t.same(
    sent.map((f) => f.id),
    ['b', 'c', 'd'],
    'everything unacknowledged goes again, in order, same ids',
  );

  // The server could not store b: it goes again, same id, after the delay, and backs off.
  sent.length = 0;
  t.equal(outbox.retryLater('b'), true);
  time.advance(999);
  t.same(sent, [], 'not before the delay');
  time.advance(1);
  t.same(
    sent.map((f) => f.id),
    ['b'],
    'retried with the same id',
  );
  outbox.retryLater('b');
  time.advance(1999);
  t.equal(sent.length, 1, 'the second retry waits longer');
  time.advance(1);
  t.same(
    sent.map((f) => f.id),
    ['b', 'b'],
  );

  // c is refused for good: it stays (shown as failed after a reload) but is never sent again.
  outbox.failed('c', 'Not sent: no.');
  t.equal(kept.get('c')?.failure, 'Not sent: no.');
  sent.length = 0;
  outbox.ready();
  t.same(
    sent.map((f) => f.id),
    ['b', 'd'],
    'a refused message is not sent again',
  );
  t.equal(outbox.waiting, 2);

  // A reload: the kept entries come back in the order written.
  const again = new Outbox({
    send: (frame) => {
      sent.push(frame);
      return true;
    },
    save: () => {},
    remove: () => {},
  });
  again.restore([...kept.values()].reverse());
  t.same(
    again.entries.map((e) => e.ref),
    ['b', 'c', 'd'],
    'restored in the order written',
  );
  t.ok(again.nextOrder(0) > 4, 'new messages are ordered after the kept ones');
  sent.length = 0;
  again.ready();
  t.same(
    sent.map((f) => f.id),
    ['b', 'd'],
  );
  t.end();
});

t.test('memory store: newest messages per conversation, older pages, outbox order, meta', async (t) => {
  const store = new MemoryStore();
  await store.putMessages([...Array.from({ length: 120 }, (_, i) => storedMessage(i + 1)), storedMessage(1, 'carol', 'dm:alice,carol')]);
  await store.putOutbox(outboxEntry('y', 2));
  await store.putOutbox(outboxEntry('x', 1));
  await store.putMeta('cursors', { [LOBBY]: 120 });
  const loaded = await store.load(50);
  t.same(
    loaded.messages.filter((m) => m.conversation === LOBBY).map((m) => m.seq),
    Array.from({ length: 50 }, (_, i) => 71 + i),
    'the newest 50, ascending',
  );
  t.equal(loaded.messages.filter((m) => m.conversation !== LOBBY).length, 1, 'and the other conversation');
  t.same(
    loaded.outbox.map((e) => e.ref),
    ['x', 'y'],
    'the outbox in the order written',
  );
  t.same(loaded.meta, { cursors: { [LOBBY]: 120 } });
  t.same(
    (await store.older(LOBBY, 71, 3)).map((m) => m.seq),
    [70, 69, 68],
    'older: newest first',
  );
  await store.deleteOutbox('x');
  await store.deleteConversation('dm:alice,carol');
  const after = await store.load(1);
  t.same(
    after.outbox.map((e) => e.ref),
    ['y'],
  );
  t.same(
    after.messages.map((m) => m.conversation),
    [LOBBY],
    'a deleted conversation is gone',
  );
  t.end();
});

t.test('history: pages from the store while it has them without a gap, then from the server, until the start', async (t) => {
  const server = Array.from({ length: 120 }, (_, i) => lobbyFrame(i + 1));
  const asked: (number | undefined)[] = [];
  const fetch = async (_c: ConversationId, before: number | undefined, limit: number) => {
    asked.push(before);
    const below = server.filter((m) => before === undefined || m.seq < before).reverse();
    return { messages: below.slice(0, limit), more: below.length > limit };
  };
  const held: number[] = [];
  const store = new MemoryStore();
  await store.putMessages(Array.from({ length: 80 }, (_, i) => storedMessage(i + 41))); // 41..120 kept from before
  const log = new MessageLog('alice');
  log.restore((await store.load(30)).messages, []); // a reload shows the newest 30
  const pager = new HistoryPager(
    log,
    { readStored: (c, before, limit) => store.older(c, before, limit), fetch, held: (_c, seq) => held.push(seq) },
    50,
  );

  await pager.recent(LOBBY);
  t.equal(log.shown(LOBBY), 80, 'fewer than a page shown: a page from the store');
  t.same(asked, [], 'the server was not asked');
  await pager.recent(LOBBY);
  t.equal(log.shown(LOBBY), 80, 'a page shown: nothing more on opening');
  await pager.older(LOBBY);
  t.same(asked, [41], 'the store has nothing older: the server is asked for what is before seq 41');
  t.equal(log.shown(LOBBY), 120);
  t.equal(log.complete(LOBBY), true, 'seq 1 reached');
  await pager.older(LOBBY);
  t.same(asked, [41], 'nothing is asked once the start is shown');
  t.same(
    textsOf(log.in(LOBBY)),
    server.map((m) => m.text),
    'every message once, in order',
  );

  // A fresh browser: the newest page first, then older pages on scrolling up, and `more` stops it.
  asked.length = 0;
  const fresh = new MessageLog('dave');
  const empty = new MemoryStore();
  const freshPager = new HistoryPager(fresh, { readStored: (c, b, l) => empty.older(c, b, l), fetch, held: () => {} }, 50);
  await freshPager.recent(LOBBY);
  t.same([fresh.floor(LOBBY), fresh.shown(LOBBY)], [71, 50], 'the newest page');
  await freshPager.older(LOBBY);
  await freshPager.older(LOBBY);
  await freshPager.older(LOBBY);
  t.same(asked, [undefined, 71, 21], 'then before the oldest shown, until the server says there is no more');
  t.same([fresh.shown(LOBBY), fresh.complete(LOBBY)], [120, true]);

  // An empty conversation: one ask, then nothing.
  const nobody = new MessageLog('dave');
  const quiet = new HistoryPager(nobody, {
    readStored: async () => [],
    fetch: async () => ({ messages: [], more: false }),
    held: () => {},
  });
  await quiet.recent('room:quiet');
  t.equal(nobody.complete('room:quiet'), true, 'an empty conversation is complete');
  t.end();
});

t.test(
  'session: shown from the store before connecting; resume with cursors, then the outbox; replayed, live and kept merged once',
  async (t) => {
    FakeSocket.install();
    const store = new MemoryStore();
    const dm: ConversationId = 'dm:alice,bob';
    // What alice's browser kept: lobby 1..3, a private conversation 1..2, one message written offline.
    await store.putMessages([1, 2, 3].map((seq) => storedMessage(seq)));
    await store.putMessages([1, 2].map((seq) => ({ ...storedMessage(seq, 'bob', dm), to: 'alice' })));
    await store.putOutbox({ ...outboxEntry('kept-1', 1, { to: 'bob', conversation: dm }), text: 'written offline' });
    await store.putMeta('cursors', { [LOBBY]: 3, [dm]: 2 });
    await store.putMeta('conversations', { active: dm, direct: [['bob', 1]], unread: [] });

    const session = new ChatSession(
      'alice',
      async () => 'ws://chat.test/ws/alice?resume=1',
      async () => store,
    );
    session.start();
    t.teardown(() => session.stop());
    const socket = await FakeSocket.next();
    t.equal(session.connection.status.kind, 'connecting', 'still connecting…');
    t.equal(session.conversations.active, dm, '…the open conversation is back');
    t.same(textsOf(session.timeline), ['dm:alice,bob #1', 'dm:alice,bob #2', 'written offline'], '…with its messages and the pending one');
    t.equal(session.canSend, true, 'writing while connecting is allowed (it waits in the outbox)');
    t.equal(socket.url, 'ws://chat.test/ws/alice?resume=1');

    socket.accept();
    const welcome: WelcomeFrame = {
      type: 'welcome',
      protocol: 'chorus.v1',
      clientId: 'alice',
      serverAt: 1,
      node: 'n',
      online: ['alice', 'bob'],
      onlineCount: 2,
      rooms: [],
      memberOf: [],
      limits: { maxTextLength: 10_000, maxFrameBytes: 65_536 },
    };
    socket.play(welcome);
    const sends = (frames: ClientFrame[]) => frames.filter((f) => f.type === 'send' || f.type === 'resume');
    t.same(
      sends(socket.sent),
      [
        { type: 'resume', cursors: { [LOBBY]: 3, [dm]: 2 } },
        { type: 'send', id: 'kept-1', to: 'bob', text: 'written offline', sentAt: 1 },
      ],
      'the resume with the kept cursors, then the outbox with its original id',
    );

    // The replay: what alice missed (one lobby message kept already, to be sure), then resumed, then live.
    socket.play(lobbyFrame(3), lobbyFrame(4), {
      ...lobbyFrame(3, 'bob'),
      conversation: dm,
      to: 'alice',
      seq: 3,
      id: 'd3',
      text: 'missed dm',
    });
    socket.play({ type: 'resumed', conversations: { [LOBBY]: 4, [dm]: 3 }, truncated: [] });
    socket.play({ type: 'ack', ref: 'kept-1', id: 'd4', serverAt: 5, recipients: 1, conversation: dm, seq: 4 });
    socket.play({ ...lobbyFrame(4) }, lobbyFrame(5));
    t.same(
      textsOf(session.timeline),
      ['dm:alice,bob #1', 'dm:alice,bob #2', 'missed dm', 'written offline'],
      'the private conversation, once each',
    );
    t.equal(session.timeline.filter((m) => m.kind === 'message' && m.status === 'pending').length, 0, 'acknowledged');
    t.equal(session.conversations.unread(LOBBY), 2, 'two new lobby messages unread (the kept one does not count again)');
    session.open(LOBBY);
    t.same(
      textsOf(session.timeline),
      [1, 2, 3, 4, 5].map((n) => `everyone #${n}`),
      'the lobby, once each',
    );

    // A message written now goes after the resume, at once.
    t.equal(session.send('hello again'), true);
    const last = socket.sent.at(-1);
    t.match(last, { type: 'send', text: 'hello again' }, 'sent at once while online');
    socket.play({ type: 'error', code: 'STORAGE_FAILED', message: 'x', retryable: true, ref: (last as SendFrame).id });
    t.match(session.timeline.at(-1), { text: 'hello again', status: 'pending' }, 'a storage failure keeps it pending (it is retried)');

    // The connection drops: the pending message stays pending and goes again, same id, after the next resume.
    socket.drop();
    t.match(session.timeline.at(-1), { text: 'hello again', status: 'pending' }, 'not failed by a drop');
    session.connection.retryNow();
    const again = await FakeSocket.next();
    again.accept();
    again.play(welcome);
    t.same(
      sends(again.sent),
      [
        { type: 'resume', cursors: { [LOBBY]: 5, [dm]: 4 } },
        { type: 'send', id: (last as SendFrame).id, text: 'hello again', sentAt: (last as SendFrame).sentAt },
      ],
      'cursors past everything held (my acked message too), then the same send',
    );
    again.play({ type: 'resumed', conversations: {}, truncated: [] });
    again.play({ type: 'ack', ref: (last as SendFrame).id, id: 'l6', serverAt: 9, recipients: 1, conversation: LOBBY, seq: 6 });
    t.match(session.timeline.at(-1), { text: 'hello again', status: 'sent', seq: 6 });

    // Everything reached the store (stopping writes the small records at once; one turn lets the writes run).
    session.stop();
    await new Promise((resolve) => setImmediate(resolve));
    const kept = await store.load(100);
    t.same(
      kept.messages.filter((m) => m.conversation === LOBBY).map((m) => m.seq),
      [1, 2, 3, 4, 5, 6],
      'the lobby kept, once per seq',
    );
    t.same(
      kept.messages.filter((m) => m.conversation === dm).map((m) => m.seq),
      [1, 2, 3, 4],
    );
    t.same(kept.outbox, [], 'the outbox is empty');
    t.same(kept.meta.cursors, { [dm]: 4, [LOBBY]: 6 });
    t.equal(kept.meta.conversations?.active, LOBBY, 'the open conversation is kept');
  },
);

// ---- accounts: tokens, the sign-in screen, the session's token ----

/** A localStorage stand-in; several TokenStores on one of these are like several tabs of one origin. */
function fakeStorage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

t.test('token store: one token per user, expiry, last user, shared between tabs', (t) => {
  const time = new FakeTime();
  time.now = 1_000;
  const storage = fakeStorage();
  const tab1 = new TokenStore(storage, time.clock);
  const tab2 = new TokenStore(storage, time.clock);
  t.same(tab1.lookup('dave'), { status: 'none' });
  t.equal(tab1.lastUser(), null);

  tab1.save({ username: 'dave', token: 'v1.a.x', expiresAt: 5_000 });
  tab1.save({ username: 'erin', token: 'v1.b.y', expiresAt: 9_000 });
  t.same(tab2.get('dave'), { username: 'dave', token: 'v1.a.x', expiresAt: 5_000 }, 'another tab sees the token');
  t.equal(tab2.get('erin')?.token, 'v1.b.y', 'per user');
  t.equal(tab2.lastUser(), 'erin', 'the last one signed in');
  t.equal(tab1.get('Dave'), null, 'usernames are matched exactly (the server gives the stored spelling)');

  time.now = 5_000;
  t.same(tab1.lookup('dave'), { status: 'expired', username: 'dave' }, 'expired at expiresAt');
  t.same(tab1.lookup('dave'), { status: 'none' }, 'and forgotten');
  t.equal(tab1.get('erin')?.token, 'v1.b.y', 'the other user is untouched');

  // Tab 2 fails with the old token after tab 1 signed in again: the new one survives.
  tab1.save({ username: 'erin', token: 'v1.c.z', expiresAt: 20_000 });
  tab2.forget('erin', 'v1.b.y');
  t.equal(tab1.get('erin')?.token, 'v1.c.z', 'forgetting a stale token keeps the newer one');
  tab2.forget('erin');
  t.equal(tab1.get('erin'), null, 'forgetting without a token removes it');
  t.equal(tab1.lastUser(), null, 'and it is no longer the last user');
  t.equal(storage.map.has(TOKENS_KEY), false, 'nothing left behind');

  time.now = 30_000;
  tab1.save({ username: 'gus', token: 'v1.d.w', expiresAt: 31_000 });
  time.now = 31_000;
  t.equal(tab1.lastUser(), null, 'an expired last user is not offered');

  storage.map.set(TOKENS_KEY, '{"tokens":{"x":{"token":1},"__proto__":{"token":"t","expiresAt":1e15}},"last":"x"');
  t.same(tab1.lookup('x'), { status: 'none' }, 'a malformed record reads as empty');
  storage.map.set(
    TOKENS_KEY,
    JSON.stringify({ last: 'x', tokens: { x: { token: 5, expiresAt: 1e15 }, y: { token: 't', expiresAt: 1e15 } } }),
  );
  t.same([tab1.get('x'), tab1.get('y')?.token, tab1.lastUser()], [null, 't', null], 'bad entries are skipped, good ones kept');

  const broken = new TokenStore({
    getItem: () => {
      throw new Error('denied');
    },
    setItem: () => {
      throw new Error('denied');
    },
    removeItem: () => {},
  });
  const warn = console.warn;
  console.warn = () => {};
  t.teardown(() => (console.warn = warn));
  t.doesNotThrow(
    () => broken.save({ username: 'a', token: 't', expiresAt: Date.now() + 1000 }),
    'storage that throws does not break signing in',
  );
  t.equal(broken.get('a'), null);
  t.end();
});

t.test('start route: where a tab goes for the id in its path', (t) => {
  const time = new FakeTime();
  time.now = 1_000;
  const tokens = new TokenStore(fakeStorage(), time.clock);
  t.match(
    entryFor(null, tokens, { continueLast: true }),
    { kind: 'gate', mode: 'sign-in', name: '' },
    '/ with nobody signed in: the sign-in screen',
  );
  t.same(entryFor('erin', tokens, { continueLast: true }), { kind: 'chat', id: 'erin', token: null }, 'an id without a token: a guest');
  t.match(entryFor('a b', tokens, { continueLast: true }), {
    kind: 'gate',
    mode: 'guest',
    name: 'a b',
    problem: /^“a b” has a space\. A name can use/,
  });

  tokens.save({ username: 'dave', token: 'tok', expiresAt: 2_000 });
  t.match(
    entryFor(null, tokens, { continueLast: true }),
    { kind: 'chat', id: 'dave', token: { token: 'tok' } },
    '/ continues as the signed-in user',
  );
  t.match(entryFor(null, tokens, { continueLast: false }), { kind: 'gate' }, '…only on a page load (not after signing out or leaving)');
  t.match(
    entryFor('dave', tokens, { continueLast: false }),
    { kind: 'chat', id: 'dave', token: { token: 'tok' } },
    'the id with its token',
  );
  time.now = 2_000;
  t.match(
    entryFor('dave', tokens, { continueLast: false }),
    { kind: 'gate', mode: 'sign-in', name: 'dave', notice: 'Your session expired. Sign in again to continue.' },
    'an expired token: the sign-in screen for that name, saying so',
  );
  t.same(
    entryFor('dave', tokens, { continueLast: false }),
    { kind: 'chat', id: 'dave', token: null },
    'then (the token forgotten) a guest attempt',
  );
  t.end();
});

t.test('after a 4401: signed out, expired, a name that needs its password, or a newer token from another tab', (t) => {
  const time = new FakeTime();
  time.now = 1_000;
  const storage = fakeStorage();
  const tokens = new TokenStore(storage, time.clock);
  const failed: AuthEnding = { error: 'AUTH_FAILED', reason: 'invalid token' };
  const used = { username: 'dave', token: 'old', expiresAt: 10_000 };

  t.match(
    entryAfterAuthEnded('dave', null, { error: 'AUTH_REQUIRED', reason: '' }, tokens, time.now),
    { kind: 'gate', mode: 'sign-in', name: 'dave', notice: /“dave” needs a password/ },
    'a guest on a registered name: the sign-in screen for it',
  );

  tokens.save(used);
  t.match(entryAfterAuthEnded('dave', used, { error: null, reason: 'signed out' }, tokens, time.now), {
    kind: 'gate',
    name: 'dave',
    notice: 'You were signed out. Sign in again to continue.',
  });
  t.equal(tokens.get('dave'), null, 'the refused token is dropped');

  tokens.save(used);
  t.match(
    entryAfterAuthEnded('dave', used, { error: null, reason: 'session expired' }, tokens, time.now),
    { notice: /session expired/ },
    'the server said it expired',
  );
  tokens.save(used);
  t.match(entryAfterAuthEnded('dave', used, failed, tokens, 10_000), { notice: /session expired/ }, 'refused at its expiry: expired');

  tokens.save({ ...used, token: 'new' });
  t.match(
    entryAfterAuthEnded('dave', used, failed, tokens, time.now),
    { kind: 'chat', id: 'dave', token: { token: 'new' } },
    'another tab signed in again: use its token',
  );
  t.end();
});

t.test('auth API: requests, answers and failures, never throwing', async (t) => {
  t.equal(authBase('ws://127.0.0.1:8080'), 'http://127.0.0.1:8080/auth');
  t.equal(authBase('wss://chat.example/chorus/'), 'https://chat.example/chorus/auth', 'wss -> https, path kept');

  const user = { username: 'dave', profile: { firstNames: null, lastNames: null, age: 34, gender: null, displayName: null }, createdAt: 1 };
  const calls: { url: string; init: RequestInit }[] = [];
  let answer: () => Response = () => new Response(null, { status: 204 });
  const api = new AuthApi(
    async () => 'http://chat.test/auth',
    async (url, init) => {
      calls.push({ url: String(url), init: init! });
      return answer();
    },
  );
  const json =
    (status: number, body: unknown, headers: Record<string, string> = {}) =>
    () =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

  answer = json(200, { token: 'v1.s.1.sig', expiresAt: 99, user });
  t.same(await api.login('dave', 'pw'), { ok: true, value: { token: 'v1.s.1.sig', expiresAt: 99, user } });
  const { displayName: _none, ...olderProfile } = user.profile;
  answer = json(200, { token: 'v1.s.1.sig', expiresAt: 99, user: { ...user, profile: olderProfile } });
  t.same(
    await api.login('dave', 'pw'),
    { ok: true, value: { token: 'v1.s.1.sig', expiresAt: 99, user } },
    'a server without display names: none',
  );
  calls.pop(); // the checks below count the calls without this one
  t.equal(calls[0]!.url, 'http://chat.test/auth/login');
  t.same(JSON.parse(calls[0]!.init.body as string), { username: 'dave', password: 'pw' });
  t.equal(calls[0]!.init.credentials, 'omit', 'no cookies: bearer tokens only');

  answer = json(201, { token: 'v1.s.1.sig', expiresAt: 99, user });
  await api.register('dave', 'password1', {});
  t.same(JSON.parse(calls[1]!.init.body as string), { username: 'dave', password: 'password1' }, 'an empty profile is left out');
  await api.register('dave', 'password1', { age: 34 });
  t.same(JSON.parse(calls[2]!.init.body as string), { username: 'dave', password: 'password1', profile: { age: 34 } });

  answer = () => new Response(null, { status: 204 });
  t.same(await api.logout('tok'), { ok: true, value: undefined });
  t.equal((calls[3]!.init.headers as Record<string, string>).authorization, 'Bearer tok', 'the token as a bearer header');

  answer = json(401, { code: 'AUTH_FAILED', message: 'wrong username, password or token' });
  t.same(await api.login('dave', 'nope'), {
    ok: false,
    failure: { code: 'AUTH_FAILED', message: 'wrong username, password or token', retryAfterSeconds: null },
  });
  answer = json(429, { code: 'TOO_MANY_ATTEMPTS', message: 'too many attempts' }, { 'retry-after': '840' });
  t.match(
    await api.login('dave', 'nope'),
    { ok: false, failure: { code: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: 840 } },
    'Retry-After is read',
  );
  answer = json(200, { token: 'has spaces', expiresAt: 99, user });
  t.match(
    await api.login('dave', 'pw'),
    { ok: false, failure: { code: 'BAD_RESPONSE' } },
    'a token that could not travel as a subprotocol is refused',
  );
  answer = json(200, { user: { ...user, profile: null } });
  t.match(await api.me('tok'), { ok: false, failure: { code: 'BAD_RESPONSE' } }, 'an answer of the wrong shape');
  answer = json(502, { oops: true });
  t.match(await api.login('dave', 'pw'), { ok: false, failure: { code: 'BAD_RESPONSE', message: /502/ } });
  answer = () => {
    throw new TypeError('Failed to fetch');
  };
  t.match(await api.login('dave', 'pw'), { ok: false, failure: { code: 'NETWORK' } }, 'no answer at all');
});

t.test('auth failures in plain words', (t) => {
  const f = (code: string, message = '', retryAfterSeconds: number | null = null) => ({
    code: code as 'AUTH_FAILED',
    message,
    retryAfterSeconds,
  });
  t.equal(explainAuthFailure(f('AUTH_FAILED'), 'sign-in', 'dave'), 'Wrong username or password.', 'never says which');
  t.equal(
    explainAuthFailure(f('USERNAME_TAKEN'), 'sign-up', 'dave'),
    'The name “dave” is taken. If it is yours, sign in instead; otherwise pick another name.',
  );
  t.equal(
    explainAuthFailure(f('WEAK_PASSWORD', 'password must not be the username'), 'sign-up', 'dave'),
    'Password must not be the username.',
  );
  t.equal(explainAuthFailure(f('TOO_MANY_ATTEMPTS', 'x', 840), 'sign-in', 'dave'), 'Too many attempts. Try again in 14 minutes.');
  t.equal(explainAuthFailure(f('TOO_MANY_ATTEMPTS', 'x'), 'sign-in', 'dave'), 'Too many attempts. Wait a while, then try again.');
  t.equal(explainAuthFailure(f('WRONG_PASSWORD'), 'change-password', 'dave'), 'Your current password is not right.');
  t.match(
    explainAuthFailure(f('INVALID_CLIENT_ID', 'invalid username: must be 1-64 letters'), 'sign-up', 'a b'),
    /^“a b” has a space\. A username can use/,
    'in our words, about the name',
  );
  t.match(explainAuthFailure(f('NETWORK', 'Failed to fetch'), 'sign-in', 'dave'), /Cannot reach the chat server/);
  t.same([1, 30, 60, 61, 900, 3600, 7201].map(formatWait), [
    'a second',
    '30 seconds',
    'a minute',
    '2 minutes',
    '15 minutes',
    'an hour',
    '3 hours',
  ]);
  t.end();
});

t.test('sign-in flow: checks before asking, answers in plain words, hands over the account', async (t) => {
  const signedIn: SignedIn[] = [];
  const requests: string[] = [];
  let answer: Response = new Response(null, { status: 500 });
  const api = new AuthApi(
    async () => 'http://chat.test/auth',
    async (url) => {
      requests.push(String(url));
      return answer;
    },
  );
  const flow = new SignInFlow(api, {
    signedIn: (s) => signedIn.push(s),
    guest: (name) => (name === 'ok' ? null : 'bad'),
    continueAs: () => {},
  });
  flow.show({ mode: 'sign-in', name: 'dave', notice: 'You were signed out. Sign in again to continue.', problem: null }, null);
  t.equal(flow.mode, 'sign-in');
  t.equal(flow.notice, 'You were signed out. Sign in again to continue.');

  t.equal(await flow.signIn('dave', ''), false);
  t.equal(flow.error, 'Enter your username and your password.', 'an empty password is not sent');
  t.equal(await flow.signUp('dave', 'short'), false);
  t.equal(flow.error, 'The password must be at least 8 characters.');
  t.equal(flow.errorField, 'password', 'shown at the password field, not under the profile');
  t.equal(await flow.signUp('davedave', 'DaveDave'), false);
  t.equal(flow.error, 'The password must not be your username.');
  t.equal(await flow.signUp('no spaces', 'long enough pw'), false);
  t.match(flow.error, /^“no spaces” has a space\. A username can use the letters A–Z/);
  t.equal(flow.errorField, 'username', 'shown at the username');
  t.equal(await flow.signUp('dave', 'long enough pw', { age: 1.5 }), false);
  t.equal(flow.error, 'Age must be a whole number from 0 to 150.');
  t.equal(flow.errorField, 'profile', 'a profile problem is shown with the profile');
  t.same(requests, [], 'none of these reached the server');

  flow.choose('sign-up');
  t.equal(flow.error, null, 'switching tabs clears the error');

  answer = new Response(JSON.stringify({ code: 'USERNAME_TAKEN', message: 'this username is taken' }), { status: 409 });
  t.equal(await flow.signUp('dave', 'long enough pw', { firstNames: 'Dave' }), false);
  t.match(flow.error, /“dave” is taken/);
  t.equal(flow.errorField, 'username', 'the server’s refusal of the name is shown at the name');
  t.equal(flow.busy, false);

  const user = {
    username: 'dave',
    profile: { firstNames: null, lastNames: null, age: null, gender: null, displayName: null },
    createdAt: 1,
  };
  answer = new Response(JSON.stringify({ token: 'v1.t.2.s', expiresAt: 5, user }), { status: 200 });
  const pending = flow.signIn(' dave ', 'long enough pw');
  t.equal(flow.busy, true, 'busy while the server answers');
  t.equal(await flow.signIn('dave', 'again'), false, 'a second submit meanwhile is ignored');
  t.equal(await pending, true);
  t.same(signedIn, [{ token: 'v1.t.2.s', expiresAt: 5, user }], 'the account is handed over');
  t.equal(flow.notice, null, 'the notice goes once in');

  t.equal(flow.guest(' ok '), null, 'the guest path goes to the app (trimmed)');
  t.equal(flow.guest('x'), 'bad');
});

t.test('session with a token: offered as a subprotocol; 4401 ends it, with or without an error frame', async (t) => {
  FakeSocket.install();
  const endings: AuthEnding[] = [];
  const session = new ChatSession('dave', async () => 'ws://chat.test/ws/dave?resume=1', undefined, {
    token: 'v1.sess.9.sig',
    onAuthEnded: (ending) => endings.push(ending),
  });
  session.start();
  t.teardown(() => session.stop());
  const socket = await FakeSocket.next();
  t.same(socket.protocols, ['chorus.v1', 'auth.v1.sess.9.sig'], 'chorus.v1, then auth.<token> (never in the URL)');
  t.equal(socket.url, 'ws://chat.test/ws/dave?resume=1');
  socket.accept();
  socket.play({ type: 'error', code: 'AUTH_FAILED', message: 'wrong username, password or token', retryable: false });
  socket.close(CloseCode.AUTH_FAILED, 'wrong username, password or token');
  t.same(endings, [{ error: 'AUTH_FAILED', reason: 'wrong username, password or token' }], 'refused at the upgrade');
  t.match(session.connection.status, { kind: 'offline', code: 4401 }, 'and it does not reconnect');
  t.equal(session.notices.length, 0, 'no notice: the app shows the sign-in screen instead');

  session.connection.retryNow();
  const again = await FakeSocket.next();
  again.accept();
  again.play({
    type: 'welcome',
    protocol: 'chorus.v1',
    clientId: 'dave',
    serverAt: 1,
    node: 'n',
    online: ['dave'],
    onlineCount: 1,
    rooms: [],
    memberOf: [],
    limits: { maxTextLength: 10_000, maxFrameBytes: 65_536 },
  });
  again.close(CloseCode.AUTH_FAILED, 'signed out');
  t.same(endings[1], { error: null, reason: 'signed out' }, 'signed out while online: the close alone says it');

  const guest = new ChatSession('erin', async () => 'ws://chat.test/ws/erin?resume=1');
  guest.start();
  t.teardown(() => guest.stop());
  t.equal((await FakeSocket.next()).protocols, 'chorus.v1', 'a guest offers chorus.v1 alone');
  t.match(explainClose({ code: 4401, reason: 'session expired', error: null, clientId: 'dave', opened: true }), /session expired/);
  t.match(explainClose({ code: 4401, reason: 'signed out', error: null, clientId: 'dave', opened: true }), /signed out/);
});
