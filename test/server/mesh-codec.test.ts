import t from 'tap';
import { encodeRecord, RecordReader, withRenderedFrame } from '../../apps/server/src/cluster/mesh-codec.js';
import type { Delivery, Envelope } from '../../apps/server/src/hub/events.js';
import { JsonCodec } from '../../apps/server/src/protocols/json-codec.js';

const envelope: Envelope = {
  id: 'w1.a',
  from: 'alice',
  to: null,
  room: 'café',
  conversation: 'room:café',
  seq: 7,
  text: 'hé "quoted" \\ ✓\nline',
  sentAt: 1,
  serverAt: 2,
};
const message: Delivery = { target: { kind: 'room', room: 'café' }, payload: { kind: 'message', envelope }, origin: 'w1:3' };
const receipt: Delivery = {
  target: { kind: 'client', clientId: 'alice' },
  payload: { kind: 'receipts', to: 'alice', receipts: [{ by: 'bob', status: 'delivered', ids: ['w1.a', 'w1.b'] }] },
};
const json = new JsonCodec({ node: 'w1', maxFrameBytes: 65_536 });

function readAll(bytes: Buffer, cuts: number[]): { deliveries: Delivery[]; errors: Error[] } {
  const reader = new RecordReader();
  const deliveries: Delivery[] = [];
  const errors: Error[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    reader.push(
      bytes.subarray(from, cut),
      (d) => deliveries.push(d),
      (e) => errors.push(e),
    );
    from = cut;
  }
  return { deliveries, errors };
}

t.test('a message crosses with its JSON frame: the bytes the JSON codec renders, and the envelope on demand', async (t) => {
  const stream = Buffer.concat([encodeRecord(message), encodeRecord(receipt), encodeRecord(withRenderedFrame(message))]);
  // Cut the stream at every byte: records arrive whole whatever the chunks.
  for (let cut = 0; cut <= stream.length; cut++) {
    const { deliveries, errors } = readAll(stream, [cut]);
    if (deliveries.length !== 3 || errors.length > 0) {
      t.fail(`cut at ${cut}: ${deliveries.length} deliveries, ${errors.length} errors`);
      return;
    }
  }
  const { deliveries } = readAll(stream, [1, 2, 9, 40]);
  const [first, second, third] = deliveries;
  t.same(second, receipt, 'other deliveries cross as they are');
  for (const d of [first!, third!]) {
    t.same(d.target, message.target);
    t.equal(d.origin, 'w1:3');
    if (d.payload.kind !== 'message') throw new Error('not a message');
    t.equal(d.payload.json!.toString(), json.encode({ kind: 'message', envelope }), 'the frame JSON clients get, byte for byte');
    t.equal(d.payload.envelope.conversation, 'room:café');
    t.equal(d.payload.envelope.seq, 7);
    t.same({ ...JSON.parse(JSON.stringify(d.payload.envelope)) }, envelope, 'the envelope, read from the frame');
    t.equal(d.payload.envelope.text, envelope.text);
    t.equal(d.payload.envelope.room, 'café');
  }
});

t.test('withRenderedFrame renders once and keeps what is rendered', async (t) => {
  const rendered = withRenderedFrame(message);
  t.not(rendered, message);
  t.equal(withRenderedFrame(rendered), rendered, 'not rendered twice');
  t.equal(withRenderedFrame(receipt), receipt, 'only messages');
});

t.test('a record that cannot be decoded is reported; the records after it still arrive', async (t) => {
  const bad = Buffer.from([0, 0, 0, 3, 9, 1, 2]);
  const garbage = Buffer.concat([Buffer.from([0, 0, 0, 3, 0]), Buffer.from('{x')]);
  const { deliveries, errors } = readAll(Buffer.concat([bad, garbage, encodeRecord(receipt)]), []);
  t.equal(errors.length, 2, 'an unknown kind and bad JSON');
  t.same(deliveries, [receipt]);
});

t.test('a failing receiver does not stop the stream', async (t) => {
  const reader = new RecordReader();
  const seen: Delivery[] = [];
  const errors: Error[] = [];
  let first = true;
  reader.push(
    Buffer.concat([encodeRecord(receipt), encodeRecord(receipt)]),
    (d) => {
      if (first) {
        first = false;
        throw new Error('boom');
      }
      seen.push(d);
    },
    (e) => errors.push(e),
  );
  t.equal(errors.length, 1);
  t.equal(seen.length, 1);
});

t.test('every target kind crosses, with and without an origin', async (t) => {
  const targets = [{ kind: 'client', clientId: 'bob' }, { kind: 'room', room: 'café' }, { kind: 'all' }] as const;
  for (const target of targets) {
    for (const origin of [undefined, 'w2:ü1']) {
      const sent: Delivery =
        origin === undefined
          ? { target, payload: { kind: 'message', envelope } }
          : { target, payload: { kind: 'message', envelope }, origin };
      const { deliveries, errors } = readAll(encodeRecord(sent), []);
      t.same(errors, []);
      t.same(deliveries[0]?.target, target);
      t.equal(deliveries[0]?.origin, origin);
    }
  }
});

t.test('a message record whose header overruns it is reported, not read past', async (t) => {
  const record = encodeRecord(message);
  // Claim a conversation longer than the record.
  const cut = Buffer.from(record.subarray(0, record.length));
  const conversationAt = 5 + 1 + 1 + 8 + 2 + Buffer.byteLength('café') + 2 + Buffer.byteLength('w1:3');
  cut.writeUInt16BE(0xfff0, conversationAt);
  const { deliveries, errors } = readAll(Buffer.concat([cut, encodeRecord(receipt)]), []);
  t.equal(errors.length, 1);
  t.same(deliveries, [receipt]);
});
