import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Abuse limits high enough for tests that send bursts on purpose; the tests of
 * the limits themselves set their own values.
 */
export const GENEROUS_LIMITS = {
  MESSAGE_RATE: '100000',
  MESSAGE_BURST: '100000',
  MAX_CONNECTIONS_PER_IP: '100000',
  UPGRADES_PER_MINUTE_PER_IP: '100000',
  AUTH_REGISTRATIONS_PER_IP: '100000',
  AUTH_FAILURES_PER_IP: '100000',
} as const;

/** The built entry point of each deployable (npm test builds before it runs). */
const ENTRIES = {
  server: 'apps/server/dist/main.js',
  client: 'apps/client/dist/main.js',
} as const;

export interface RunningApp {
  readonly port: number;
  readonly proc: ChildProcess;
  /** Every JSON log line the app has printed so far. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * How long an app may take to log `listening`: a safety net, not a wait. A
 * two-worker cluster needs about 2.4 s of CPU to start (1.5 s on a quiet
 * machine), but on this shared host, with the host taking 0.8 of the 2 cores
 * (steal) during a CI run, it took 41-55 s, and 60 s was not always enough.
 */
const STARTUP_TIMEOUT_MS = 120_000;

/**
 * Starts a deployable as a user would (`node apps/X/dist/main.js`) with PORT=0
 * and resolves once it logs `listening`, with the port it bound. Its stdout is
 * a pipe, so it logs JSON lines.
 */
export function startApp(app: keyof typeof ENTRIES, env: Record<string, string> = {}, options: { cwd?: string } = {}): Promise<RunningApp> {
  // Each server gets its own data directory unless the test shares one on purpose (restarts).
  const ownDataDir = env.DATA_DIR === undefined && env.DATABASE_URL === undefined ? mkdtempSync(join(tmpdir(), 'chorus-data-')) : null;
  // `cwd`: where the app looks for its .env files (default the repository root).
  const proc = spawn(process.execPath, [join(ROOT, ENTRIES[app])], {
    cwd: options.cwd ?? ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ENVIRONMENT: 'development',
      ...(app === 'server' ? GENEROUS_LIMITS : {}),
      ...(ownDataDir ? { DATA_DIR: ownDataDir } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // If the test process ends without stopping it (a timeout, a crash), the app goes too.
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>();
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: proc.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    logs.push(line);
    for (const w of waiters) {
      if (!w.match(line)) continue;
      waiters.delete(w);
      w.resolve(line);
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      process.off('exit', killOnExit);
      if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
      resolve(code);
    }),
  );

  function waitForLog(match: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`${app}: no matching log line within ${timeoutMs} ms\nstderr: ${stderr}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (l: Record<string, unknown>) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      waiters.add(waiter);
      void exited.then((code) => {
        if (!waiters.has(waiter)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`${app} exited with ${code} before the expected log line\nstderr: ${stderr}`));
      });
    });
  }

  // A loaded machine (CI, parallel test files) can take a while to start two
  // workers; an app that never gets there is killed, so that its pipes do not
  // keep the test process alive until tap's own timeout.
  const started = waitForLog((l) => l.msg === 'listening', STARTUP_TIMEOUT_MS).catch(async (error: unknown) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    throw error;
  });
  return started.then((line) => ({
    port: Number(line.port),
    proc,
    logs,
    waitForLog,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  }));
}

/** A cluster worker as the server's /ready reports it. */
export interface ReadyWorker {
  readonly id: number;
  readonly pid: number;
  readonly clients: number;
}

/**
 * SIGKILLs the worker of a running cluster that holds the most clients and
 * resolves, with what /ready said of it, once the primary has replaced it.
 */
export async function killBusiestWorker(server: RunningApp): Promise<ReadyWorker> {
  const ready = (await (await fetch(`http://127.0.0.1:${server.port}/ready`)).json()) as { workers: ReadyWorker[] };
  const victim = ready.workers.reduce((a, b) => (a.clients >= b.clients ? a : b));
  process.kill(victim.pid, 'SIGKILL');
  await server.waitForLog((l) => l.msg === 'worker replaced');
  return victim;
}
