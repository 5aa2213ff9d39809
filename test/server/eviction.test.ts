import t from 'tap';
import { EvictionRing } from '../../apps/server/src/hub/eviction-ring.js';
import { ReceiptBook } from '../../apps/server/src/hub/receipt-book.js';
import { RecentIds } from '../../apps/server/src/hub/recent-ids.js';

t.test('the ring gives back the oldest key once it holds more than its capacity', async (t) => {
  const ring = new EvictionRing(3);
  t.same(
    ['a', 'b', 'c'].map((k) => ring.push(k)),
    [undefined, undefined, undefined],
  );
  t.same(
    ['d', 'e', 'f', 'g', 'h'].map((k) => ring.push(k)),
    ['a', 'b', 'c', 'd', 'e'],
    'oldest first, round and round',
  );
  t.throws(() => new EvictionRing(0), RangeError);
});

t.test('recent ids forget the oldest past their capacity; a repeat keeps its place', async (t) => {
  const ids = new RecentIds(3);
  for (const id of ['a', 'b', 'a', 'c']) ids.add(id);
  t.ok(
    ['a', 'b', 'c'].every((id) => ids.has(id)),
    'a repeat takes no room',
  );
  ids.add('d');
  t.notOk(ids.has('a'), 'the oldest is forgotten');
  t.ok(['b', 'c', 'd'].every((id) => ids.has(id)));
  for (let i = 0; i < 1000; i++) ids.add(`x${i}`);
  t.same(
    ['x997', 'x998', 'x999', 'x996'].map((id) => ids.has(id)),
    [true, true, true, false],
  );
});

t.test('the receipt book forgets its oldest messages past its capacity', async (t) => {
  const book = new ReceiptBook(2);
  book.track('m1', 'alice', 'bob', 1);
  book.track('m2', 'alice', 'bob', 1);
  book.track('m2', 'alice', 'bob', 1);
  t.ok(book.counts('m1'), 'tracking a message again takes no room');
  book.track('m0', 'alice', 'bob', 0);
  t.ok(book.counts('m1'), 'a message with no recipients is not tracked');
  book.track('m3', 'alice', 'bob', 1);
  t.equal(book.counts('m1'), null, 'the oldest is forgotten');
  t.notOk(book.record('m1', 'alice', 'bob', 'delivered'), 'and its receipts change nothing');
  t.ok(book.record('m3', 'alice', 'bob', 'delivered'));
  t.same(book.counts('m3'), { recipients: 1, delivered: 1, read: 0 });
  t.same(book.counts('m2'), { recipients: 1, delivered: 0, read: 0 });
});
