import type { MessageFrame, WelcomeFrame } from '@chorus/protocol';
import t from 'tap';
import { createDatabase } from '../helpers/postgres-database.js';
import { startRedis } from '../helpers/redis-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { ResilientClient, steadyTraffic } from '../helpers/resilient-client.js';
import { startApp, type RunningApp } from '../helpers/spawn-app.js';
import { jsonClient, TestClient, textClient } from '../helpers/ws-client.js';

/**
 * Several server nodes as one chat: three real server processes (two with two
 * workers each) sharing a private redis-server and a fresh PostgreSQL
 * database, as an operator would run them behind a plain load balancer.
 */
const LEASE_MS = 2_000;
const CAP = 40;

const redis = await startRedis();
const database = await createDatabase();
t.teardown(async () => {
  await redis.stop();
  await database.drop();
});

const env = (workers: number): Record<string, string> => ({
  REDIS_URL: redis.url,
  DATABASE_URL: database.url,
  WORKERS: String(workers),
  NODE_LEASE_MS: String(LEASE_MS),
  MAX_CLIENTS: String(CAP),
});
// One at a time: they migrate the same database on start.
const nodes: RunningApp[] = [];
for (const workers of [2, 2, 1]) nodes.push(await startApp('server', env(workers)));
t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
const bases = nodes.map((n) => `ws://127.0.0.1:${n.port}`);
const [A, B, C] = bases as [string, string, string];

/** Closes clients at the end of a subtest and waits until every node has let them go. */
async function closeAll(clients: TestClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}

/** Waits until /ready of a node reports `n` clients in the whole service. */
async function serviceClients(base: string, n: number): Promise<void> {
  const url = `${base.replace('ws://', 'http://')}/ready`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const body = (await (await fetch(url)).json()) as { clients: number };
    if (body.clients === n) return;
    if (Date.now() > deadline) throw new Error(`${url}: ${body.clients} clients, expected ${n}`);
    // /ready has no change feed: poll it, briefly.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('every row of the text protocol across nodes, byte for byte', async (t) => {
  const alice = await textClient(A, 'alice');
  const bob = await textClient(B, 'bob');
  t.equal(await alice.next(), 'Client #bob joined the chat');
  const carol = await textClient(C, 'carol');
  t.same([await alice.next(), await bob.next()], ['Client #carol joined the chat', 'Client #carol joined the chat']);

  // An empty target (nothing after the last comma) is everyone.
  alice.send('hello, everyone,');
  t.equal(await alice.next(), 'You wrote: hello, everyone');
  t.equal(await bob.next(), 'Client #alice says: hello, everyone');
  t.equal(await carol.next(), 'Client #alice says: hello, everyone');

  alice.send('psst, bob,bob');
  t.equal(await alice.next(), 'You wrote: psst, bob');
  t.equal(await bob.next(), 'alice send a private message: psst, bob');

  carol.send('anyone?,nobody');
  t.same(await carol.take(2), ['You wrote: anyone?', 'nobody is not a valid client']);

  bob.send('note to self,bob');
  t.same(await bob.take(2), ['You wrote: note to self', 'bob send a private message: note to self']);

  await carol.close();
  t.equal(await alice.next(), 'Client #carol left the chat');
  t.equal(await bob.next(), 'Client #carol left the chat');

  alice.send('/users');
  t.equal(await alice.next(), 'Online (2): alice, bob');
  await closeAll([alice, bob]);
  await serviceClients(A, 0);
});

