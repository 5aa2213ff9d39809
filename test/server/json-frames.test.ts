import t from 'tap';
import type { Envelope, OutEvent } from '../../apps/server/src/hub/events.js';
import { JsonCodec } from '../../apps/server/src/protocols/json-codec.js';
import { MessageFrame } from '@chorus/protocol';
import { envelopeOfMessageFrame, messageFrame, messageFrameJson } from '../../apps/server/src/protocols/message-frame.js';

// The hot frames are put together by hand; they must be the text JSON.stringify makes, byte for byte.

const texts = ['plain', 'hé "quoted" \\ ✓\nline\t\u0001', 'emoji 🎉 and a lone surrogate \ud800', '</script>\u2028\u2029', ''];
const base: Envelope = {
  id: 'w1-a.1',
  from: 'alice',
  to: 'bob',
  room: null,
  conversation: 'dm:alice:bob',
  seq: 1,
  text: 'x',
  sentAt: 1_763_790_000_000,
  serverAt: 1_763_790_000_123,
};

t.test('messageFrameJson is JSON.stringify(messageFrame(envelope))', async (t) => {
  const envelopes: Envelope[] = [];
  for (const text of texts) {
    envelopes.push({ ...base, text });
    envelopes.push({ ...base, text, to: null, room: 'café', conversation: 'room:café', seq: 2 ** 40 });
    envelopes.push({ ...base, text, to: null, room: null, conversation: 'lobby', seq: 0, sentAt: 0 });
  }
  envelopes.push({ ...base, seq: Number.NaN, sentAt: Infinity, serverAt: -0 });
  // A malformed one (fields undefined) too: JSON.stringify leaves such fields out.
  envelopes.push({ ...base, to: undefined as unknown as null, room: undefined as unknown as null });
  // Labelled by index: a raw U+2028 in an assertion's name would break the TAP stream.
  envelopes.forEach((e, i) => {
    t.equal(messageFrameJson(e), JSON.stringify(messageFrame(e)), `envelope ${i}`);
  });
});

t.test("a reply's frame carries what it answers; history's state fields too; both cross the mesh intact", async (t) => {
  const reply: Envelope = { ...base, conversation: 'dm:alice,bob', replyTo: { id: 'w1-a.0', seq: 1, from: 'bob', text: 'hi 🎉' } };
  const stateful: Envelope = { ...reply, editedAt: 5, deleted: true, reactions: [{ emoji: '👍', by: ['bob', 'alice'] }] };
  for (const e of [reply, stateful]) {
    const json = messageFrameJson(e);
    t.equal(json, JSON.stringify(messageFrame(e)));
    t.ok(MessageFrame.safeParse(JSON.parse(json)).success, 'a valid message frame');
    t.same(envelopeOfMessageFrame(json), e, 'the envelope read back from the frame (the mesh) is the same');
  }
  t.same(
    Object.keys(JSON.parse(messageFrameJson(base))),
    ['type', 'id', 'from', 'to', 'room', 'conversation', 'seq', 'text', 'sentAt', 'serverAt'],
    'a plain message gains no field',
  );
});

t.test('the ack frame is JSON.stringify of its fields in the protocol order', async (t) => {
  const codec = new JsonCodec({ node: 'w1', maxFrameBytes: 65_536 });
  for (const ref of ['c-1', 'ré "f" \\ 🎉']) {
    const ack: OutEvent = {
      kind: 'ack',
      ref,
      id: 'w1-a.1',
      serverAt: 1_763_790_000_123,
      recipients: 3,
      conversation: 'room:café',
      seq: 42,
    };
    const expected = JSON.stringify({
      type: 'ack',
      ref,
      id: 'w1-a.1',
      serverAt: 1_763_790_000_123,
      recipients: 3,
      conversation: 'room:café',
      seq: 42,
    });
    t.equal(codec.encode(ack), expected);
  }
});

t.test('the receipts frame is JSON.stringify of its updates, each {id, delivered, read}', async (t) => {
  const codec = new JsonCodec({ node: 'w1', maxFrameBytes: 65_536 });
  const lists = [
    [{ id: 'w1-a.1', delivered: 1, read: 0 }],
    [
      { id: 'w1-a.1', delivered: 3, read: 2 },
      { id: 'w2-é "x".2', delivered: 0, read: 0 },
      { id: 'w1-a.3', delivered: 12, read: 12 },
    ],
    [],
  ];
  for (const updates of lists) {
    t.equal(codec.encode({ kind: 'receipts', updates }), JSON.stringify({ type: 'receipts', updates }), `${updates.length} updates`);
  }
});
