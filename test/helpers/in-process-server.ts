import { pino } from 'pino';
import { loadServerConfig } from '../../apps/server/src/config.js';
import { MemoryBackend, MemoryBus } from '../../apps/server/src/hub/memory-backend.js';
import { runNode, type RunningNode } from '../../apps/server/src/run-node.js';

export interface InProcessServer extends RunningNode {
  /** ws://127.0.0.1:PORT */
  readonly base: string;
}

/** Starts a single-process server (memory backend) on port 0 in this process. */
export async function startInProcess(env: Record<string, string> = {}, clock?: () => number): Promise<InProcessServer> {
  const config = loadServerConfig({ PORT: '0', HOST: '127.0.0.1', WORKERS: '1', ...env });
  const backend = new MemoryBackend(new MemoryBus(config.MAX_CLIENTS), 'test');
  const running = await runNode(config, backend, 'test', pino({ level: 'silent' }), clock);
  return { ...running, base: `ws://127.0.0.1:${running.port}` };
}