t.test('JSON: one sender, messages to a peer and to everyone, arrive in order across nodes', async (t) => {
  const sender = await jsonClient(A, 'sender');
  const peer = await jsonClient(B, 'peer');
  const watcher = await jsonClient(C, 'watcher');
  const texts = Array.from({ length: 60 }, (_, i) => `m${i}`);
  for (const [i, text] of texts.entries()) {
    const to = i % 3 === 0 ? {} : { to: 'peer' };
    sender.send({ type: 'send', id: `o${i}`, ...to, text, sentAt: Date.now() });
  }
  const got: string[] = [];
  while (got.length < texts.length) got.push(((await peer.nextJson((f) => f.type === 'message')) as MessageFrame).text);
  t.same(got, texts, 'private and lobby messages interleaved as sent');
  const lobby: string[] = [];
  while (lobby.length < 20) lobby.push(((await watcher.nextJson((f) => f.type === 'message')) as MessageFrame).text);
  t.same(
    lobby,
    texts.filter((_, i) => i % 3 === 0),
    'the third node got the lobby ones, in order',
  );
  await closeAll([sender, peer, watcher]);
  await serviceClients(B, 0);
});

t.test('rooms, receipts and one online list across nodes; a guest id is held once', async (t) => {
  const owner = await jsonClient(A, 'owner');
  const member = await jsonClient(C, 'member');
  owner.send({ type: 'create-room', id: 'c', room: 'ops' });
  t.match(await owner.nextJson((f) => f.type === 'room'), { name: 'ops', owner: 'owner', members: ['owner'] });
  member.send({ type: 'join-room', id: 'j', room: 'ops' });
  t.match(await member.nextJson((f) => f.type === 'room'), { name: 'ops', owner: 'owner', members: ['member', 'owner'] });
  t.match(await owner.nextJson((f) => f.type === 'room-members'), { room: 'ops', joined: ['member'] });

  const outsider = await jsonClient(B, 'outsider');
  const welcome = outsider.frames.map((f) => JSON.parse(f)).find((f) => f.type === 'welcome') as WelcomeFrame;
  t.same([...welcome.online].sort(), ['member', 'outsider', 'owner'], 'the welcome lists everyone online, on any node');
  t.match(welcome.rooms, [{ name: 'ops', owner: 'owner', members: 2 }]);

  owner.send({ type: 'send', id: 'r1', room: 'ops', text: 'standup in 5', sentAt: Date.now() });
  const ack = await owner.nextJson((f) => f.type === 'ack');
  const delivered = (await member.nextJson((f) => f.type === 'message')) as MessageFrame;
  t.match(delivered, { room: 'ops', from: 'owner', text: 'standup in 5', conversation: 'room:ops' });
  member.send({ type: 'receipt', status: 'read', from: 'owner', ids: [delivered.id] });
  t.match(
    await owner.nextJson((f) => f.type === 'receipts'),
    { updates: [{ id: (ack as { id: string }).id, read: 1 }] },
    'a read receipt crosses nodes',
  );

  outsider.send({ type: 'send', id: 'x', room: 'ops', text: 'let me in', sentAt: Date.now() });
  t.match(await outsider.nextJson((f) => f.type === 'error'), { code: 'NOT_ROOM_MEMBER', ref: 'x' });

  const twin = new TestClient(`${A}/ws/member`, 'chorus.v1');
  t.match(await twin.nextJson((f) => f.type === 'error'), { code: 'CLIENT_ID_TAKEN' });
  t.equal((await twin.closed).code, 4409, 'a guest id connected on another node is refused');
  await closeAll([owner, member, outsider]);
  await serviceClients(C, 0);
});

t.test('one MAX_CLIENTS for all nodes, exact under a connect storm spread over them', async (t) => {
  const attempts = Array.from({ length: CAP * 2 }, (_, i) => {
    const client = new TestClient(`${bases[i % 3]}/ws/storm${i}`, 'chorus.v1');
    const outcome = client.nextJson((f) => f.type === 'welcome' || f.type === 'error').then((f) => f.type);
    return { client, outcome };
  });
  const outcomes = await Promise.all(attempts.map((a) => a.outcome));
  t.equal(outcomes.filter((o) => o === 'welcome').length, CAP, `exactly ${CAP} admitted`);
  t.equal(outcomes.filter((o) => o === 'error').length, CAP, 'the rest refused');
  const refused = attempts.filter((_, i) => outcomes[i] === 'error');
  for (const { client } of refused) {
    t.equal((await client.closed).code, 1013);
    t.match(JSON.parse(client.frames[0]!), { code: 'SERVER_FULL', retryable: true });
  }
  await closeAll(attempts.map((a) => a.client));
  await serviceClients(A, 0);
});

