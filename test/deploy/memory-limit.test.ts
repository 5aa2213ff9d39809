/**
 * The server image in a small container: `podman run --memory 512m` (no swap), WORKERS=2, and
 * CLIENTS real WebSocket clients (chorus.v1, from this process) that connect, chat privately and in
 * the lobby, and get every message. The container must not be OOM-killed: it still runs, answers
 * /health and /ready with both of its first workers (none restarted), and its memory cgroup counted
 * no OOM kill. The peak memory of the cgroup is reported (docs/deploy.md, "Fit a small container").
 * Without CI, a machine without podman or without the image skips this with the reason; under
 * CI=true it fails.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import t from 'tap';
import { WebSocket } from 'ws';
import { podman, podmanMissing, removeContainer, RUN_FLAGS, SERVER_IMAGE } from '../helpers/podman.js';

const CLIENTS = 1_000;
/** Private messages each client sends, to the next PRIVATE clients (so each receives PRIVATE). */
const PRIVATE = 20;
/** Clients that also send one lobby message each (to everyone: CLIENTS - 1 deliveries each). */
const LOBBY_SENDERS = 20;
const LIMIT_BYTES = 512 * 1024 * 1024;
const NAME = `chorus-memory-${process.pid}`;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Polls `check` (a request, a file) until it holds; bounded. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Ready {
  clients: number;
  workers: { id: number; pid: number; clients: number }[];
}
const ready = async (port: number): Promise<Ready | undefined> => {
  const r = await fetch(`http://127.0.0.1:${port}/ready`);
  return r.ok ? ((await r.json()) as Ready) : undefined;
};

/** The container's memory cgroup, v2 or v1: limit, usage now, peak (where the kernel keeps one), OOM kills. */
async function cgroupMemory(): Promise<{ limit: number; usage: number; peak: number | null; oomKills: number }> {
  const script = [
    'if [ -f /sys/fs/cgroup/memory.max ]; then',
    '  echo "$(cat /sys/fs/cgroup/memory.max) $(cat /sys/fs/cgroup/memory.current) $(cat /sys/fs/cgroup/memory.peak 2>/dev/null || echo -) $(sed -n "s/^oom_kill //p" /sys/fs/cgroup/memory.events)"',
    'else',
    '  m=/sys/fs/cgroup/memory; echo "$(cat $m/memory.limit_in_bytes) $(cat $m/memory.usage_in_bytes) $(cat $m/memory.max_usage_in_bytes) $(sed -n "s/^oom_kill //p" $m/memory.oom_control)"',
    'fi',
  ].join('\n');
  const [limit, usage, peak, oom] = (await podman(['exec', NAME, 'sh', '-c', script], 20_000)).trim().split(/\s+/);
  return { limit: Number(limit), usage: Number(usage), peak: peak === '-' ? null : Number(peak), oomKills: Number(oom ?? 0) };
}

/** VmRSS of each node process in the container (PID 1 is the primary). */
async function processesRss(): Promise<string> {
  const script =
    'for p in /proc/[0-9]*; do tr "\\0" "\\n" <$p/cmdline 2>/dev/null | head -n 1 | grep -q "node$" && echo "$(basename $p) $(sed -n "s/^VmRSS: *//p" $p/status)"; done; true';
  const out = await podman(['exec', NAME, 'sh', '-c', script], 20_000);
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [pid, kb] = line.split(/\s+/);
      return `pid ${pid} ${(Number(kb) / 1000).toFixed(0)} MB`;
    })
    .join(', ');
}

/** A chat client that keeps only what the test counts (1,000 clients get a million presence frames). */
class Chatter {
  readonly socket: WebSocket;
  readonly opened: Promise<void>;
  readonly got = new Set<string>();
  acks = 0;
  closed: number | null = null;
  #wanted = new Set<string>();
  #matched = 0;
  #onDone: (() => void) | undefined;

