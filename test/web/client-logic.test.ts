/**
 * The browser client's logic without a browser: backoff, routes, ids, wording,
 * and the state classes (conversations, receipts, ticks, typing), the
 * `*.svelte.ts` ones compiled by Svelte as the browser build compiles them.
 * Time-based behaviour runs on a fake clock.
 */
import t from 'tap';
import { CloseCode, MAX_RECEIPT_IDS, TYPING_REFRESH_MS, TYPING_TTL_MS, type ErrorFrame, type MessageFrame, type ReceiptFrame } from '@chorus/protocol';
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
import { FakeTime } from './fixtures/fake-time.js';
import { Conversations, MessageLog, RoomDirectory, TypingIndicators } from './fixtures/load-state.js';

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
  t.match(explainRoomError(error('ROOM_EXISTS', 'a room with this name already exists: general'), 'create', 'general'), /already a room called “general”/);
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
  const sender = new TypingSender((conversation, active) => (sent.push([conversation, active]), true), time.clock);
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
  t.same(sent.slice(3), [['room:a', true], ['room:a', false], ['room:b', true]], 'switching stops the old one first');
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
  const outbox = new ReceiptOutbox((frame) => (online ? (frames.push(frame), true) : false), { delayMs: 100, timers: time });
  outbox.add('delivered', 'alice', 'm1');
  outbox.add('delivered', 'bob', 'm2');
  outbox.add('delivered', 'alice', 'm3');
  outbox.add('delivered', 'alice', 'm3');
  t.equal(frames.length, 0, 'nothing sent at once');
  time.advance(99);
  t.equal(frames.length, 0, 'nothing before the delay');
  time.advance(1);
  t.same(frames, [
    { type: 'receipt', status: 'delivered', from: 'alice', ids: ['m1', 'm3'] },
    { type: 'receipt', status: 'delivered', from: 'bob', ids: ['m2'] },
  ], 'one frame per sender, each id once');

  frames.length = 0;
  for (let i = 0; i < MAX_RECEIPT_IDS + 5; i++) outbox.add('delivered', 'alice', `d${i}`);
  time.advance(100);
  t.same(frames.map((f) => f.ids.length), [MAX_RECEIPT_IDS, 5], 'split at MAX_RECEIPT_IDS');

  frames.length = 0;
  outbox.add('delivered', 'alice', 'x1');
  outbox.add('delivered', 'alice', 'x2');
  outbox.add('read', 'alice', 'x1');
  time.advance(100);
  t.same(frames, [
    { type: 'receipt', status: 'delivered', from: 'alice', ids: ['x2'] },
    { type: 'receipt', status: 'read', from: 'alice', ids: ['x1'] },
  ], 'a read receipt replaces a pending delivery receipt for the same message');

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
  t.match(tickOf(mineIn(log, dm, 'r4')), { tick: 'failed', label: /never been here/ });

  t.same(tickOf({ status: 'sent', failure: null, to: null, room: 'x', recipients: 3, delivered: 0, read: 2 }).detail, 'read by 2 of 3', 'read implies delivered');
  t.same(tickOf({ status: 'sent', failure: null, to: null, room: null, recipients: null, delivered: 0, read: 0 }), { tick: 'sent', label: 'Sent', detail: null }, 'sent from elsewhere: counts unknown');
  t.end();
});

t.test('message log: a note to myself is shown once, whichever of ack and delivery comes first', (t) => {
  const log = new MessageLog('alice');
  const notes: ConversationId = 'dm:alice,alice';
  log.addOwn({ ref: 'r1', from: 'alice', to: 'alice', room: null, text: 'memo', sentAt: 7, serverAt: 7 });
  log.ack({ ref: 'r1', id: 'n.1', serverAt: 8, recipients: 0, conversation: notes, seq: 1 });
  t.equal(log.add(frameFrom('alice', 'n.1', { to: 'alice', text: 'memo', sentAt: 7, seq: 1 })), null, 'ack first: the delivery adds nothing');
  log.addOwn({ ref: 'r2', from: 'alice', to: 'alice', room: null, text: 'memo 2', sentAt: 9, serverAt: 9 });
  t.equal(log.add(frameFrom('alice', 'n.2', { to: 'alice', text: 'memo 2', sentAt: 9, seq: 2 })), null, 'delivery first: it is my pending one');
  t.equal(mineIn(log, notes, 'r2').status, 'sent', 'which shows as sent at once');
  log.ack({ ref: 'r2', id: 'n.2', serverAt: 10, recipients: 0, conversation: notes, seq: 2 });
  t.same(log.in(notes).map((m) => m.key), ['r:r1', 'r:r2'], 'each once, in seq order');
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
  t.same(log.in('room:general').map((i) => i.kind), ['message', 'note'], 'notes are in the timeline');
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

t.test('room directory: welcome, answers and pushes', (t) => {
  const rooms = new RoomDirectory();
  rooms.reset([{ name: 'general', owner: 'alice', members: 2 }, { name: 'dev', owner: 'bob', members: 1 }], ['general']);
  t.same(rooms.joined.map((r) => r.name), ['general']);
  t.same(rooms.others.map((r) => r.name), ['dev']);
  t.equal(rooms.members('general'), null, 'members unknown until the server lists them');
  rooms.entered({ name: 'dev', owner: 'bob', members: ['bob', 'carol'] });
  t.same(rooms.joined.map((r) => [r.name, r.members]), [['dev', 2], ['general', 2]]);
  t.same(rooms.others, []);
  rooms.membersChanged('dev', ['dave'], ['bob']);
  t.same(rooms.members('dev'), ['carol', 'dave']);
  rooms.update([{ name: 'new', owner: 'dave', members: 1 }], ['general']);
  t.equal(rooms.isMember('general'), false, 'a deleted room is not mine any more');
  t.same(rooms.others.map((r) => r.name), ['new']);
  rooms.left('dev');
  t.same(rooms.others.map((r) => r.name), ['dev', 'new'], 'a room I left is still listed');
  t.end();
});
