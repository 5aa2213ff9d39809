import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { MemoryBackend, MemoryBus } from './backends/memory/memory-backend.js';
import { nodeName } from './node-name.js';
import { openConfiguredStorage } from './open-configured-storage.js';
import { runNode, type RunningNode } from './run-node.js';

/**
 * The whole server in one process (WORKERS<=1): the in-memory backend, with
 * rooms loaded from storage and kept there; with REDIS_URL, one node of a
 * service whose shared state is in Redis.
 */
export async function runSingleProcess(config: ServerConfig, log: Logger, clock?: () => number): Promise<RunningNode> {
  const storage = await openConfiguredStorage(config, { writesMessages: true, log });
  if (config.REDIS_URL !== undefined) {
    const node = nodeName('n');
    // ioredis is loaded only here.
    const { redisBackendFromConfig } = await import('./backends/redis/from-config.js');
    const backend = redisBackendFromConfig({ ...config, REDIS_URL: config.REDIS_URL }, { node, storage, log });
    return runNode(config, { backend, storage, node, log, ...(clock ? { clock } : {}) });
  }
  const bus = new MemoryBus(config.MAX_CLIENTS, {
    rooms: await storage.loadRooms(),
    persistence: storage,
    maxPerIp: config.MAX_CONNECTIONS_PER_IP,
  });
  const node = nodeName('s');
  return runNode(config, { backend: new MemoryBackend(bus, node), storage, node, log, ...(clock ? { clock } : {}) });
}
