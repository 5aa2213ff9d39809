import t, { type Test } from 'tap';
import { WebSocketServer } from 'ws';
import { Generator } from '../../bench/dist/load/pool.js';

/**
 * A server that takes every id's first upgrade and then never answers it (as
 * Socket.IO's cluster now and then does), and welcomes every later one.
 */
async function hangsOnFirstConnect(t: Test): Promise<{ port: number; upgrades: Map<string, number> }> {
  const upgrades = new Map<string, number>();
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (socket, request) => {
    const id = (request.url ?? '').split('/').pop()!;
    const n = (upgrades.get(id) ?? 0) + 1;
    upgrades.set(id, n);
    if (n > 1) socket.send(JSON.stringify({ type: 'welcome', node: 'n1' }));
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as { port: number }).port, upgrades };
}

t.test('a load generator tries a hanging connect again when told to, and counts it', async (t) => {
  const { port, upgrades } = await hangsOnFirstConnect(t);
  const generator = new Generator(0);
  t.teardown(() => generator.kill());
  const command = {
    type: 'connect' as const,
    target: { kind: 'chorus-json' as const, host: '127.0.0.1', ports: [port], receipts: false },
    localAddresses: ['127.0.0.1'],
    concurrency: 2,
    timeoutMs: 300,
    budgetMs: 20_000,
  };
  const once = await generator.request({ ...command, ids: ['a1', 'b1'], attempts: 1 }, 30_000);
  t.same([once.clients.length, once.failed, once.retried], [0, 2, 0], 'one try: both hang and fail');
  t.match(once.errors[0], /no answer within 300 ms/);

  const retried = await generator.request({ ...command, ids: ['a2', 'b2'], attempts: 3 }, 30_000);
  t.same([retried.clients.length, retried.failed, retried.retried], [2, 0, 2], 'three tries: both connect on the second');
  t.same([upgrades.get('a2'), upgrades.get('b2')], [2, 2], 'exactly one retry each');
  await generator.request({ type: 'close' }, 30_000);
});
