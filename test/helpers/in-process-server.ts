import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadServerConfig } from '../../apps/server/src/config.js';
import type { RunningNode } from '../../apps/server/src/run-node.js';
import { runSingleProcess } from '../../apps/server/src/run-single.js';
import { GENEROUS_LIMITS } from './spawn-app.js';

export interface InProcessServer extends RunningNode {
  /** ws://127.0.0.1:PORT */
  readonly base: string;
  readonly dataDir: string;
}

/**
 * Starts a single-process server (memory backend, SQLite storage) on port 0 in
 * this process, in a fresh data directory unless `env.DATA_DIR` names one (to
 * restart on the same data). The directory it made is removed on stop.
 */
export async function startInProcess(env: Record<string, string> = {}, clock?: () => number): Promise<InProcessServer> {
  const ownDir = env.DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'chorus-inproc-')) : null;
  const dataDir = env.DATA_DIR ?? ownDir!;
  const config = loadServerConfig({ PORT: '0', HOST: '127.0.0.1', WORKERS: '1', ...GENEROUS_LIMITS, ...env, DATA_DIR: dataDir });
  const running = await runSingleProcess(config, pino({ level: 'silent' }), clock);
  return {
    ...running,
    base: `ws://127.0.0.1:${running.port}`,
    dataDir,
    async stop() {
      await running.stop();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
