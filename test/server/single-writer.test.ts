import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AckFrame, ServerFrame, WelcomeFrame } from '@chorus/protocol';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { WriterClient, WriterGoneError, type WriterChannel } from '../../apps/server/src/cluster/writer-client.js';
import { WRITER_TAG, type WriterReply } from '../../apps/server/src/cluster/writer-protocol.js';
import { MessageWriterService, type WriterPeer } from '../../apps/server/src/cluster/writer-service.js';
import { openStorage } from '../../apps/server/src/storage/open-storage.js';
import type { NewMessage, Storage } from '../../apps/server/src/storage/storage.js';
import { message } from '../helpers/storage-contract.js';
import { ResilientClient } from '../helpers/resilient-client.js';
import { killBusiestWorker, startApp } from '../helpers/spawn-app.js';
import { jsonClient, type TestClient } from '../helpers/ws-client.js';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-writer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The primary's storage, recording the size of every append (one call = one transaction). */
async function primaryStorage(t: Test): Promise<{ storage: Storage; transactions: number[]; onAppend: (hook: () => void) => void }> {
  const storage = await openStorage({ dataDir: await tempDir(t) });
  t.teardown(() => storage.close());
  const transactions: number[] = [];
  let hook: (() => void) | null = null;
  const append = storage.append.bind(storage);
  storage.append = async (messages: readonly NewMessage[]) => {
    transactions.push(messages.length);
    const results = await append(messages);
    hook?.();
    return results;
  };
  return { storage, transactions, onAppend: (h) => (hook = h) };
}

/**
 * A worker's IPC link to the primary's writer, in process: messages go through
 * JSON (as Node's IPC does) and arrive on a later turn. `kill()` is the worker
 * (or the primary) dying: requests already sent still reach the writer, its
 * replies are dropped, and the client hears that the channel closed.
 */
function link(service: MessageWriterService): { channel: WriterChannel; kill(): void } {
  const listeners: ((m: unknown) => void)[] = [];
  const closers: (() => void)[] = [];
  let open = true;
  const peer: WriterPeer = {
    send(reply: WriterReply) {
      const copy: unknown = JSON.parse(JSON.stringify(reply));
      setImmediate(() => {
        if (!open) return;
        listeners.forEach((l) => {
          l(copy);
        });
      });
    },
  };
  return {
    channel: {
      post(request) {
        if (!open) return false;
        const copy: unknown = JSON.parse(JSON.stringify(request));
        setImmediate(() => service.receive(peer, copy));
        return true;
      },
      subscribe: (listener) => void listeners.push(listener),
      onClose: (listener) => void closers.push(listener),
    },
    kill() {
      open = false;
      for (const close of closers) close();
    },
  };
}

t.test("writer: both workers' messages share transactions and get gap-free seqs, each worker's in its order", async (t) => {
  const { storage, transactions } = await primaryStorage(t);
  const service = new MessageWriterService(storage);
  const w1 = new WriterClient(link(service).channel);
  const w2 = new WriterClient(link(service).channel);
  const from1 = Array.from({ length: 50 }, (_, i) => message({ from: 'alice', ref: `a${i}` }));
  const from2 = Array.from({ length: 50 }, (_, i) => message({ from: 'bob', ref: `b${i}` }));
  // Interleaved, in one turn, as two busy workers would.
  const pending = from1.flatMap((m, i) => [w1.append(m), w2.append(from2[i]!)]);
  const results = await Promise.all(pending);
  const seqs1 = results.filter((_, i) => i % 2 === 0).map((r) => r.message.seq);
  const seqs2 = results.filter((_, i) => i % 2 === 1).map((r) => r.message.seq);
  t.same(
    [...seqs1, ...seqs2].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i + 1),
    'seqs 1..100, each once',
  );
  t.same(
    seqs1,
    [...seqs1].sort((a, b) => a - b),
    "worker 1's messages keep its order",
  );
  t.same(
    seqs2,
    [...seqs2].sort((a, b) => a - b),
    "worker 2's messages keep its order",
  );
  t.ok(
    results.every((r) => !r.duplicate),
    'all new',
  );
  t.same(transactions, [100], "one transaction carried both workers' batches");
  t.same(results[1]!.message, { ...from2[0]!, seq: results[1]!.message.seq }, 'the result is the message as sent, with its seq');
  const stored = await storage.since('everyone', 0, 200);
  const idBySeq = new Map(results.map((r) => [r.message.seq, r.message.id]));
  t.same(
    stored.map((m) => m.id),
    stored.map((m) => idBySeq.get(m.seq)),
    'stored once each, under the seqs the workers were told',
  );
  t.equal(stored.length, 100);
});

