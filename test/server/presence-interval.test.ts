import t from 'tap';
import { presenceInterval } from '../../apps/server/src/hub/limits.js';

t.test('presence batches: 100 ms up to 1,000 clients, then 1 ms per 10 clients, at most 1 s', async (t) => {
  t.equal(presenceInterval(0), 100);
  t.equal(presenceInterval(1_000), 100);
  t.equal(presenceInterval(2_500), 250);
  t.equal(presenceInterval(10_000), 1_000);
  t.equal(presenceInterval(50_000), 1_000);
});
