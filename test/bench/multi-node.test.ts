import { readFileSync } from 'node:fs';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { Generator } from '../../bench/dist/load/pool.js';
import { processTree, startTime } from '../../bench/dist/proc.js';
import { RunningSystem } from '../../bench/dist/server-process.js';
import { DEFAULT_POSTGRES_URL } from '../../bench/dist/services/postgres-database.js';
import { ROOT, systemSpec, type SystemName } from '../../bench/dist/systems.js';

/**
 * The bench's systems of several nodes, started as the bench starts them: a
 * private redis-server, (for Chorus) a fresh PostgreSQL database, two nodes on
 * ports of their own. Real clients on each node; a message must cross.
 */
const CHORUS = `${ROOT}apps/server/dist/main.js`;

async function start(t: Test, name: SystemName): Promise<RunningSystem> {
  const system = await RunningSystem.start(systemSpec(name, 1000, CHORUS), null, undefined, 120_000);
  t.teardown(() => system.stop());
  return system;
}

/** Resolves with the first value `subscribe` delivers, or rejects after `ms`. */
function next<T>(what: string, subscribe: (deliver: (value: T) => void) => void, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    subscribe((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Bench databases this test process created that still exist. */
async function ourDatabases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: DEFAULT_POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `chorus_bench_${process.pid}_%`,
    ]);
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

t.test('socketio-redis: two Socket.IO nodes on one private Redis relay across nodes', async (t) => {
  const system = await start(t, 'socketio-redis');
  const [p0, p1] = system.ports;
  t.equal(system.ports.length, 2, 'two nodes');
  t.not(p0, p1, 'each on its own port');

  const connect = async (port: number, id: string): Promise<{ socket: Socket; node: string }> => {
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], auth: { id }, forceNew: true, reconnection: false });
    t.teardown(() => socket.disconnect());
    const welcome = await next<{ node: string }>(`${id} welcome`, (deliver) => socket.once('welcome', deliver));
    return { socket, node: welcome.node };
  };
  const [alice, bob] = await Promise.all([connect(p0!, 'alice'), connect(p1!, 'bob')]);
  t.not(alice.node, bob.node, 'the clients are on different nodes');

  const before = await system.redisCommands();
  const privately = next<{ from: string; text: string }>('private message', (deliver) => bob.socket.once('message', deliver));
  alice.socket.emit('send', { to: 'bob', text: 'hello across' });
  t.same(await privately, { from: 'alice', text: 'hello across' }, 'a private message crosses nodes');
  const after = await system.redisCommands();
  t.ok(before !== null && after !== null && (after.publish ?? 0) > (before.publish ?? 0), 'through a Redis PUBLISH');

  const broadcast = next<{ from: string; text: string }>('broadcast', (deliver) => alice.socket.once('message', deliver));
  bob.socket.emit('send', { to: null, text: 'to everyone' });
  t.same(await broadcast, { from: 'bob', text: 'to everyone' }, 'a broadcast crosses nodes');

  await Promise.all([alice, bob].map(({ socket }) => next('join', (deliver) => socket.emit('join', 'r1', () => deliver(null)))));
  const inRoom = next<{ from: string; room: string; text: string }>('room message', (deliver) => bob.socket.once('message', deliver));
  alice.socket.emit('room', { room: 'r1', text: 'in the room' });
  t.same(await inRoom, { from: 'alice', room: 'r1', text: 'in the room' }, 'a room message crosses nodes');

  const pids = system.sample().pids;
  t.equal(pids.length, 3, 'two node processes and redis-server are counted');
  t.equal(await system.stop(), true, 'stopped without SIGKILL');
  t.same(
    pids.filter((pid) => startTime(pid) !== null),
    [],
    'every process is gone, redis-server too',
  );
});

t.test("the load generator deals one command's clients to the nodes in turn", async (t) => {
  const system = await start(t, 'socketio-redis');
  const generator = new Generator(0);
  t.teardown(() => generator.kill());
  const result = await generator.request(
    {
      type: 'connect',
      target: { kind: 'socketio', host: '127.0.0.1', ports: system.ports, receipts: false },
      ids: ['g0', 'g1', 'g2', 'g3'],
      localAddresses: ['127.0.0.1'],
      concurrency: 1,
      timeoutMs: 10_000,
      attempts: 1,
      budgetMs: 30_000,
    },
    60_000,
  );
  t.equal(result.clients.length, 4, 'all connected');
  const nodes = result.clients.map((c) => c.node);
  t.ok(nodes[0] !== null && nodes[0] !== nodes[1], 'neighbours are on different nodes');
  t.same([nodes[2], nodes[3]], [nodes[0], nodes[1]], 'and the next two on the same two again');
  await generator.request({ type: 'close' }, 30_000);
});

t.test('chorus-redis: two Chorus nodes on one private Redis and a fresh PostgreSQL database relay across nodes', async (t) => {
  const system = await start(t, 'chorus-redis');
  t.equal((await ourDatabases()).length, 1, 'one fresh database while it runs');
  const [p0, p1] = system.ports;
  t.not(p0, p1, 'two nodes, each on its own port');

  const connect = async (
    port: number,
    id: string,
  ): Promise<{ ws: WebSocket; node: string; frames: (type: string) => Promise<Record<string, unknown>> }> => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${id}`, ['chorus.v1']);
    t.teardown(() => ws.terminate());
    const waiting: { type: string; deliver: (f: Record<string, unknown>) => void }[] = [];
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      const at = waiting.findIndex((w) => w.type === frame.type);
      if (at >= 0) waiting.splice(at, 1)[0]!.deliver(frame);
    });
    const frames = (type: string) => next<Record<string, unknown>>(`${id}: ${type} frame`, (deliver) => waiting.push({ type, deliver }));
    const welcome = await frames('welcome');
    return { ws, node: String(welcome.node), frames };
  };
  const [alice, bob] = await Promise.all([connect(p0!, 'alice'), connect(p1!, 'bob')]);
  t.not(alice.node, bob.node, 'the clients are on different nodes');

  const before = await system.redisCommands();
  const delivered = bob.frames('message');
  alice.ws.send(JSON.stringify({ type: 'send', id: 'm1', to: 'bob', text: 'hello across', sentAt: Date.now() }));
  const message = await delivered;
  t.match(message, { from: 'alice', text: 'hello across' }, 'a private message crosses nodes');
  const after = await system.redisCommands();
  t.ok(before !== null && after !== null && (after.publish ?? 0) > (before.publish ?? 0), 'through a Redis PUBLISH');

  await system.refresh();
  const pids = system.sample().pids;
  t.ok(pids.length > 3, 'the PostgreSQL backends serving its database are counted beside the two nodes and redis-server');
  t.equal(await system.stop(), true, 'stopped without SIGKILL');
  t.same(
    pids.filter((pid) => startTime(pid) !== null),
    [],
    'every process is gone (nodes, redis-server, and the backends of the dropped database)',
  );
  t.same(await ourDatabases(), [], 'its database is dropped');
});

t.test('a node that fails to start leaves no redis-server and no database behind', async (t) => {
  const spec = systemSpec('chorus-redis', 1000, '/nonexistent/main.js');
  await t.rejects(RunningSystem.start(spec, null, undefined, 30_000), /chorus-redis exited with 1 while starting[\s\S]*\(node 1 of 2\)/);
  const children = processTree(process.pid).filter((pid) => pid !== process.pid);
  const names = children.map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  });
  t.notOk(names.includes('redis-server'), 'its redis-server is stopped');
  t.same(await ourDatabases(), [], 'its database is dropped');
});
