import type { Worker } from 'node:cluster';
import { Counter, Registry } from 'prom-client';
import t from 'tap';
import { ClusterGather } from '../../apps/server/src/metrics/cluster-gather.js';

/** A stand-in for a cluster worker: records what the primary sent it. */
function fakeWorker(id: number): Worker & { sent: { id: number }[] } {
  const sent: { id: number }[] = [];
  return { id, sent, isConnected: () => true, send: (m: { id: number }) => sent.push(m) } as unknown as Worker & { sent: { id: number }[] };
}

/** The JSON a worker whose `chorus_acks_total` is at `acks` would answer with. */
async function workerJson(acks: number): Promise<unknown> {
  const registry = new Registry();
  registry.setDefaultLabels({ node: 'n1' });
  new Counter({ name: 'chorus_acks_total', help: 'acks', registers: [registry] }).inc(acks);
  return registry.getMetricsAsJSON();
}

async function ownRegistry(): Promise<Registry> {
  const registry = new Registry();
  registry.setDefaultLabels({ node: 'n1' });
  new Counter({ name: 'chorus_acks_total', help: 'acks', registers: [registry] });
  return registry;
}

t.test('the primary adds up its workers with its own metrics', async (t) => {
  const workers = [fakeWorker(1), fakeWorker(2)];
  const gather = new ClusterGather(await ownRegistry(), () => workers);
  const scrape = gather.metrics();
  await new Promise((resolve) => setImmediate(resolve));
  const [a, b] = workers;
  gather.onWorkerMessage(a!, { ch: 'chorus-metrics', type: 'answer', id: a!.sent[0]!.id, metrics: await workerJson(3) });
  gather.onWorkerMessage(a!, { ch: 'chorus-metrics', type: 'answer', id: a!.sent[0]!.id, metrics: await workerJson(3) });
  gather.onWorkerMessage(b!, { ch: 'chorus', type: 'listening', port: 1 });
  gather.onWorkerMessage(b!, { ch: 'chorus-metrics', type: 'answer', id: b!.sent[0]!.id, metrics: await workerJson(4) });
  const { body } = await scrape;
  t.match(
    body,
    /^chorus_acks_total\{node="n1"\} 7$/m,
    'one answer per worker counts (a repeated one is dropped), other messages are ignored',
  );
});

t.test('a worker that exits during a scrape fails it at once; its late answer is dropped', async (t) => {
  const workers = [fakeWorker(1), fakeWorker(2)];
  const gather = new ClusterGather(await ownRegistry(), () => workers);
  const scrape = gather.metrics();
  await new Promise((resolve) => setImmediate(resolve));
  gather.onWorkerExit(workers[1]!);
  await t.rejects(scrape, /worker 2 exited during the scrape/);
  t.doesNotThrow(() =>
    gather.onWorkerMessage(workers[1]!, { ch: 'chorus-metrics', type: 'answer', id: workers[1]!.sent[0]!.id, metrics: [] }),
  );
});

t.test('no workers: the primary answers with its own', async (t) => {
  const gather = new ClusterGather(await ownRegistry(), () => []);
  t.match((await gather.metrics()).body, /chorus_acks_total\{node="n1"\} 0/);
});