t.test('writer: a send retried through the other worker is answered with the stored message', async (t) => {
  const { storage } = await primaryStorage(t);
  const service = new MessageWriterService(storage);
  const w1 = new WriterClient(link(service).channel);
  const w2 = new WriterClient(link(service).channel);
  const original = await w1.append(message({ id: 'w1.1', from: 'alice', ref: 'r1' }));
  const retry = await w2.append(message({ id: 'w2.1', from: 'alice', ref: 'r1' }));
  t.same(retry, { message: original.message, duplicate: true });
  const next = await w2.append(message({ from: 'bob' }));
  t.equal(next.message.seq, original.message.seq + 1, 'the duplicate used no seq');
});

t.test('writer: a worker that dies with appends in flight loses nothing its clients send again', async (t) => {
  const { storage, onAppend } = await primaryStorage(t);
  const service = new MessageWriterService(storage);
  const doomed = link(service);
  const w1 = new WriterClient(doomed.channel);
  const w2 = new WriterClient(link(service).channel);
  // The worker dies once its batch is committed, before the answer reaches it.
  onAppend(() => doomed.kill());
  const lost = w1.append(message({ id: 'w1.1', from: 'alice', ref: 'r1', text: 'hello' }));
  await t.rejects(lost, WriterGoneError, 'never acknowledged');
  await t.rejects(w1.append(message()), WriterGoneError, 'and nothing more goes through it');
  onAppend(() => {});
  // The client reconnects to the other worker and sends again with the same ref.
  const retry = await w2.append(message({ id: 'w2.1', from: 'alice', ref: 'r1', text: 'hello' }));
  t.equal(retry.duplicate, true);
  t.equal(retry.message.id, 'w1.1', 'answered with the message the dead worker sent');
  t.equal(retry.message.seq, 1);
  t.equal((await w2.append(message({ from: 'bob' }))).message.seq, 2, 'no gap');
  t.equal((await storage.since('everyone', 0, 10)).length, 2);
  await w1.flush();
});

t.test('writer: when the primary is gone, appends in flight and later ones fail (nothing is acknowledged)', async (t) => {
  const { storage } = await primaryStorage(t);
  const service = new MessageWriterService(storage);
  const primary = link(service);
  const w1 = new WriterClient(primary.channel);
  const first = w1.append(message());
  // Gone after the request left (the next turn), before the answer came back.
  await new Promise((resolve) => setImmediate(resolve));
  primary.kill();
  await t.rejects(first, WriterGoneError);
  await t.rejects(w1.append(message()), WriterGoneError);
  await t.rejects(w1.markSeen(['alice']), WriterGoneError);
  await w1.flush();
});

t.test('writer: shutdown answers what was sent before it, then refuses', async (t) => {
  const { storage } = await primaryStorage(t);
  const service = new MessageWriterService(storage);
  const w1 = new WriterClient(link(service).channel);
  const sent = Array.from({ length: 5 }, () => w1.append(message()));
  // The requests reach the writer on the turn after next; close once they have.
  await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  const closed = service.close();
  t.same(
    (await Promise.all(sent)).map((r) => r.message.seq),
    [1, 2, 3, 4, 5],
  );
  await closed;
  await t.rejects(w1.append(message()), /the message writer is closed/);
  await w1.close();
  await t.rejects(w1.append(message()), { name: 'WriterClosedError' });
});

t.test('writer: seen marks go through it; bad requests get a clear answer and change nothing', async (t) => {
  const { storage } = await primaryStorage(t);
  const service = new MessageWriterService(storage);
  const w1 = new WriterClient(link(service).channel);
  await w1.markSeen(['alice', 'bob']);
  t.equal(await storage.hasBeenSeen('bob'), true);

  const replies: WriterReply[] = [];
  const peer: WriterPeer = { send: (reply) => void replies.push(reply) };
  t.equal(service.receive(peer, { ch: 'chorus', type: 'hello' }), false, "someone else's message is left alone");
  t.equal(service.receive(peer, { ch: WRITER_TAG, type: 'append', bid: 7, messages: [['m1', 'everyone']] }), true);
  t.match(replies.shift(), { type: 'failed', bid: 7, error: /bad request to the message writer: messages are not well formed/ });
  t.equal(service.receive(peer, { ch: WRITER_TAG, type: 'drop-tables', bid: 8 }), true);
  t.match(replies.shift(), { type: 'failed', bid: 8, error: /unknown request type drop-tables/ });

  // A message that cannot be stored fails alone; the rest of its request is stored.
  const good = ['ok1', 'everyone', 'alice', null, null, 'fine', 1, 2, null];
  const bad = ['bad1', 'everyone', 'alice', null, null, 'nul \0 here', 1, 2, null];
  service.receive(peer, { ch: WRITER_TAG, type: 'append', bid: 9, messages: [bad, good] });
  await service.close();
  t.match(replies.shift(), { type: 'done', bid: 9, results: [/U\+0000/, 1] });
  t.same(
    (await storage.since('everyone', 0, 10)).map((m) => m.id),
    ['ok1'],
  );
});

