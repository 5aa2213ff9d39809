import { EventEmitter, once } from 'node:events';
import type { Test } from 'tap';
import type { BackendSink, HubBackend } from '../../apps/server/src/hub/backend.js';
import type { Delivery, Envelope, PresenceChange, RoomChange, Target } from '../../apps/server/src/hub/events.js';
import { messageFrameJson, plainEnvelope } from '../../apps/server/src/protocols/message-frame.js';

/** A sink that records what a node was given and lets a test wait for it. */
export class RecordingSink extends EventEmitter implements BackendSink {
  readonly received: Delivery[] = [];
  readonly presenceChanges: PresenceChange[] = [];
  readonly roomChanges: RoomChange[] = [];

  /** The envelopes of the message deliveries, in order. */
  get deliveries(): Envelope[] {
    return this.received.flatMap((d) => (d.payload.kind === 'message' ? [d.payload.envelope] : []));
  }

  /**
   * Records a message delivery as its plain envelope. A backend may attach the
   * message's rendered chorus.v1 frame: when it is the frame of that envelope it
   * is left out, otherwise it stays in (and fails any comparison).
   */
  deliver(delivery: Delivery): void {
    const { payload } = delivery;
    if (payload.kind === 'message') {
      const e = payload.envelope;
      const envelope = plainEnvelope(e);
      const rendered = payload.json === undefined || payload.json.toString() === messageFrameJson(envelope);
      delivery = { ...delivery, payload: rendered ? { kind: 'message', envelope } : { ...payload, envelope } };
    }
    this.received.push(delivery);
    this.emit('change');
  }

  room(change: RoomChange): void {
    this.roomChanges.push(change);
    this.emit('change');
  }

  presence(change: PresenceChange): void {
    this.presenceChanges.push(change);
    this.emit('change');
  }

  /** Resolves once `ready()` holds, re-checking after each thing the node is given. */
  async until(ready: () => boolean): Promise<void> {
    while (!ready()) await once(this, 'change');
  }
}

export interface ServiceHarness {
  readonly nodes: readonly { readonly backend: HubBackend; readonly sink: RecordingSink }[];
  /** The node dies without saying goodbye (a crashed worker or machine). */
  crash(node: number): Promise<void>;
  close(): Promise<void>;
}

export type MakeService = (nodes: number, maxClients: number, maxPerIp?: number) => Promise<ServiceHarness>;

let seq = 0;
function envelope(from: string, to: string | null, text: string, room: string | null = null): Envelope {
  return { id: `e${++seq}`, from, to, room, conversation: 'test', seq, text, sentAt: 1, serverAt: 2 };
}

/** Routes a message envelope to the target its fields name. */
function send(backend: HubBackend, e: Envelope): Promise<boolean> {
  const target: Target =
    e.room !== null ? { kind: 'room', room: e.room } : e.to !== null ? { kind: 'client', clientId: e.to } : { kind: 'all' };
  return backend.route({ target, payload: { kind: 'message', envelope: e } });
}

