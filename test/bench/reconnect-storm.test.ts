import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { outDir, runBench } from '../helpers/bench-cli.js';
import { WebSocket, WebSocketServer } from 'ws';
import { Generator } from '../../bench/dist/load/pool.js';
import { RunningSystem } from '../../bench/dist/server-process.js';
import { systemSpec } from '../../bench/dist/systems.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Summary {
  median: number;
}
interface Results {
  runs: { scenario: string; system: string; error?: string; skipped?: string; notes: string[]; figures?: Record<string, number> }[];
  summary: Record<string, Record<string, { figures: Record<string, Summary>; skipped?: string }>>;
}

/** Opens a chorus.v1 client and collects its frames; resolves at the welcome. */
async function chorusClient(port: number, id: string, query = ''): Promise<{ socket: WebSocket; frames: Record<string, unknown>[] }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/${id}${query}`, ['chorus.v1']);
  const frames: Record<string, unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      frames.push(frame);
      if (frame.type === 'welcome') resolve();
    });
    socket.once('error', reject);
  });
  return { socket, frames };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('a restart in place: same port, same data (a message stored before it is replayed after it)', async (t) => {
  const system = await RunningSystem.start(systemSpec('chorus-w1', 1000, join(ROOT, 'apps/server/dist/main.js')), null, undefined, 60_000);
  t.teardown(() => system.stop());
  const [port] = system.ports;
  const alice = await chorusClient(port!, 'alice');
  alice.socket.send(JSON.stringify({ type: 'send', id: 'note-1', to: 'alice', text: 'kept', sentAt: Date.now() }));
  await until('the ack', () => alice.frames.some((f) => f.type === 'ack'));
  alice.socket.terminate();

  const { exitedAt, clean } = await system.restart();
  t.ok(clean, 'stopped by SIGTERM alone');
  t.ok(exitedAt > 0, 'says when the old server had exited');
  t.same(system.ports, [port], 'listens on the same port again');
  t.ok(system.running, 'runs');

  // No cursor for the private conversation: the replay starts from its beginning.
  const again = await chorusClient(port!, 'alice', '?resume=1');
  again.socket.send(JSON.stringify({ type: 'resume', cursors: {} }));
  await until('resumed', () => again.frames.some((f) => f.type === 'resumed'));
  t.ok(
    again.frames.some((f) => f.type === 'message' && f.text === 'kept'),
    'the message stored before the restart is there after it',
  );
  again.socket.terminate();
});

t.test('reconnect-storm: Chorus restarted under its clients, every one resumes, nothing acked is lost', async (t) => {
  const out = outDir(t, 'chorus-storm-test-');
  const { code, stdout, stderr } = await runBench([
    '--runs',
    '1',
    '--systems',
    'chorus-w1,chorus-w2,ws-relay',
    '--scenarios',
    'reconnect-storm',
    '--storm-clients',
    '100',
    '--out',
    out,
    '--no-docs',
  ]);
  t.equal(code, 0, `exits 0\n${stderr.slice(-3000)}`);
  t.match(stdout, /#### reconnect storm/, 'prints its table');
  const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
  t.same(
    results.runs.filter((r) => r.error !== undefined),
    [],
    'no measurement failed',
  );
  for (const system of ['chorus-w1', 'chorus-w2']) {
    const run = results.runs.find((r) => r.system === system && r.scenario === 'reconnect-storm');
    const f = run?.figures;
    if (!f) {
      t.fail(`${system} measured`);
      continue;
    }
    t.equal(f.resumed, 100, `${system}: every client resumed`);
    t.ok(Number.isFinite(f.stormSeconds) && f.stormSeconds! > 0, `${system}: time until all resumed`);
    t.ok(f.stormSeconds! >= f.restartSeconds!, `${system}: not before the server was back`);
    t.ok(f.cpuMicrosPerResume! > 0, `${system}: server CPU per resumed client`);
    t.equal(f.lostMessages, 0, `${system}: no acknowledged message lost`);
    t.equal(f.duplicateMessages, 0, `${system}: none received twice`);
    // The first message to every client (each has a cursor), and whatever of the last burst was acked.
    t.ok(f.checkedMessages! >= 100, `${system}: checked at least the first message of every client`);
    t.ok(f.attemptsPerClient! >= 1, `${system}: clients had to reconnect`);
  }
  t.match(
    results.summary['reconnect-storm']?.['ws-relay']?.skipped,
    /ws-relay has no resume/,
    'a system without resume is skipped, said so',
  );
});

/**
 * A server that acks every send and never delivers it, then, told to, drops
 * everyone; on the reconnect it answers `resume` with an empty `resumed`: the
 * check must find every acknowledged message lost.
 */
t.test('the storm check finds acknowledged messages that never arrive', async (t) => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'chorus.v1' });
  const sockets = new Set<WebSocket>();
  const resumes: string[] = [];
  let seq = 0;
  server.on('connection', (socket, request) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const id = decodeURIComponent((request.url ?? '').split('?')[0]!.split('/').pop()!);
    socket.send(JSON.stringify({ type: 'welcome', node: 'n1', online: [] }));
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { type: string; id?: string; to?: string };
      if (frame.type === 'send') {
        const conversation = `dm:${[id, frame.to!].sort().join(',')}`;
        socket.send(
          JSON.stringify({ type: 'ack', ref: frame.id, id: `m${++seq}`, conversation, seq, serverAt: Date.now(), recipients: 1 }),
        );
      } else if (frame.type === 'resume') {
        resumes.push(id);
        socket.send(JSON.stringify({ type: 'resumed', conversations: {}, truncated: [] }));
      }
    });
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;

  const generator = new Generator(0);
  t.teardown(() => generator.kill());
  const target = { kind: 'chorus-json' as const, host: '127.0.0.1', ports: [port], receipts: false };
  const connected = await generator.request(
    {
      type: 'storm-connect',
      target,
      pairs: [['a', 'b']],
      localAddresses: ['127.0.0.1'],
      concurrency: 2,
      timeoutMs: 2_000,
      budgetMs: 10_000,
    },
    20_000,
  );
  t.same([connected.connected, connected.failed], [2, 0]);
  const sent = await generator.request({ type: 'storm-send', perClient: 2, waitFor: 'acked', textBytes: 20, timeoutMs: 5_000 }, 10_000);
  t.same([sent.sent, sent.acked, sent.delivered], [4, 4, 0], 'acked, never delivered');
  await generator.request({ type: 'storm-arm', baseMs: 50, capMs: 200, timeoutMs: 2_000, budgetMs: 10_000 }, 10_000);
  for (const socket of sockets) socket.close(1001, 'restarting');
  const waited = await generator.request({ type: 'storm-wait', timeoutMs: 10_000 }, 20_000);
  t.equal(waited.resumedAt.length, 2, 'both resumed');
  t.same(resumes.sort(), ['a', 'b'], 'each sent a resume frame after its reconnect');
  const check = await generator.request({ type: 'storm-check' }, 10_000);
  t.same([check.expected, check.lost, check.duplicates], [4, 4, 0], 'all four acknowledged messages are reported lost');
  t.match(check.examples[0], /lacks dm:a,b seq \d/);
  await generator.request({ type: 'close' }, 10_000);
});