  constructor(
    url: string,
    readonly id: string,
  ) {
    this.socket = new WebSocket(url, ['chorus.v1']);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`${id}: HTTP ${res.statusCode}`)));
      // The welcome frame: admitted (the hub sends it once the client holds a permit).
      this.socket.once('message', () => resolve());
    });
    this.socket.on('error', () => {});
    this.socket.on('close', (code) => {
      this.closed = code;
    });
    this.socket.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"ack"')) this.acks++;
      else if (text.includes('"type":"message"')) {
        const frame = JSON.parse(text) as { type: string; text: string };
        if (frame.type !== 'message' || this.got.has(frame.text)) return;
        this.got.add(frame.text);
        if (this.#wanted.has(frame.text)) this.#matched++;
        if (this.#onDone && this.#matched === this.#wanted.size) this.#onDone();
      }
    });
  }

  send(text: string, to: string | null, ref: string): void {
    this.socket.send(JSON.stringify({ type: 'send', id: ref, text, ...(to ? { to } : {}), sentAt: Date.now() }));
  }

  /** Resolves once every text of `wanted` has arrived (call before sending). */
  received(wanted: Set<string>): Promise<void> {
    this.#wanted = wanted;
    this.#matched = [...wanted].filter((text) => this.got.has(text)).length;
    if (this.#matched === wanted.size) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onDone = resolve;
    });
  }
}

