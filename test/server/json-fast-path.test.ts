import { ClientFrame } from '@chorus/protocol';
import t from 'tap';
import { fastDecode } from '../../apps/server/src/protocols/json-fast-path.js';
import { JsonCodec } from '../../apps/server/src/protocols/json-codec.js';

const codec = new JsonCodec({ node: 'n', maxFrameBytes: 65_536 });

/** The command the schemas make of a frame (the path without the shortcut). */
function viaSchemas(frame: unknown) {
  const parsed = ClientFrame.safeParse(frame);
  if (!parsed.success) return null;
  const f = parsed.data;
  if (f.type === 'send') return { kind: 'send', ref: f.id, to: f.to ?? null, room: f.room ?? null, text: f.text, sentAt: f.sentAt };
  if (f.type === 'receipt') return { kind: 'receipt', status: f.status, from: f.from, ids: f.ids };
  return 'other';
}

const base = { type: 'send', id: 'r1', text: 'hi', sentAt: 5 };
const receipt = { type: 'receipt', status: 'delivered', from: 'alice', ids: ['n.1'] };
const frames: unknown[] = [
  base,
  { ...base, to: 'bob' },
  { ...base, to: null, room: null },
  { ...base, room: 'lounge' },
  { ...base, room: 'Lounge' },
  { ...base, room: 'K\u212a' },
  { ...base, to: 'bob', room: 'lounge' },
  { ...base, to: '', room: 'lounge' },
  { ...base, to: 'bad id' },
  { ...base, to: 7 },
  { ...base, room: '' },
  { ...base, text: '' },
  { ...base, text: 'x'.repeat(10_000) },
  { ...base, text: 'x'.repeat(10_001) },
  { ...base, text: 'a\u0000b' },
  { ...base, text: 'a\ud800b' },
  { ...base, id: '' },
  { ...base, id: 'x'.repeat(64) },
  { ...base, id: 'x'.repeat(65) },
  { ...base, id: 'a\u0000' },
  { ...base, id: 3 },
  { ...base, sentAt: -1 },
  { ...base, sentAt: -0 },
  { ...base, sentAt: 1.5 },
  { ...base, sentAt: 253_402_300_799_999 },
  { ...base, sentAt: 253_402_300_800_000 },
  { ...base, sentAt: '5' },
  { ...base, extra: 1 },
  JSON.parse('{"type":"send","id":"r","text":"t","sentAt":1,"__proto__":{"x":1}}'),
  { type: 'send', text: 'hi', sentAt: 1 },
  receipt,
  { ...receipt, status: 'read' },
  { ...receipt, status: 'seen' },
  { ...receipt, from: 'no way' },
  { ...receipt, ids: [] },
  { ...receipt, ids: Array.from({ length: 200 }, (_, i) => `n.${i}`) },
  { ...receipt, ids: Array.from({ length: 201 }, (_, i) => `n.${i}`) },
  { ...receipt, ids: [''] },
  { ...receipt, ids: ['x'.repeat(65)] },
  { ...receipt, ids: [1] },
  { ...receipt, ids: 'n.1' },
  { ...receipt, extra: true },
  { type: 'ping', sentAt: 1 },
  [base],
  null,
  'send',
];

t.test('the shortcut accepts only what the schemas accept, and makes the same command', async (t) => {
  let taken = 0;
  for (const frame of frames) {
    const fast = fastDecode(frame);
    const expected = viaSchemas(frame);
    const label = JSON.stringify(frame)?.slice(0, 80) ?? String(frame);
    if (fast === null) continue;
    taken++;
    t.same(fast, expected, label);
  }
  t.ok(taken >= 8, `the common frames take the shortcut (${taken})`);
  t.not(fastDecode(base), null, 'a plain send');
  t.not(fastDecode(receipt), null, 'a plain receipt');
});

t.test('every frame decodes as the schemas decide, shortcut or not', async (t) => {
  for (const frame of frames) {
    const command = codec.decode(JSON.stringify(frame));
    const expected = viaSchemas(frame);
    const label = JSON.stringify(frame)?.slice(0, 80) ?? String(frame);
    if (expected === null) t.match(command, { kind: 'invalid', code: 'BAD_FRAME' }, label);
    else if (expected !== 'other') t.same(command, expected, label);
  }
});
