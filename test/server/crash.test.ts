import t from 'tap';
import { ResilientClient, steadyTraffic } from '../helpers/resilient-client.js';
import { killBusiestWorker, startApp } from '../helpers/spawn-app.js';

t.test('SIGKILL of a worker while clients on both workers send: no acknowledged message is lost', async (t) => {
  const server = await startApp('server', { WORKERS: '2' });
  t.teardown(() => server.stop());
  const base = `ws://127.0.0.1:${server.port}`;

  // Six clients in three pairs; the cluster spreads connections over both workers (round robin).
  const ids = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
  const clients = new Map<string, ResilientClient>();
  for (const id of ids) {
    const client = new ResilientClient(base, id);
    await client.connect();
    clients.set(id, client);
  }
  const partner = (id: string) => ids[ids.indexOf(id) ^ 1]!;
  t.teardown(() => Promise.all([...clients.values()].map((c) => c.stop())));

  // Steady traffic: every client sends to its partner every 10 ms.
  const traffic = steadyTraffic(clients, partner);

  // Let traffic flow, then kill the worker holding the most clients.
  await clients.get('c0')!.until(() => clients.get('c0')!.acks.size >= 20);
  const victim = await killBusiestWorker(server);
  t.ok(victim.clients > 0 && victim.clients < 6, `clients on both workers (${victim.clients} on the victim)`);
  // Keep sending through the crash and the recovery.
  await Promise.all([...clients.values()].map((c) => c.until(() => c.acks.size >= 60)));
  await traffic.stop();

  // Everything sent is acknowledged eventually (the outboxes drain), and reaches its recipient.
  for (const client of clients.values()) await client.until(() => client.outbox.size === 0);
  let sent = 0;
  let delivered = 0;
  let duplicates = 0;
  for (const client of clients.values()) {
    const recipient = clients.get(partner(client.id))!;
    const expected = [...client.acks.values()].sort((a, b) => a.seq - b.seq);
    sent += expected.length;
    await recipient.until(() => expected.every((ack) => recipient.received.some((m) => m.id === ack.id)));
    const got = recipient.received.filter((m) => m.from === client.id);
    delivered += got.length;
    duplicates += recipient.duplicates;
    t.same(
      got.map((m) => m.id),
      expected.map((a) => a.id),
      `${client.id} -> ${recipient.id}: every acknowledged message exactly once, in send order`,
    );
  }
  if (process.env.TRACE_CLIENT) t.comment(clients.get(process.env.TRACE_CLIENT)!.trace.join(' '));
  const lost = sent - delivered;
  t.equal(lost, 0, 'lost = 0');
  t.ok(
    [...clients.values()].some((c) => c.reconnects > 0),
    "the victim's clients reconnected",
  );
  t.comment(`sent and acknowledged ${sent}, delivered ${delivered}, lost ${lost}, duplicate frames dropped by clients ${duplicates}`);
});
