import type { WelcomeFrame } from '@chorus/protocol';
import t from 'tap';
import { startApp, type RunningApp } from '../helpers/spawn-app.js';
import { TestClient, jsonClient } from '../helpers/ws-client.js';

const TOKEN = 'a-scrape-token-of-32-characters!';

/** The samples of a Prometheus text exposition, by series (`name{labels}` as printed), node label left out. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const series = line
      .slice(0, space)
      .replace(/,?node="[^"]*"/, '')
      .replace('{}', '')
      .replace('{,', '{');
    out.set(series, Number(line.slice(space + 1)));
  }
  return out;
}

async function metricsPort(server: RunningApp): Promise<number> {
  const line = await server.waitForLog((l) => l.msg === 'metrics listening');
  return line.port as number;
}

async function scrape(port: number, token: string | null = TOKEN): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/metrics`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
}

async function scraped(port: number): Promise<Map<string, number>> {
  const response = await scrape(port);
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}: ${await response.text()}`);
  return samples(await response.text());
}

/**
 * Resolves with the first scrape where `series` is at least `value` (a
 * worker's count lands in its own turn); a safety net of 20 s, then fails
 * with what the last scrape showed.
 */
async function until(port: number, series: string, value: number): Promise<Map<string, number>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = await scraped(port);
    if ((m.get(series) ?? 0) >= value) return m;
    if (Date.now() > deadline)
      throw new Error(`${series} stayed at ${m.get(series)}: ${JSON.stringify([...m].filter(([k]) => k.startsWith('chorus_')))}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

for (const workers of ['1', '2']) {
  t.test(`metrics of a node with WORKERS=${workers}: one view of all its processes, on a port of their own`, async (t) => {
    const server = await startApp('server', {
      WORKERS: workers,
      METRICS_PORT: '0',
      METRICS_TOKEN: TOKEN,
      MESSAGE_RATE: '1',
      MESSAGE_BURST: '3',
    });
    t.teardown(() => server.stop());
    const port = await metricsPort(server);
    const base = `ws://127.0.0.1:${server.port}`;

    t.equal((await scrape(port, null)).status, 401, 'no token: refused');
    t.equal((await scrape(port, 'not-the-token-not-the-token-xx!!')).status, 401, 'a wrong token: refused');
    t.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status, 404, 'not on the chat port');

    // With two workers: until the two clients are on different workers, so that the sums cross processes.
    const alice = await jsonClient(base, 'alice');
    let bob: TestClient;
    const tried: TestClient[] = [];
    for (let i = 0; ; i++) {
      const candidate = new TestClient(`${base}/ws/bob`, 'chorus.v1');
      const welcome = (await candidate.nextJson((f) => f.type === 'welcome')) as WelcomeFrame;
      const aliceNode = server.logs.find((l) => l.msg === 'connected' && l.clientId === 'alice')?.worker;
      const bobNode = server.logs.findLast((l) => l.msg === 'connected' && l.clientId === 'bob')?.worker;
      if (workers === '1' || aliceNode !== bobNode || i >= 20) {
        bob = candidate;
        t.ok(welcome, `bob admitted after ${i + 1} attempt(s)`);
        break;
      }
      tried.push(candidate);
      await candidate.close();
    }
    const admissions = 3 + tried.length;

    alice.send({ type: 'send', id: 'm1', to: 'bob', text: 'hello', sentAt: Date.now() });
    await alice.nextJson((f) => f.type === 'ack' && f.ref === 'm1');
    await bob.nextJson((f) => f.type === 'message');

    // Taken: a second guest connection with bob's id is refused.
    const twin = new TestClient(`${base}/ws/bob`, 'chorus.v1');
    t.match(await twin.nextJson(), { type: 'error', code: 'CLIENT_ID_TAKEN' });
    await twin.closed;

    // Over the rate (1 frame/s, burst 3): frames beyond it are counted.
    const carol = await jsonClient(base, 'carol');
    for (let i = 0; i < 5; i++) carol.send({ type: 'typing', to: 'bob' });
    await carol.nextJson((f) => f.type === 'error' && f.code === 'RATE_LIMITED');

    const m = await until(port, 'chorus_rate_limited_frames_total', 1);
    t.equal(m.get('chorus_connections'), 3, 'connections: alice, bob and carol, across the workers');
    t.equal(m.get('chorus_admissions_total'), admissions);
    t.equal(m.get('chorus_refusals_total{reason="taken"}'), 1);
    t.equal(m.get('chorus_messages_routed_total{target="client"}'), 1);
    t.equal(m.get('chorus_deliveries_total'), 1);
    t.equal(m.get('chorus_acks_total'), 1);
    t.equal(m.get('chorus_storage_committed_messages_total'), 1, 'the message went through one commit');
    t.ok((m.get('chorus_storage_commit_seconds_count') ?? 0) >= 1);
    t.ok((m.get('chorus_storage_commit_seconds_sum') ?? 0) > 0, 'the commit took time');
    t.ok((m.get('process_resident_memory_bytes') ?? 0) > 10_000_000, 'process metrics are there');
    t.ok(m.has('nodejs_eventloop_lag_seconds'), 'event-loop lag is there');
    const text = await (await scrape(port)).text();
    t.match(text, /# TYPE chorus_deliveries_total counter/);
    t.match(text, /chorus_connections\{node="[^"]+:0"\} 3/, 'labelled by node');

    // A resume replays what bob missed.
    await bob.close();
    alice.send({ type: 'send', id: 'm2', to: 'bob', text: 'while you were away', sentAt: Date.now() });
    await alice.nextJson((f) => f.type === 'ack' && f.ref === 'm2', 10_000);
    const back = new TestClient(`${base}/ws/bob?resume=1`, 'chorus.v1');
    await back.nextJson((f) => f.type === 'welcome');
    back.send({ type: 'resume', cursors: { 'dm:alice,bob': 1 } });
    await back.nextJson((f) => f.type === 'resumed');
    const after = await until(port, 'chorus_resumes_total', 1);
    t.equal(after.get('chorus_resume_replayed_messages_total'), 1);
    await Promise.all([alice.close(), back.close(), carol.close()]);
  });
}

t.test('METRICS_PORT unset: no metrics port at all', async (t) => {
  const server = await startApp('server', { WORKERS: '1' });
  t.teardown(() => server.stop());
  t.notOk(server.logs.some((l) => l.msg === 'metrics listening'));
});

t.test('a METRICS_TOKEN too short to be a secret is refused at start', async (t) => {
  await t.rejects(
    startApp('server', { WORKERS: '1', METRICS_PORT: '0', METRICS_TOKEN: 'short' }),
    /METRICS_TOKEN: must be at least 16 characters/,
  );
});
