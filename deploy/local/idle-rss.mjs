// Idle memory of each process, as docs/deploy.md reports it ("Idle memory"): starts, one after the
// other, the chat server with WORKERS=1 and WORKERS=2 (SQLite in a temporary DATA_DIR, production
// settings from the environment only), the client app, and a plain `ws` server for reference, each
// on 127.0.0.1 and a free port; waits until it answers (the server's /ready lists every worker);
// then samples VmRSS (/proc/PID/status) of every process of it for SETTLE_MS and prints the last
// sample, in MB (10^6 bytes). Every process it starts is stopped by its PID.
//   node deploy/local/idle-rss.mjs [--json]      (env: SETTLE_MS=3000, RUNS=3: the median of RUNS starts)
// With REDIS_URL and DATABASE_URL set (a Redis and an empty PostgreSQL database of your own), it also
// measures the server of several nodes: WORKERS=2 on them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 3000);
const RUNS = Number(process.env.RUNS ?? 3);
const SECRET = 'idle-rss-measurement-secret-0123456789abcdef';

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const rssMb = (pid) => {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Math.round((kb * 1024) / 1e5) / 10;
  } catch {
    return Number.NaN;
  }
};
const children = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

async function until(what, check, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what}: not ready in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SYSTEMS = {
  'server WORKERS=1': { args: ['apps/server/dist/main.js'], env: { WORKERS: '1' }, workers: 0 },
  'server WORKERS=2': { args: ['apps/server/dist/main.js'], env: { WORKERS: '2' }, workers: 2 },
  ...(process.env.REDIS_URL && process.env.DATABASE_URL
    ? {
        'server WORKERS=2, Redis + PostgreSQL': {
          args: ['apps/server/dist/main.js'],
          env: { WORKERS: '2', REDIS_URL: process.env.REDIS_URL, DATABASE_URL: process.env.DATABASE_URL },
          workers: 2,
        },
      }
    : {}),
  'client app': { args: ['apps/client/dist/main.js'], env: { SERVER: 'wss://chat-server.example.com' }, workers: 0 },
  'plain ws': {
    args: [
      '--input-type=module',
      '-e',
      "import { WebSocketServer } from 'ws'; new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT) }).on('listening', () => console.log('listening'));",
    ],
    env: {},
    workers: 0,
    cwd: join(ROOT, 'apps/server'),
  },
};

async function measure(name) {
  const system = SYSTEMS[name];
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-idle-rss-'));
  const child = spawn(process.execPath, system.args, {
    cwd: system.cwd ?? ROOT,
    env: {
      PATH: process.env.PATH,
      ENVIRONMENT: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      AUTH_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      ...system.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  try {
    if (name === 'plain ws') await until(name, async () => out.includes('listening'));
    else if (system.workers > 0) {
      // /ready lists the cluster's workers; with Redis each worker is a node and lists itself only.
      const seen = new Set();
      await until(name, async () => {
        const r = await fetch(`http://127.0.0.1:${port}/ready`, { headers: { connection: 'close' } });
        for (const w of r.ok ? ((await r.json()).workers ?? []) : []) seen.add(w.pid);
        return seen.size === system.workers;
      });
    } else await until(name, async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok);
    let sample = {};
    const end = Date.now() + SETTLE_MS;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      const workers = children(child.pid);
      sample = { primary: rssMb(child.pid), workers: workers.map(rssMb) };
    }
    return sample;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const name of Object.keys(SYSTEMS)) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(name));
  const primary = median(runs.map((r) => r.primary));
  const workers = runs[0].workers.map((_, i) => median(runs.map((r) => r.workers[i])));
  results[name] = { primary, workers, total: Math.round((primary + workers.reduce((a, b) => a + b, 0)) * 10) / 10 };
}
if (process.argv.includes('--json')) console.log(JSON.stringify(results));
else {
  for (const [name, r] of Object.entries(results)) {
    const parts = r.workers.length
      ? `primary ${r.primary} MB, workers ${r.workers.join(' MB, ')} MB, total ${r.total} MB`
      : `${r.primary} MB`;
    console.log(`${name}: ${parts}`);
  }
}