t.test('writer: receipt counts and text cursors go through it, validated', async (t) => {
  const { storage } = await primaryStorage(t);
  const service = new MessageWriterService(storage);
  const w1 = new WriterClient(link(service).channel);
  const w2 = new WriterClient(link(service).channel);
  await Promise.all([
    w1.saveReceiptCounts([{ id: 'm1', recipients: 3, delivered: 2, read: 0 }]),
    w2.saveReceiptCounts([{ id: 'm1', recipients: 3, delivered: 1, read: 1 }]),
    w1.saveTextCursors([{ clientId: 'bob', conversation: 'dm:alice,bob', seq: 4 }]),
    w2.saveTextCursors([{ clientId: 'bob', conversation: 'dm:alice,bob', seq: 2 }]),
  ]);
  t.same(
    await storage.receiptCounts(['m1']),
    new Map([['m1', { id: 'm1', recipients: 3, delivered: 2, read: 1 }]]),
    'the larger of each count',
  );
  t.same(await storage.textCursors('bob'), new Map([['dm:alice,bob', 4]]), 'the furthest cursor');

  const replies: WriterReply[] = [];
  const peer: WriterPeer = { send: (reply) => void replies.push(reply) };
  service.receive(peer, { ch: WRITER_TAG, type: 'receipts', bid: 1, counts: [['m1', 3, -1, 0]] });
  t.match(replies.shift(), { type: 'failed', bid: 1, error: /receipt counts are not well formed/ });
  service.receive(peer, { ch: WRITER_TAG, type: 'text-cursors', bid: 2, cursors: [['bob', 'dm:alice,bob']] });
  t.match(replies.shift(), { type: 'failed', bid: 2, error: /text cursors are not well formed/ });
  await service.close();
  t.same(await storage.receiptCounts(['m1']), new Map([['m1', { id: 'm1', recipients: 3, delivered: 2, read: 1 }]]), 'unchanged');
});

/** The node (worker) of a connected client, from its welcome frame. */
function nodeOf(client: TestClient): string {
  const welcome = client.frames.map((f) => JSON.parse(f) as ServerFrame).find((f) => f.type === 'welcome') as WelcomeFrame;
  return welcome.node;
}

/** Connects clients until two are on each of the two workers. */
async function twoOnEachWorker(t: Test, base: string): Promise<[TestClient[], TestClient[]]> {
  const byNode = new Map<string, TestClient[]>();
  for (let i = 0; [...byNode.values()].filter((list) => list.length >= 2).length < 2; i++) {
    if (i === 30) throw new Error('30 connections did not put two on each worker');
    const client = await jsonClient(base, `p${i}`);
    t.teardown(() => client.close());
    const list = byNode.get(nodeOf(client)) ?? [];
    if (list.length < 2) list.push(client);
    byNode.set(nodeOf(client), list);
  }
  return [...byNode.values()] as [TestClient[], TestClient[]];
}

const idOf = (client: TestClient) => (JSON.parse(client.frames[0]!) as WelcomeFrame).clientId;

