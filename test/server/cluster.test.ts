import type { WelcomeFrame } from '@chorus/protocol';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startApp } from '../helpers/spawn-app.js';
import { TestClient, jsonClient, textClient } from '../helpers/ws-client.js';

interface ReadyReport {
  status: string;
  clients: number;
  maxClients: number;
  workers: { id: number; pid: number; clients: number }[];
}

t.test('cluster of 2 workers, started as a user would', async (t) => {
  const server = await startApp('server', { WORKERS: '2', MAX_CLIENTS: '20' });
  t.teardown(() => server.stop());
  const base = `ws://127.0.0.1:${server.port}`;
  const ready = async (): Promise<ReadyReport> => (await fetch(`http://127.0.0.1:${server.port}/ready`)).json() as Promise<ReadyReport>;

  await t.test('/ready reports both workers', async (t) => {
    const report = await ready();
    t.equal(report.status, 'ready');
    t.equal(report.workers.length, 2);
    t.equal(report.maxClients, 20);
  });

  await t.test('a burst of simultaneous connects admits exactly MAX_CLIENTS, counted across workers', async (t) => {
    // One client held on each worker first: the cap is then shared across workers whichever
    // worker the burst lands on (Node hands a burst to whichever worker is free, on a loaded
    // machine often all of it to one).
    const held = new Map<string, TestClient>();
    for (let i = 0; held.size < 2; i++) {
      const client = new TestClient(`${base}/ws/held${i}`, 'chorus.v1');
      const welcome = (await client.nextJson((f) => f.type === 'welcome')) as WelcomeFrame;
      if (held.has(welcome.node)) await client.close();
      else held.set(welcome.node, client);
    }
    const clients = Array.from({ length: 50 }, (_, i) => new TestClient(`${base}/ws/burst${i}`, 'chorus.v1'));
    const firsts = await Promise.all(
      clients.map((c) => c.next().then((f) => JSON.parse(f) as { type: string; code?: string; node?: string })),
    );
    const admitted = firsts.filter((f) => f.type === 'welcome');
    const refused = firsts.filter((f) => f.type === 'error');
    t.equal(admitted.length, 18, 'exactly MAX_CLIENTS admitted, with the two held ones');
    t.equal(refused.length, 32);
    t.ok(refused.every((f) => f.code === 'SERVER_FULL'));
    const closes = await Promise.all(clients.filter((_, i) => firsts[i]!.type === 'error').map((c) => c.closed));
    t.ok(closes.every((c) => c.code === 1013));
    t.equal((await ready()).clients, 20);
    await Promise.all([...clients, ...held.values()].map((c) => c.close()));
  });

  // Permits come back as the burst's clients disconnect; wait until all are free.
  async function untilClients(n: number): Promise<ReadyReport> {
    for (;;) {
      const report = await ready();
      if (report.clients === n) return report;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  await t.test('a worker killed with SIGKILL returns its permits and presence at once', async (t) => {
    await untilClients(0);
    // Connect until there are clients on both workers.
    const byNode = new Map<string, { id: string; client: TestClient }[]>();
    for (let i = 0; byNode.size < 2 || [...byNode.values()].some((list) => list.length < 2); i++) {
      const client = new TestClient(`${base}/ws/k${i}`, 'chorus.v1');
      const welcome = (await client.nextJson((f) => f.type === 'welcome')) as WelcomeFrame;
      const list = byNode.get(welcome.node) ?? [];
      list.push({ id: `k${i}`, client });
      byNode.set(welcome.node, list);
    }
    const [doomedNode, survivorNode] = [...byNode.keys()] as [string, string];
    const doomed = byNode.get(doomedNode)!;
    const survivors = byNode.get(survivorNode)!;
    const workerId = Number(/^w(\d+)-/.exec(doomedNode)![1]);
    // A room with a member on each side of the crash.
    doomed[0]!.client.send({ type: 'create-room', id: 'c', room: 'crashroom' });
    await doomed[0]!.client.nextJson((f) => f.type === 'room');
    survivors[0]!.client.send({ type: 'join-room', id: 'j', room: 'crashroom' });
    await survivors[0]!.client.nextJson((f) => f.type === 'room');
    const before = await ready();
    const victim = before.workers.find((w) => w.id === workerId)!;
    t.equal(victim.clients, doomed.length);

    process.kill(victim.pid, 'SIGKILL');
    // Presence is batched (100 ms), so leaves may come in one frame or several, with others' leaves.
    const watcher = survivors[0]!.client;
    const left = new Set<string>();
    while (!doomed.every((d) => left.has(d.id))) {
      const presence = await watcher.nextJson((f) => f.type === 'presence' && f.left.length > 0);
      if (presence.type === 'presence') for (const id of presence.left) left.add(id);
    }
    t.pass('everyone else sees them leave');
    t.notOk(
      survivors.some((s) => left.has(s.id)),
      'and nobody on the surviving worker',
    );
    await Promise.all(doomed.map((d) => d.client.closed));
    const after = await untilClients(survivors.length);
    t.notOk(
      after.workers.some((w) => w.id === workerId),
      'the dead worker is gone from /ready',
    );

    // Their ids are free again at once, and so are their permits; room membership survived.
    survivors[0]!.client.send({ type: 'send', id: 'r', room: 'crashroom', text: 'anyone?', sentAt: 1 });
    t.match(await survivors[0]!.client.nextJson((f) => f.type === 'ack'), { recipients: 1 }, 'the crashed member is still a member');
    const back = new TestClient(`${base}/ws/${doomed[0]!.id}`, 'chorus.v1');
    t.match(await back.nextJson((f) => f.type === 'welcome'), { memberOf: ['crashroom'] }, `${doomed[0]!.id} is back, still in the room`);
    await back.close();

    // The replacement worker comes up and serves.
    await server.waitForLog((l) => l.msg === 'worker replaced');
    t.equal((await ready()).workers.length, 2);
    await Promise.all(survivors.map((s) => s.client.close()));
  });

  await t.test('clients on different workers message each other', async (t) => {
    await untilClients(0);
    const a = await textClient(base, 'alice');
    const b = await jsonClient(base, 'bob');
    t.equal(await a.next(), 'Client #bob joined the chat');
    a.send('across,bob');
    t.equal(await a.next(), 'You wrote: across');
    t.match(await b.nextJson((f) => f.type === 'message'), { from: 'alice', to: 'bob', text: 'across' });
    const report = await ready();
    t.same(report.workers.map((w) => w.clients).sort(), [1, 1], 'one client on each worker');
    await Promise.all([a.close(), b.close()]);
  });

  await t.test('SIGTERM closes every socket with 1001 (going away) and exits 0', async (t) => {
    const a = await textClient(base, 'last1');
    const b = await textClient(base, 'last2');
    const code = server.stop('SIGTERM');
    t.equal((await a.closed).code, 1001);
    t.equal((await b.closed).code, 1001);
    t.equal(await code, 0);
    const errors = server.logs.filter((l) => typeof l.level === 'number' && l.level >= 50);
    t.same(
      errors.map((l) => l.msg),
      [],
      'a graceful shutdown logs no error',
    );
  });
});

t.test('the primary exits once every worker has, whichever of exit and IPC disconnect it hears first', async (t) => {
  // The preload keeps each worker's IPC pipe open for a second after the worker
  // exits, so the primary sees every exit before the matching disconnect.
  const preload = fileURLToPath(new URL('../helpers/late-disconnect.cjs', import.meta.url));
  const server = await startApp('server', {
    WORKERS: '2',
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
  });
  t.teardown(() => server.stop('SIGKILL'));
  const a = await textClient(`ws://127.0.0.1:${server.port}`, 'early1');
  const code = server.stop('SIGTERM');
  t.equal((await a.closed).code, 1001);
  // Bounded: before the fix the primary waited forever here.
  const guard = new Promise<string>((resolve) => setTimeout(() => resolve('still running 15 s after SIGTERM'), 15_000).unref());
  t.equal(await Promise.race([code, guard]), 0, 'exits 0 on its own');
  t.same(
    server.logs.filter((l) => typeof l.level === 'number' && l.level >= 50).map((l) => l.msg),
    [],
    'no error logged',
  );
});
