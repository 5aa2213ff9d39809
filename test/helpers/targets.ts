import type { Test } from 'tap';
import { startInProcess } from './in-process-server.js';
import { createDatabase } from './postgres-database.js';
import { startRedis } from './redis-server.js';
import { startApp } from './spawn-app.js';

/** A running chat server a suite can talk to, however it was started. */
export interface ServerTarget {
  readonly base: string;
  stop(): Promise<unknown>;
}

/**
 * The ways the server runs: one process; a real two-worker cluster started as
 * a user would; and two nodes of a several-nodes service (a cluster whose two
 * workers are each a node, sharing a private redis-server and a fresh
 * PostgreSQL database), where every cross-worker frame goes through Redis.
 */
export const TARGETS: Record<string, (env?: Record<string, string>) => Promise<ServerTarget>> = {
  'single process': async (env = {}) => startInProcess(env),
  'cluster, 2 workers': async (env = {}) => {
    const app = await startApp('server', { WORKERS: '2', ...env });
    return { base: `ws://127.0.0.1:${app.port}`, stop: () => app.stop() };
  },
  'several nodes (Redis, PostgreSQL), 2 workers': async (env = {}) => {
    const redis = await startRedis();
    const database = await createDatabase();
    try {
      const app = await startApp('server', { WORKERS: '2', REDIS_URL: redis.url, DATABASE_URL: database.url, ...env });
      return {
        base: `ws://127.0.0.1:${app.port}`,
        stop: async () => {
          await app.stop();
          await redis.stop();
          await database.drop();
        },
      };
    } catch (err) {
      await redis.stop();
      await database.drop();
      throw err;
    }
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