t.test('a node killed with SIGKILL: its clients are announced as left everywhere within the lease, and its permits return', async (t) => {
  const watcher = await textClient(A, 'watcher2');
  const doomed = await textClient(C, 'doomed');
  t.equal(await watcher.next(), 'Client #doomed joined the chat');
  await serviceClients(A, 2);
  const killedAt = Date.now();
  const victim = nodes[2]!;
  await victim.stop('SIGKILL');
  t.equal(await watcher.next(undefined, LEASE_MS * 4), 'Client #doomed left the chat');
  const took = Date.now() - killedAt;
  t.ok(took <= LEASE_MS + LEASE_MS / 4 + 1_000, `announced ${took} ms after the kill (lease ${LEASE_MS} ms)`);
  await serviceClients(A, 1);
  // The client reconnects to another node with the same id (its permit and id came back).
  const back = await textClient(B, 'doomed');
  t.equal(await watcher.next(), 'Client #doomed joined the chat');
  await closeAll([watcher, back, doomed]);
  await serviceClients(A, 0);
});

t.test('Redis restarted mid-stream: no acknowledged message is lost, clients resume on any node', async (t) => {
  // Two live nodes now (the third was killed above); clients reconnect to either, round robin.
  const live = [A, B];
  let next = 0;
  const balancer = () => live[next++ % live.length]!;
  const ids = ['r0', 'r1', 'r2', 'r3'];
  const clients = new Map<string, ResilientClient>();
  for (const id of ids) {
    const client = new ResilientClient(balancer, id);
    await client.connect();
    clients.set(id, client);
  }
  t.teardown(() => Promise.all([...clients.values()].map((c) => c.stop())));
  const partner = (id: string) => ids[ids.indexOf(id) ^ 1]!;
  const traffic = steadyTraffic(clients, partner);
  // What the nodes said about the outage, for a failure's report.
  t.teardown(() => {
    if (t.passing()) return;
    for (const node of nodes) for (const line of node.logs) if (Number(line.level) >= 40) t.comment(JSON.stringify(line));
    for (const client of clients.values())
      t.comment(`${client.id}: acks ${client.acks.size}, outbox ${client.outbox.size}, reconnects ${client.reconnects}`);
  });
  const first = clients.get('r0')!;
  await first.until(() => first.acks.size >= 20);
  await redis.restart();
  // Keep sending through the outage and after it.
  await Promise.all([...clients.values()].map((c) => c.until(() => c.acks.size >= 80, 60_000)));
  const counter = await traffic.stop();
  for (const client of clients.values()) await client.until(() => client.outbox.size === 0, 60_000);

  let sent = 0;
  let delivered = 0;
  let lost = 0;
  for (const client of clients.values()) {
    const recipient = clients.get(partner(client.id))!;
    const acked = [...client.acks.values()];
    sent += acked.length;
    await recipient.until(() => acked.every((ack) => recipient.received.some((m) => m.id === ack.id)), 60_000).catch(() => {});
    const got = new Set(recipient.received.map((m) => m.id));
    for (const ack of acked) got.has(ack.id) ? delivered++ : lost++;
    const order = recipient.received.filter((m) => m.from === client.id).map((m) => m.seq);
    t.same(
      order,
      [...order].sort((a, b) => a - b),
      `${client.id} -> ${recipient.id}: in order`,
    );
  }
  const reconnects = [...clients.values()].reduce((n, c) => n + c.reconnects, 0);
  t.comment(`Redis restart: sent ${counter}, acknowledged ${sent}, delivered ${delivered}, lost ${lost}, reconnects ${reconnects}`);
  t.equal(lost, 0, 'no acknowledged message lost');
  t.equal(delivered, sent);
  t.ok(reconnects >= ids.length, 'the clients were told to reconnect (1012) and did');
});