const why = podmanMissing([SERVER_IMAGE]);
if (why !== null && process.env.CI !== 'true') {
  t.test('the server image in 512 MiB', { skip: `container memory test: ${why}` }, async () => {});
} else {
  t.test(`the server image with --memory 512m, WORKERS=2, ${CLIENTS} clients chatting: not OOM-killed`, async (t) => {
    t.equal(why, null, why ?? 'podman and the server image are here');
    if (why !== null) return;
    const started = Date.now();
    const port = await freePort();
    await removeContainer(NAME);
    t.teardown(() => removeContainer(NAME));
    await podman([
      'run',
      '-d',
      '--name',
      NAME,
      ...RUN_FLAGS,
      '--memory',
      '512m',
      '--memory-swap',
      '512m',
      '-e',
      'ENVIRONMENT=production',
      '-e',
      'HOST=127.0.0.1',
      '-e',
      `PORT=${port}`,
      '-e',
      'WORKERS=2',
      '-e',
      `AUTH_SECRET=${randomBytes(36).toString('base64')}`,
      // Every client comes from 127.0.0.1 here: the per-address limits would refuse most of them.
      '-e',
      `MAX_CONNECTIONS_PER_IP=${CLIENTS * 2}`,
      '-e',
      `UPGRADES_PER_MINUTE_PER_IP=${CLIENTS * 10}`,
      '-e',
      'LOG_LEVEL=warn',
      SERVER_IMAGE,
    ]);
    const before = await until(
      'the two workers',
      async () => {
        const r = await ready(port);
        return r && r.workers.length === 2 ? r : undefined;
      },
      60_000,
    );
    const memory0 = await cgroupMemory();
    t.equal(memory0.limit, LIMIT_BYTES, 'the container runs under a 512 MiB memory limit');
    t.comment(`idle: cgroup ${(memory0.usage / 1e6).toFixed(0)} MB; processes (pid VmRSS): ${await processesRss()}`);

    // Usage sampled while the clients chat, for kernels whose cgroup keeps no peak.
    let sampledPeak = memory0.usage;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await cgroupMemory().catch(() => undefined);
        if (m) sampledPeak = Math.max(sampledPeak, m.usage);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    const tag = process.pid.toString(36);
    const ids = Array.from({ length: CLIENTS }, (_, i) => `mem-${tag}-${i}`);
    const clients: Chatter[] = [];
    t.teardown(() => {
      for (const c of clients) c.socket.terminate();
    });
    const connectStart = Date.now();
    // In waves of 100 (a browser crowd arrives over time, not in one event-loop turn).
    for (let i = 0; i < CLIENTS; i += 100) {
      const wave = ids.slice(i, i + 100).map((id) => new Chatter(`ws://127.0.0.1:${port}/ws/${id}`, id));
      clients.push(...wave);
      await Promise.all(wave.map((c) => c.opened));
    }
    const connectMs = Date.now() - connectStart;
    const admitted = await until(
      'every client counted',
      async () => {
        const r = await ready(port);
        return r && r.clients === CLIENTS ? r : undefined;
      },
      30_000,
    );
    t.equal(admitted.clients, CLIENTS, `${CLIENTS} clients connected in ${(connectMs / 1000).toFixed(1)} s`);
    t.ok(
      admitted.workers.every((w) => w.clients > 0),
      `both workers hold clients (${admitted.workers.map((w) => w.clients).join(' + ')})`,
    );

    const expected = clients.map(() => new Set<string>());
    const sends: (() => void)[] = [];
    clients.forEach((c, i) => {
      for (let k = 1; k <= PRIVATE; k++) {
        const to = (i + k) % CLIENTS;
        const text = `dm ${i}->${to}`;
        sends.push(() => c.send(text, ids[to]!, `${tag}-${i}-dm${k}`));
        expected[to]!.add(text);
      }
    });
    for (let i = 0; i < LOBBY_SENDERS; i++) {
      const text = `lobby from ${i}`;
      sends.push(() => clients[i]!.send(text, null, `${tag}-${i}-lobby`));
      clients.forEach((_, j) => {
        if (j !== i) expected[j]!.add(text);
      });
    }
    const sent = sends.length;
    const deliveries = expected.reduce((n, s) => n + s.size, 0);
    const arrived = Promise.all(clients.map((c, i) => c.received(expected[i]!)));
    const chatStart = Date.now();
    for (const send of sends) send();
    await Promise.race([
      arrived,
      new Promise((_, reject) => setTimeout(() => reject(new Error('not every message arrived within 90 s')), 90_000).unref()),
    ]).catch((err: Error) => t.fail(err.message));
    const chatMs = Date.now() - chatStart;
    const missing = clients.reduce((n, c, i) => n + [...expected[i]!].filter((text) => !c.got.has(text)).length, 0);
    t.equal(missing, 0, `every message arrived: ${sent} sent, ${deliveries} deliveries in ${(chatMs / 1000).toFixed(1)} s`);
    await until('every ack', async () => (clients.reduce((n, c) => n + c.acks, 0) >= sent ? true : undefined), 30_000).catch(() => {});
    t.equal(
      clients.reduce((n, c) => n + c.acks, 0),
      sent,
      'every message acknowledged (stored)',
    );
    t.same(
      clients.filter((c) => c.closed !== null).map((c) => `${c.id}: ${c.closed}`),
      [],
      'no client was disconnected',
    );

    sampling = false;
    await sampler;
    const memory1 = await cgroupMemory();
    const rss = await processesRss();
    const state = (await podman(['inspect', '--format', '{{.State.Running}} {{.State.OOMKilled}}', NAME])).trim();
    t.equal(state, 'true false', 'podman inspect: still running, OOMKilled false');
    t.equal(memory1.oomKills, 0, 'the memory cgroup counted no OOM kill (of any process in it)');
    const after = await ready(port);
    t.same(
      after?.workers.map((w) => w.pid),
      before.workers.map((w) => w.pid),
      'the same two workers answer /ready (none died and was restarted)',
    );
    t.ok((await fetch(`http://127.0.0.1:${port}/health`)).ok, '/health answers');
    const peak = memory1.peak ?? sampledPeak;
    t.ok(peak < LIMIT_BYTES, `peak ${(peak / 1e6).toFixed(0)} MB under the limit`);
    t.comment(
      `memory: idle ${(memory0.usage / 1e6).toFixed(0)} MB, peak ${(peak / 1e6).toFixed(0)} MB (${memory1.peak === null ? 'sampled' : 'cgroup peak'}) of ${(LIMIT_BYTES / 1e6).toFixed(0)} MB, after ${(memory1.usage / 1e6).toFixed(0)} MB; processes (pid VmRSS): ${rss}; ${CLIENTS} clients, ${sent} messages, ${deliveries} deliveries; ${((Date.now() - started) / 1000).toFixed(0)} s in all`,
    );
  });
}
