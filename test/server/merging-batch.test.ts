import type { AckFrame, ReceiptsFrame } from '@chorus/protocol';
import t from 'tap';
import { MergingBatch } from '../../apps/server/src/storage/merging-batch.js';
import { SqliteStorage } from '../../apps/server/src/storage/sqlite-storage.js';
import type { StoredReceiptCounts } from '../../apps/server/src/storage/storage.js';
import { startInProcess } from '../helpers/in-process-server.js';
import { jsonClient } from '../helpers/ws-client.js';

/** A write that waits until the test lets it finish. */
function manualWrites<V>() {
  const batches: V[][] = [];
  const finishers: (() => void)[] = [];
  return {
    batches,
    write: (values: V[]) => {
      batches.push(values);
      return new Promise<void>((resolve) => finishers.push(resolve));
    },
    finish: () => finishers.shift()!(),
  };
}

type Value = { key: string; n: number };
const larger = (a: Value, b: Value) => (b.n > a.n ? b : a);
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

t.test("MergingBatch: a turn's values merge per key into one write; one write in flight; the next takes what came meanwhile", async (t) => {
  const writes = manualWrites<Value>();
  const batch = new MergingBatch<Value>({ write: writes.write, merge: larger, onError: () => t.fail('no error') });
  for (let i = 0; i < 1000; i++) batch.add(`k${i % 3}`, { key: `k${i % 3}`, n: i });
  t.same(writes.batches, [], 'nothing written within the turn');
  await nextTurn();
  t.same(
    writes.batches,
    [
      [
        { key: 'k0', n: 999 },
        { key: 'k1', n: 997 },
        { key: 'k2', n: 998 },
      ],
    ],
    'one write of three rows for a thousand values',
  );

  batch.add('k0', { key: 'k0', n: 5 });
  batch.add('k3', { key: 'k3', n: 1 });
  t.same(
    batch.unwritten(),
    [
      { key: 'k0', n: 999 },
      { key: 'k1', n: 997 },
      { key: 'k2', n: 998 },
      { key: 'k3', n: 1 },
    ],
    'unwritten: in flight and queued, merged',
  );
  await nextTurn();
  t.equal(writes.batches.length, 1, 'no second write while one is in flight');
  const flushed = batch.flush();
  writes.finish();
  await nextTurn();
  t.same(
    writes.batches[1],
    [
      { key: 'k0', n: 5 },
      { key: 'k3', n: 1 },
    ],
    'the next write starts when the last one settles',
  );
  writes.finish();
  await flushed;
  t.same(batch.unwritten(), []);
});

t.test('MergingBatch: a failed write is reported and dropped; later writes go on', async (t) => {
  const errors: unknown[] = [];
  let fail = true;
  const written: string[][] = [];
  const batch = new MergingBatch<string>({
    write: async (values) => {
      if (fail) throw new Error('disk full');
      written.push(values);
    },
    merge: (_older, newer) => newer,
    onError: (err) => errors.push(err),
  });
  batch.add('a', 'a1');
  await batch.flush();
  t.match(errors, [{ message: 'disk full' }]);
  fail = false;
  batch.add('a', 'a2');
  await batch.flush();
  t.same(written, [['a2']]);
});

t.test('the hub stores receipt counts in one write per turn, not one per receipt', async (t) => {
  const calls: StoredReceiptCounts[][] = [];
  const save = SqliteStorage.prototype.saveReceiptCounts;
  SqliteStorage.prototype.saveReceiptCounts = function (this: SqliteStorage, counts: readonly StoredReceiptCounts[]) {
    calls.push([...counts]);
    return save.call(this, counts);
  };
  t.teardown(() => void (SqliteStorage.prototype.saveReceiptCounts = save));
  const server = await startInProcess();
  t.teardown(() => server.stop());
  const alice = await jsonClient(server.base, 'alice');
  const bob = await jsonClient(server.base, 'bob');
  const ids: string[] = [];
  for (let i = 0; i < 200; i++) alice.send({ type: 'send', id: `b${i}`, to: 'bob', text: `n${i}`, sentAt: 1796227469181 });
  for (let i = 0; i < 200; i++) ids.push(((await alice.nextJson((f) => f.type === 'ack')) as AckFrame).id);
  // 200 receipts in one frame: one turn.
  bob.send({ type: 'receipt', status: 'read', from: 'alice', ids });
  const update = (await alice.nextJson((f) => f.type === 'receipts')) as ReceiptsFrame;
  t.equal(update.updates.length, 200);
  await server.stop();
  t.equal(calls.length, 1, 'one write');
  t.equal(calls[0]!.length, 200, 'of 200 rows');
  t.same(calls[0]![0], { id: ids[0], recipients: 1, delivered: 1, read: 1 });
  await Promise.all([alice.closed, bob.closed]);
});