/** The guarantees written on HubBackend's four parts (hub/backend.ts), checked against one implementation, a group per part. */
export function backendContract(t: Test, makeService: MakeService): void {
  async function service(t: Test, nodes: number, maxClients: number, maxPerIp?: number): Promise<ServiceHarness> {
    const s = await makeService(nodes, maxClients, maxPerIp);
    t.teardown(() => s.close());
    return s;
  }

  t.test('AdmissionService: permits exact under concurrency, returned when a node dies', async (t) => {
    t.test('admission is atomic across nodes: exactly the cap is admitted', async (t) => {
      const { nodes } = await service(t, 2, 5);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => nodes[i % 2]!.backend.admit(`c${i}`, '127.0.0.1')));
      t.equal(results.filter((r) => r === 'admitted').length, 5);
      t.equal(results.filter((r) => r === 'full').length, 15);
    });

    t.test('one address holds at most maxPerIp clients across all nodes, and gets them back on release', async (t) => {
      const { nodes } = await service(t, 2, 100, 3);
      const [a, b] = [nodes[0]!.backend, nodes[1]!.backend];
      const ids = ['i1', 'i2', 'i3', 'i4', 'i5'];
      const nodeOf = (i: number) => (i % 2 ? a : b);
      const results = await Promise.all(ids.map((id, i) => nodeOf(i).admit(id, '10.0.0.1')));
      t.equal(results.filter((r) => r === 'admitted').length, 3);
      t.equal(results.filter((r) => r === 'too-many').length, 2);
      t.equal(await a.admit('other', '10.0.0.2'), 'admitted', 'another address is not affected');
      const first = results.indexOf('admitted');
      await nodeOf(first).release(ids[first]!);
      t.equal(await b.admit('i6', '10.0.0.1'), 'admitted', 'a release frees a place for the address');
    });

    t.test('a registered user (multi) may connect on several nodes; it is online once', async (t) => {
      const { nodes } = await service(t, 2, 10);
      const [a, b] = [nodes[0]!.backend, nodes[1]!.backend];
      t.equal(await a.admit('tabs', '127.0.0.1', true), 'admitted');
      t.equal(await b.admit('tabs', '127.0.0.1', true), 'admitted', 'a second tab on another node');
      t.equal(await a.admit('tabs', '127.0.0.1', true), 'admitted', 'a third on the first node');
      t.equal(await b.admit('tabs', '127.0.0.1', false), 'taken', 'a guest connection cannot share the id');
      t.equal(b.view.connections('tabs'), 3);
      t.equal(b.view.onlineCount(), 1);
      t.equal((await a.stats()).clients, 3, 'each tab holds a permit');
      const e = envelope('x', 'tabs', 'to every tab');
      t.equal(await send(a, e), true);
      for (const { sink } of nodes) {
        await sink.until(() => sink.deliveries.length === 1);
        t.same(sink.deliveries, [e], 'every node holding a tab gets it once');
      }
      await a.release('tabs');
      await b.release('tabs');
      t.ok(a.view.isOnline('tabs'), 'online while one tab is left');
      await a.release('tabs');
      for (const { sink } of nodes) {
        await sink.until(() => sink.presenceChanges.some((c) => c.clientId === 'tabs' && !c.online));
        t.same(
          sink.presenceChanges.filter((c) => c.clientId === 'tabs').map((c) => c.online),
          [true, false],
          'presence changed only with the first and the last tab',
        );
      }
    });

    t.test('an id is admitted at most once in the whole service', async (t) => {
      const { nodes } = await service(t, 2, 10);
      const [a, b] = [nodes[0]!.backend, nodes[1]!.backend];
      t.same(await Promise.all([a.admit('x', '127.0.0.1'), b.admit('x', '127.0.0.1')]).then((r) => r.sort()), ['admitted', 'taken']);
      t.equal(await a.admit('x', '127.0.0.1'), 'taken');
      t.equal(await b.admit('x', '127.0.0.1'), 'taken');
    });

    t.test('release frees the permit at once, only by its holder, and is idempotent', async (t) => {
      const { nodes } = await service(t, 2, 1);
      const [a, b] = [nodes[0]!.backend, nodes[1]!.backend];
      t.equal(await a.admit('one', '127.0.0.1'), 'admitted');
      t.equal(await b.admit('two', '127.0.0.1'), 'full');
      await b.release('one');
      t.equal(await b.admit('two', '127.0.0.1'), 'full', 'a node cannot release what another holds');
      await a.release('one');
      t.equal(await b.admit('two', '127.0.0.1'), 'admitted');
      await a.release('one');
      t.equal((await b.stats()).clients, 1);
    });

    t.test('a node that dies has its ids released and announced to the others', async (t) => {
      const service_ = await service(t, 2, 2);
      const { nodes } = service_;
      await nodes[0]!.backend.admit('doomed', '127.0.0.1');
      await nodes[1]!.backend.admit('survivor', '127.0.0.1');
      await service_.crash(0);
      const sink = nodes[1]!.sink;
      await sink.until(() => sink.presenceChanges.some((c) => c.clientId === 'doomed' && !c.online));
      t.match(sink.presenceChanges.at(-1), { clientId: 'doomed', online: false, crashed: true });
      t.same(nodes[1]!.backend.view.online(), ['survivor']);
      t.equal(await nodes[1]!.backend.admit('doomed', '127.0.0.1'), 'admitted', 'the id and its permit are free');
    });
  });

  t.test('presence: one order of changes on every node, the view includes the effect of a call when it resolves', async (t) => {
    t.test('every node sees presence changes in the same order', async (t) => {
      const { nodes } = await service(t, 2, 10);
      const [a, b] = [nodes[0]!.backend, nodes[1]!.backend];
      await a.admit('p1', '127.0.0.1');
      await b.admit('p2', '127.0.0.1');
      await a.release('p1');
      const expected = [
        { clientId: 'p1', online: true },
        { clientId: 'p2', online: true },
        { clientId: 'p1', online: false },
      ];
      for (const { sink } of nodes) {
        await sink.until(() => sink.presenceChanges.length >= 3);
        t.match(sink.presenceChanges, expected);
        t.equal(sink.presenceChanges.length, 3);
      }
    });

    t.test('the view includes an id as soon as its admission resolves', async (t) => {
      const { nodes } = await service(t, 2, 10);
      await nodes[0]!.backend.admit('me', '127.0.0.1');
      t.same(nodes[0]!.backend.view.online(), ['me']);
      t.ok(nodes[0]!.backend.view.isOnline('me'));
      await nodes[1]!.backend.admit('you', '127.0.0.1');
      t.same(nodes[1]!.backend.view.online().sort(), ['me', 'you']);
      t.equal(nodes[1]!.backend.view.onlineCount(), 2);
    });
  });

  t.test('Broker: per-publisher order, a fresh client reachable at once, room and everyone deliveries', async (t) => {
    t.test('sendTo reaches the recipient on its node only; an unknown id is false', async (t) => {
      const { nodes } = await service(t, 2, 10);
      await nodes[0]!.backend.admit('a', '127.0.0.1');
      await nodes[1]!.backend.admit('b', '127.0.0.1');
      const toB = envelope('a', 'b', 'hi b');
      const toA = envelope('a', 'a', 'hi me');
      t.equal(await send(nodes[0]!.backend, toB), true);
      t.equal(await send(nodes[0]!.backend, toA), true);
      t.equal(await send(nodes[0]!.backend, envelope('a', 'ghost', 'boo')), false);
      // A delivery to a local client may also travel through the shared engine: wait for both.
      await nodes[1]!.sink.until(() => nodes[1]!.sink.deliveries.length === 1);
      await nodes[0]!.sink.until(() => nodes[0]!.sink.deliveries.length === 1);
      t.same(nodes[1]!.sink.deliveries, [toB]);
      t.same(nodes[0]!.sink.deliveries, [toA]);
    });

    t.test('a client admitted a moment ago on another node is reachable at once', async (t) => {
      const { nodes } = await service(t, 2, 50);
      for (let i = 0; i < 20; i++) {
        const id = `fresh${i}`;
        t.equal(await nodes[1]!.backend.admit(id, '127.0.0.1'), 'admitted');
        t.equal(await send(nodes[0]!.backend, envelope('x', id, `m${i}`)), true, `${id} found`);
      }
      const sink = nodes[1]!.sink;
      await sink.until(() => sink.deliveries.length === 20);
      t.same(
        sink.deliveries.map((e) => e.text),
        Array.from({ length: 20 }, (_, i) => `m${i}`),
      );
    });

    t.test("one node's messages reach a recipient in the order it routed them", async (t) => {
      const { nodes } = await service(t, 2, 10);
      await nodes[1]!.backend.admit('r', '127.0.0.1');
      const sent: string[] = [];
      for (let i = 0; i < 300; i++) {
        const e = i % 3 === 0 ? envelope('s', null, `m${i}`) : envelope('s', 'r', `m${i}`);
        sent.push(e.text);
        // Not awaited one by one: the order of calls is the order of effects.
        void send(nodes[0]!.backend, e);
      }
      const sink = nodes[1]!.sink;
      await sink.until(() => sink.deliveries.length === 300);
      t.same(
        sink.deliveries.map((e) => e.text),
        sent,
      );
    });

    t.test('broadcast reaches every node, the sender included', async (t) => {
      const { nodes } = await service(t, 3, 10);
      const e = envelope('a', null, 'to all');
      await send(nodes[0]!.backend, e);
      for (const { sink } of nodes) {
        await sink.until(() => sink.deliveries.length === 1);
        t.same(sink.deliveries, [e]);
      }
    });

    t.test('a room delivery reaches every node holding a member (each hub picks its local members)', async (t) => {
      const { nodes } = await service(t, 2, 10);
      await nodes[0]!.backend.admit('a', '127.0.0.1');
      await nodes[1]!.backend.admit('b', '127.0.0.1');
      await nodes[0]!.backend.createRoom('r', 'a');
      await nodes[1]!.backend.joinRoom('r', 'b');
      const e = envelope('a', null, 'in the room', 'r');
      t.equal(await send(nodes[0]!.backend, e), true);
      for (const { sink } of nodes) {
        await sink.until(() => sink.deliveries.length === 1);
        t.same(sink.received, [{ target: { kind: 'room', room: 'r' }, payload: { kind: 'message', envelope: e } }]);
      }
    });
  });

  t.test('RoomService: decisions, one order of changes, membership outlives connections', async (t) => {
    t.test('rooms: create, join, leave and delete, with every node told in one order', async (t) => {
      const { nodes } = await service(t, 2, 10);
      const [a, b] = [nodes[0]!.backend, nodes[1]!.backend];
      t.equal(await a.createRoom('general', 'alice'), 'created');
      t.equal(await b.createRoom('general', 'bob'), 'exists');
      t.same(a.view.room('general') && [...a.view.room('general')!.members], ['alice'], 'the creator is the first member');
      const joined = await b.joinRoom('general', 'bob');
      t.same(joined !== 'not-found' && [...joined.members].sort(), ['alice', 'bob'], 'join answers with the members');
      t.same(b.view.roomsOf('bob'), ['general'], 'the view holds the join when the call resolves');
      t.equal(await b.joinRoom('nowhere', 'bob'), 'not-found');
      t.equal(await a.leaveRoom('general', 'carol'), 'not-member');
      t.equal(await b.deleteRoom('general', 'bob'), 'not-owner');
      t.equal(await b.leaveRoom('general', 'bob'), 'left');
      t.equal(await a.deleteRoom('general', 'alice'), 'deleted');
      t.equal(await a.deleteRoom('general', 'alice'), 'not-found');
      const expected = [
        { kind: 'created', room: 'general', owner: 'alice' },
        { kind: 'joined', room: 'general', clientId: 'alice' },
        { kind: 'joined', room: 'general', clientId: 'bob' },
        { kind: 'left', room: 'general', clientId: 'bob' },
        { kind: 'deleted', room: 'general', by: 'alice', members: ['alice'] },
      ];
      for (const { sink, backend } of nodes) {
        await sink.until(() => sink.roomChanges.length >= expected.length);
        t.same(sink.roomChanges, expected);
        t.same(backend.view.rooms(), []);
      }
    });

    t.test('membership outlives a connection: a member who leaves the service stays a member', async (t) => {
      const { nodes } = await service(t, 2, 10);
      const [a, b] = [nodes[0]!.backend, nodes[1]!.backend];
      await a.admit('alice', '127.0.0.1');
      await a.createRoom('club', 'alice');
      await a.release('alice');
      await b.createRoom('other', 'bob');
      t.same(
        b.view.rooms().sort((x, y) => x.name.localeCompare(y.name)),
        [
          { name: 'club', owner: 'alice', members: 1 },
          { name: 'other', owner: 'bob', members: 1 },
        ],
      );
    });
  });
}
