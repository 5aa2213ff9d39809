import t from 'tap';
import { Directory } from '../../apps/server/src/hub/directory.js';
import { PresenceReplica } from '../../apps/server/src/backends/cluster/presence-replica.js';

// Both keep a one-connection client in a compact form and switch to a list of
// connections (and back) as tabs come and go: these walk every transition.

t.test('directory: one connection, then tabs on several nodes, then back to one', async (t) => {
  const d = new Directory<number>(10, 3);
  t.equal(d.admit('alice', 1, 'a', true), 'admitted');
  t.same(d.locate('alice'), [1]);
  t.equal(d.connectionsOf('alice'), 1);
  t.equal(d.admit('alice', 2, 'a', true), 'admitted');
  t.equal(d.admit('alice', 1, 'a', true), 'admitted');
  t.same(d.locate('alice').sort(), [1, 2]);
  t.equal(d.connectionsOf('alice'), 3);
  t.equal(d.admit('alice', 2, 'a', true), 'too-many', 'the address cap counts every tab');
  t.equal(d.size, 3);
  t.equal(d.onlineCount, 1);
  t.same([...d.connections()].sort(), [
    ['alice', 1],
    ['alice', 1],
    ['alice', 2],
  ]);
  t.equal(d.countOn(1), 2);

  t.equal(d.release('alice', 2), 'still-online');
  t.same(d.locate('alice'), [1]);
  t.equal(d.release('alice', 2), 'none', 'nothing left on node 2');
  t.equal(d.release('alice', 1), 'still-online');
  t.equal(d.connectionsOf('alice'), 1);
  t.equal(d.admit('alice', 3, 'b', true), 'admitted', 'a compact entry takes a second tab again');
  t.same(d.locate('alice').sort(), [1, 3]);
  t.equal(d.release('alice', 1), 'still-online');
  t.equal(d.release('alice', 3), 'offline');
  t.equal(d.size, 0);
  t.equal(d.onlineCount, 0);
  t.equal(d.admit('x', 1, 'a'), 'admitted', 'the address is free again');
  t.equal(d.admit('y', 1, 'a'), 'admitted');
  t.equal(d.admit('z', 1, 'a'), 'admitted');
  t.equal(d.admit('w', 1, 'a'), 'too-many');
});

t.test('directory: a guest id is taken once; a signed-in id only by signed-in tabs', async (t) => {
  const d = new Directory<number>(10);
  t.equal(d.admit('bob', 1), 'admitted');
  t.equal(d.admit('bob', 2), 'taken');
  t.equal(d.admit('bob', 2, '', true), 'taken');
  t.equal(d.admit('carol', 1, '', true), 'admitted');
  t.equal(d.admit('carol', 2), 'taken', 'a guest cannot join a signed-in id');
  t.equal(d.admit('carol', 2, '', true), 'admitted');
  t.equal(d.admit('carol', 1, '', true), 'admitted');
  t.equal(d.admit('carol', 1), 'taken', 'nor a list of signed-in tabs');
});

t.test('directory: the client cap counts connections; releaseNode frees a dead node', async (t) => {
  const d = new Directory<number>(5);
  d.admit('a', 1);
  d.admit('b', 2);
  d.admit('u', 1, '', true);
  d.admit('u', 2, '', true);
  d.admit('u', 1, '', true);
  t.equal(d.admit('c', 2), 'full');
  const freed = d.releaseNode(1);
  t.same(
    freed.sort((x, y) => x.clientId.localeCompare(y.clientId)),
    [
      { clientId: 'a', offline: true },
      { clientId: 'u', offline: false },
      { clientId: 'u', offline: false },
    ],
  );
  t.same(d.locate('u'), [2]);
  t.equal(d.connectionsOf('u'), 1);
  t.equal(d.size, 2);
  t.same(
    d.releaseNode(2).sort((x, y) => x.clientId.localeCompare(y.clientId)),
    [
      { clientId: 'b', offline: true },
      { clientId: 'u', offline: true },
    ],
  );
  t.equal(d.size, 0);
  t.same(d.clientIds(), []);
});

t.test('presence replica: online with the first connection, offline with the last, across nodes', async (t) => {
  const r = new PresenceReplica<number>();
  t.equal(r.apply('alice', 1, true), 'online');
  t.same([...r.nodesOf('alice')!], [1]);
  t.same([...r.nodesOf('alice')!], [1], 'asked twice, same answer');
  t.equal(r.connectionsOf('alice'), 1);
  t.equal(r.apply('alice', 2, false), null, 'a release on another node changes nothing');
  t.equal(r.apply('alice', 1, true), null);
  t.equal(r.connectionsOf('alice'), 2);
  t.same([...r.nodesOf('alice')!], [1]);
  t.equal(r.apply('alice', 2, true), null);
  t.same([...r.nodesOf('alice')!].sort(), [1, 2]);
  t.equal(r.connectionsOf('alice'), 3);
  t.equal(r.apply('alice', 1, false), null);
  t.equal(r.apply('alice', 1, false), null);
  t.same([...r.nodesOf('alice')!], [2]);
  t.equal(r.connectionsOf('alice'), 1);
  t.equal(r.apply('alice', 1, false), null, 'nothing left on node 1');
  t.equal(r.apply('alice', 2, false), 'offline');
  t.notOk(r.has('alice'));
  t.equal(r.nodesOf('alice'), undefined);
  t.equal(r.connectionsOf('alice'), 0);
  t.equal(r.apply('alice', 2, false), null);

  t.equal(r.apply('bob', 3, true), 'online');
  t.equal(r.apply('bob', 3, true), null);
  t.equal(r.apply('bob', 3, false), null, 'two tabs on one node: the first close keeps bob online');
  t.ok(r.has('bob'));
  t.equal(r.apply('bob', 3, false), 'offline');
  t.equal(r.size, 0);
  t.same(r.clientIds(), []);
});