t.test('per-address limits are counted over every node: upgrades, failed sign-ins', async (t) => {
  // A Redis of their own: the suite's earlier upgrades from 127.0.0.1 would count against the limit.
  const own = await startRedis();
  t.teardown(() => own.stop());
  const limited = { ...env(1), REDIS_URL: own.url, UPGRADES_PER_MINUTE_PER_IP: '4', AUTH_FAILURES_PER_ACCOUNT: '3' };
  const extra = [await startApp('server', limited), await startApp('server', limited)];
  t.teardown(() => Promise.all(extra.map((n) => n.stop())));
  const statuses: string[] = [];
  for (let i = 0; i < 6; i++) {
    // Alternating nodes: counted per worker, each would allow 4 and refuse none.
    const client = new TestClient(`ws://127.0.0.1:${extra[i % 2]!.port}/ws/up${i}`);
    statuses.push(
      await client.opened.then(
        () => 'open',
        (err: Error) => err.message,
      ),
    );
    await client.close();
  }
  t.same(
    statuses,
    ['open', 'open', 'open', 'open', 'HTTP 429', 'HTTP 429'],
    `the 5th and 6th upgrades from one address are refused (${statuses.join(', ')})`,
  );

  const http = (i: number) => `http://127.0.0.1:${extra[i % 2]!.port}`;
  const post = (i: number, path: string, body: object) =>
    fetch(`${http(i)}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  t.equal((await post(0, '/auth/register', { username: 'limited', password: 'correct horse battery' })).status, 201);
  const logins: number[] = [];
  for (let i = 0; i < 4; i++) logins.push((await post(i, '/auth/login', { username: 'limited', password: 'wrong password!' })).status);
  t.same(logins, [401, 401, 401, 429], 'three failures over two nodes, then the account is blocked on both');
  const right = await post(1, '/auth/login', { username: 'limited', password: 'correct horse battery' });
  t.equal(right.status, 429, 'blocked even with the right password until the window closes');
});

t.test(
  'a node cut off from Redis stops admitting, closes its connections, and the others release its clients within the lease',
  async (t) => {
    const proxy = await startTcpProxy(redis.port);
    t.teardown(() => proxy.close());
    const isolated = await startApp('server', { ...env(1), REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    const other = await startApp('server', env(1));
    t.teardown(() => Promise.all([isolated.stop(), other.stop()]));
    const [I, O] = [isolated, other].map((n) => `ws://127.0.0.1:${n.port}`) as [string, string];

    const watcher = await textClient(O, 'watcher3');
    const islander = await textClient(I, 'islander');
    t.equal(await watcher.next(), 'Client #islander joined the chat');
    const cutAt = Date.now();
    proxy.cut();

    t.equal(await watcher.next(undefined, LEASE_MS * 4), 'Client #islander left the chat', 'the others release it');
    const released = Date.now() - cutAt;
    t.ok(released <= LEASE_MS + LEASE_MS / 4 + 1_000, `released ${released} ms after the cut (lease ${LEASE_MS} ms)`);
    const { code } = await islander.closed;
    const closed = Date.now() - cutAt;
    t.equal(code, 1012, 'the cut-off node closed its connection: reconnect and resume elsewhere');
    t.ok(closed <= LEASE_MS + LEASE_MS / 2 + 1_000, `closed ${closed} ms after the cut: no ghost past the lease`);

    const refused = new TestClient(`${I}/ws/latecomer`, 'chorus.v1');
    t.match(await refused.nextJson((f) => f.type === 'error'), { code: 'UNAVAILABLE', retryable: true }, 'no admission without Redis');
    t.equal((await refused.closed).code, 1013);

    proxy.heal();
    // Once it reaches Redis again it joins afresh and admits as before.
    const deadline = Date.now() + 20_000;
    let back: TestClient | null = null;
    while (!back) {
      const attempt = new TestClient(`${I}/ws/islander`, 'chorus.v1');
      const first = await attempt.nextJson((f) => f.type === 'welcome' || f.type === 'error');
      if (first.type === 'welcome') back = attempt;
      else {
        await attempt.closed;
        if (Date.now() > deadline) throw new Error('the node did not come back after the partition healed');
        // Its recovery loop retries every 200 ms: try again shortly.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    t.equal(await watcher.next(), 'Client #islander joined the chat');
    await closeAll([watcher, back]);
  },
);

t.test(
  'PostgreSQL unavailable: sends get STORAGE_FAILED and nothing unstored is acknowledged; service resumes when it returns',
  async (t) => {
    const database_ = new URL(database.url);
    const proxy = await startTcpProxy(Number(database_.port || 5432));
    t.teardown(() => proxy.close());
    database_.port = String(proxy.port);
    const node = await startApp('server', { ...env(1), DATABASE_URL: database_.toString() });
    t.teardown(() => node.stop());
    t.teardown(() => {
      if (!t.passing()) for (const line of node.logs) if (Number(line.level) >= 40) t.comment(JSON.stringify(line));
    });
    const base = `ws://127.0.0.1:${node.port}`;
    const sender = await jsonClient(base, 'pgsender');
    const reader = await jsonClient(B, 'pgreader');
    sender.send({ type: 'send', id: 'pg-1', to: 'pgreader', text: 'before', sentAt: Date.now() });
    t.match(await sender.nextJson((f) => f.type === 'ack'), { ref: 'pg-1' });

    proxy.down();
    sender.send({ type: 'send', id: 'pg-2', to: 'pgreader', text: 'during', sentAt: Date.now() });
    const answer = await sender.nextJson((f) => f.type === 'ack' || f.type === 'error', 20_000);
    t.match(answer, { type: 'error', code: 'STORAGE_FAILED', ref: 'pg-2', retryable: true }, 'refused, not acknowledged');

    t.equal(node.proc.exitCode, null, 'the node is still running (broken database connections do not end it)');
    proxy.heal();
    // The client sends it again with the same id, as the browser's outbox does, until it is stored.
    let acked = null;
    const deadline = Date.now() + 20_000;
    while (!acked) {
      sender.send({ type: 'send', id: 'pg-2', to: 'pgreader', text: 'during', sentAt: Date.now() });
      const reply = await sender.nextJson((f) => f.type === 'ack' || f.type === 'error', 20_000);
      if (reply.type === 'ack') acked = reply;
      else if (Date.now() > deadline) throw new Error('storage did not come back');
    }
    const texts: string[] = [];
    while (texts.length < 2) texts.push(((await reader.nextJson((f) => f.type === 'message')) as MessageFrame).text);
    t.same(texts, ['before', 'during'], 'the recipient got exactly what was acknowledged');
    await closeAll([sender, reader]);
  },
);

t.test("a worker killed with SIGKILL: its primary releases the worker's clients at once, not after the lease", async (t) => {
  // A lease far longer than the wait below: only the primary's release can explain a quick leave.
  const node = await startApp('server', { ...env(2), NODE_LEASE_MS: '60000' });
  t.teardown(() => node.stop());
  const base = `ws://127.0.0.1:${node.port}`;
  const watcher = await textClient(B, 'watcher4');
  const clients: TestClient[] = [];
  for (let i = 0; i < 6; i++) {
    clients.push(await textClient(base, `tab${i}`));
    t.equal(await watcher.next(), `Client #tab${i} joined the chat`);
  }
  // /ready is answered by one worker and lists it: kill that one if it holds clients.
  let victim: { pid: number; clients: number } | undefined;
  while (!victim) {
    const ready = (await (await fetch(`http://127.0.0.1:${node.port}/ready`)).json()) as { workers: { pid: number; clients: number }[] };
    victim = ready.workers.find((w) => w.clients > 0);
  }
  const killedAt = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  const left: string[] = [];
  while (left.length < victim.clients) left.push(await watcher.next((f) => f.endsWith('left the chat'), 20_000));
  const took = Date.now() - killedAt;
  t.equal(left.length, victim.clients, `the dead worker's ${victim.clients} clients left: ${left.join('; ')}`);
  t.ok(took < 20_000, `announced ${took} ms after the kill, with a 60 s lease`);
  await closeAll([watcher, ...clients]);
});
