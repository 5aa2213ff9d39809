/**
 * What a server process loads at idle (docs/deploy.md, "Idle memory"): the primary of a cluster
 * loads no part of the serving stack, and no process loads what only other settings or the first
 * request for /docs use (pg without DATABASE_URL, ioredis without REDIS_URL, prom-client without
 * METRICS_PORT, swagger and its UI before /docs is asked for). Each process reports its loaded
 * packages on SIGUSR2 (test/helpers/module-probe.cjs).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startApp } from '../helpers/spawn-app.js';

const PROBE = fileURLToPath(new URL('../helpers/module-probe.cjs', import.meta.url));
const ONLY_SOME_SETTINGS = ['pg', 'ioredis', 'prom-client', '@opentelemetry/api', '@fastify/swagger', '@fastify/swagger-ui', 'yaml'];
const SERVING_STACK = ['fastify', 'ws', '@fastify/websocket', '@fastify/cors', '@fastify/rate-limit'];

/** The packages process `pid` has loaded, once it has written them (bounded). */
async function loaded(dir: string, pid: number): Promise<string[]> {
  const file = join(dir, `${pid}.json`);
  process.kill(pid, 'SIGUSR2');
  const end = Date.now() + 10_000;
  while (!existsSync(file)) {
    if (Date.now() > end) throw new Error(`process ${pid} wrote no module list`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return (JSON.parse(readFileSync(file, 'utf8')) as { packages: string[] }).packages;
}

const present = (packages: string[], names: string[]) => names.filter((n) => packages.includes(n));

t.test('WORKERS=2: the primary loads no serving stack; no process loads pg, ioredis, prom-client or swagger', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-modules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startApp('server', { WORKERS: '2', MODULE_PROBE_DIR: dir, NODE_OPTIONS: `--require ${PROBE}` });
  t.teardown(() => server.stop());
  const ready = (await (await fetch(`http://127.0.0.1:${server.port}/ready`)).json()) as { workers: { pid: number }[] };
  t.equal(ready.workers.length, 2, 'two workers');

  const primary = await loaded(dir, server.proc.pid!);
  t.ok(primary.includes('better-sqlite3'), 'the primary has its SQLite writer (the probe sees what is loaded)');
  t.same(present(primary, [...SERVING_STACK, ...ONLY_SOME_SETTINGS]), [], 'the primary: no Fastify, ws, pg, ioredis, prom-client, swagger');
  for (const { pid } of ready.workers) {
    const worker = await loaded(dir, pid);
    t.ok(worker.includes('fastify') && worker.includes('ws'), `worker ${pid} serves (fastify, ws)`);
    t.same(present(worker, ONLY_SOME_SETTINGS), [], `worker ${pid}: no pg, ioredis, prom-client, swagger`);
  }
});

t.test('WORKERS=1: swagger loads on the first request for /docs, and not before', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-modules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startApp('server', { WORKERS: '1', MODULE_PROBE_DIR: dir, NODE_OPTIONS: `--require ${PROBE}` });
  t.teardown(() => server.stop());
  const pid = server.proc.pid!;
  t.same(present(await loaded(dir, pid), ONLY_SOME_SETTINGS), [], 'idle: no pg, ioredis, prom-client, swagger');
  const doc = (await (await fetch(`http://127.0.0.1:${server.port}/docs/json`)).json()) as { openapi: string };
  t.equal(doc.openapi, '3.1.0', '/docs/json answers');
  rmSync(join(dir, `${pid}.json`));
  t.same(
    present(await loaded(dir, pid), ['@fastify/swagger', '@fastify/swagger-ui']),
    ['@fastify/swagger', '@fastify/swagger-ui'],
    'then swagger and its UI are loaded',
  );
});
