import type { Test } from 'tap';
import { startInProcess } from './in-process-server.js';
import { startApp } from './spawn-app.js';

/** A running chat server a suite can talk to, however it was started. */
export interface ServerTarget {
  readonly base: string;
  stop(): Promise<unknown>;
}

/** The two ways the server runs: one process, and a real two-worker cluster started as a user would. */
export const TARGETS: Record<string, (env?: Record<string, string>) => Promise<ServerTarget>> = {
  'single process': async (env = {}) => startInProcess(env),
  'cluster, 2 workers': async (env = {}) => {
    const app = await startApp('server', { WORKERS: '2', ...env });
    return { base: `ws://127.0.0.1:${app.port}`, stop: () => app.stop() };
  },
};

/** Runs `suite` once per target, each with its own fresh server. */
export function forEachTarget(t: Test, env: Record<string, string>, suite: (t: Test, server: ServerTarget) => Promise<void>): void {
  for (const [name, start] of Object.entries(TARGETS)) {
    t.test(name, async (t) => {
      const server = await start(env);
      t.teardown(() => server.stop());
      await suite(t, server);
    });
  }
}