t.test('WORKERS=2: only the primary appends; workers keep serving while the file is locked', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startApp('server', { WORKERS: '2', DATA_DIR: dataDir });
  t.teardown(() => server.stop());
  // a and c on one worker, b and d on the other: a and b send, c and d show that their workers still serve.
  const [[a, c], [b, d]] = await twoOnEachWorker(t, `ws://127.0.0.1:${server.port}`);
  const typing = async (from: TestClient, to: TestClient, active: boolean) => {
    from.send({ type: 'typing', to: idOf(to), active });
    await to.nextJson((f) => f.type === 'typing' && f.from === idOf(from) && f.active === active);
  };
  // Each worker knows the other's clients (typing crosses the mesh without asking the primary).
  await typing(c, d, true);
  await typing(d, c, true);

  // Someone else holds SQLite's write lock. A worker that appended itself would
  // now wait for it inside SQLite, its event loop blocked; only the primary waits.
  const db = new Database(join(dataDir, 'chorus.db'));
  t.teardown(() => db.close());
  db.exec('begin immediate');
  for (let i = 0; i < 3; i++) {
    a.send({ type: 'send', id: `a${i}`, text: `from a ${i}`, sentAt: Date.now() });
    b.send({ type: 'send', id: `b${i}`, text: `from b ${i}`, sentAt: Date.now() });
  }
  // The senders' own frames wait behind their sends (one frame at a time per connection): other connections do not.
  await typing(c, d, false);
  await typing(d, c, false);
  const acked = (client: TestClient) => client.frames.some((f) => (JSON.parse(f) as ServerFrame).type === 'ack');
  t.notOk(acked(a) || acked(b), 'both workers served other clients meanwhile, and acknowledged nothing uncommitted');
  db.exec('rollback');

  const seqsOf = async (client: TestClient, prefix: string) => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) out.push(((await client.nextJson((f) => f.type === 'ack' && f.ref === `${prefix}${i}`)) as AckFrame).seq);
    return out;
  };
  const seqsA = await seqsOf(a, 'a');
  const seqsB = await seqsOf(b, 'b');
  t.same(
    [...seqsA, ...seqsB].sort((x, y) => x - y),
    [1, 2, 3, 4, 5, 6],
    "both workers' messages: one lobby, seqs 1..6",
  );
  t.same(
    seqsA,
    [...seqsA].sort((x, y) => x - y),
    "a's in its order",
  );
  t.same(
    seqsB,
    [...seqsB].sort((x, y) => x - y),
    "b's in its order",
  );
});

t.test('WORKERS=2: a worker killed mid-stream: every acknowledged message is stored, seqs without gaps', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startApp('server', { WORKERS: '2', DATA_DIR: dataDir });
  t.teardown(() => server.stop());
  const base = `ws://127.0.0.1:${server.port}`;
  const ids = ['k0', 'k1', 'k2', 'k3'];
  const clients = new Map<string, ResilientClient>();
  for (const id of ids) {
    const client = new ResilientClient(base, id);
    await client.connect();
    clients.set(id, client);
  }
  t.teardown(() => Promise.all([...clients.values()].map((c) => c.stop())));
  const partner = (id: string) => ids[ids.indexOf(id) ^ 1]!;

  // Each client sends to its partner and to the lobby, so conversations mix both workers' messages.
  let n = 0;
  let sending = true;
  const senders = [...clients.values()].map(async (client) => {
    while (sending) {
      const k = ++n;
      client.send(`${client.id}-${k}`, k % 2 === 0 ? partner(client.id) : null, `#${k}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
  await clients.get('k0')!.until(() => clients.get('k0')!.acks.size >= 20);
  await killBusiestWorker(server);
  await Promise.all([...clients.values()].map((c) => c.until(() => c.acks.size >= 60)));
  sending = false;
  await Promise.all(senders);
  for (const client of clients.values()) await client.until(() => client.outbox.size === 0);
  t.ok(
    [...clients.values()].some((c) => c.reconnects > 0),
    "the victim's clients reconnected",
  );
  // Clients first: they would reconnect to a server on its way down.
  await Promise.all([...clients.values()].map((c) => c.stop()));
  await server.stop();

  const db = new Database(join(dataDir, 'chorus.db'), { readonly: true });
  t.teardown(() => db.close());
  const find = db.prepare<[string, number], { id: string }>('select id from messages where conversation = ? and seq = ?');
  let acked = 0;
  let missing = 0;
  for (const client of clients.values()) {
    for (const ack of client.acks.values()) {
      acked++;
      if (find.get(ack.conversation, ack.seq)?.id !== ack.id) missing++;
    }
  }
  t.equal(missing, 0, `all ${acked} acknowledged messages are stored under their (conversation, seq)`);
  const gaps = db
    .prepare<[], { conversation: string; n: number; top: number }>(
      'select conversation, count(*) as n, max(seq) as top from messages group by conversation',
    )
    .all()
    .filter((c) => c.n !== c.top);
  t.same(gaps, [], 'every conversation numbered 1..n');
  const counters = db
    .prepare<[], { bad: number }>(
      'select count(*) as bad from conversations c where last_seq != (select max(seq) from messages m where m.conversation = c.id)',
    )
    .get();
  t.equal(counters!.bad, 0, 'each counter matches its last message');
});
