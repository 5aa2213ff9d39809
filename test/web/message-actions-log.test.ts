/**
 * The browser's message log and message actions, without a browser: an action
 * holds its seq as a hidden filler (so the timeline and cursors stay gap-free),
 * applies to its message once however often it comes, and a history page's
 * action seqs join the messages around them.
 */
import type { ActionFrame, MessageFrame } from '@chorus/protocol';
import t from 'tap';
import type { ChatMessage } from '../../apps/web/src/lib/state/chat-message.js';
import { MessageLog } from './fixtures/load-state.js';

const message = (seq: number, fields: Partial<MessageFrame> = {}): MessageFrame => ({
  type: 'message',
  id: `n.${seq}`,
  from: 'bob',
  to: null,
  room: null,
  conversation: 'everyone',
  seq,
  text: `text ${seq}`,
  sentAt: seq,
  serverAt: seq,
  ...fields,
});
const action = (seq: number, kind: ActionFrame['action'], text: string, from = 'bob', target = 'n.1'): ActionFrame => ({
  type: 'action',
  id: `a.${seq}`,
  action: kind,
  message: target,
  from,
  conversation: 'everyone',
  seq,
  text,
  serverAt: 100 + seq,
});
const shown = (log: InstanceType<typeof MessageLog>) => log.in('everyone').filter((m): m is ChatMessage => m.kind === 'message');

t.test('actions apply once, in order, and their seqs are held but never shown', async (t) => {
  const log = new MessageLog('alice');
  log.add(message(1));
  for (const frame of [
    action(2, 'edit', 'fixed'),
    action(3, 'react', '👍', 'alice'),
    action(3, 'react', '👍', 'alice'),
    action(4, 'react', '👍', 'carol'),
    action(5, 'react', '🎉', 'carol'),
    action(6, 'unreact', '🎉', 'carol'),
  ]) {
    log.applyAction(frame);
  }
  // A replayed copy of one applied already changes nothing.
  log.applyAction(action(3, 'react', '👍', 'alice'));
  log.add(message(7));
  const [first, second] = shown(log);
  t.equal(shown(log).length, 2, 'the two messages, no fillers');
  t.match(first, { text: 'fixed', editedAt: 102, reactions: [{ emoji: '👍', by: ['alice', 'carol'] }] });
  t.equal(second?.seq, 7);
  t.equal(log.shown('everyone'), 7, 'seqs 1-7 join up: no gap hides message 1');
  t.ok(log.holds('everyone', 4));
  log.applyAction(action(8, 'delete', ''));
  t.match(shown(log)[0], { deleted: true, text: '', reactions: [] });
  log.applyAction(action(9, 'edit', 'back', 'bob'));
  t.equal(shown(log)[0]?.text, '', 'a deleted message stays deleted');
});

t.test("a history page's action seqs join its messages; its state wins over what was held", async (t) => {
  const log = new MessageLog('alice');
  log.add(message(5));
  log.add(message(2, { text: 'now', editedAt: 9, reactions: [{ emoji: '❤️', by: ['carol'] }] }));
  t.equal(log.shown('everyone'), 1, 'a gap between 2 and 5: only 5 shows');
  for (const seq of [3, 4]) log.addFiller('everyone', seq);
  t.equal(log.shown('everyone'), 4, 'filled: 2 to 5 show');
  t.match(shown(log)[0], { seq: 2, text: 'now', editedAt: 9, reactions: [{ emoji: '❤️', by: ['carol'] }] });
  log.add(message(2, { text: '', deleted: true }));
  t.match(shown(log)[0], { deleted: true, text: '' }, 'a newer page of the same message updates it');
});
