import type { ServerConfig } from '../../config.js';
import type { Storage } from '../../storage/index.js';
import { RedisBackend } from './redis-backend.js';

/** The Redis backend of one serving process (a worker, or a single process), from the validated config. */
export function redisBackendFromConfig(
  config: ServerConfig & { readonly REDIS_URL: string },
  deps: { node: string; storage: Storage; log: RedisBackendLog },
): RedisBackend {
  return new RedisBackend({
    url: config.REDIS_URL,
    node: deps.node,
    maxClients: config.MAX_CLIENTS,
    maxPerIp: config.MAX_CONNECTIONS_PER_IP,
    leaseMs: config.NODE_LEASE_MS,
    rooms: deps.storage,
    log: deps.log,
  });
}

type RedisBackendLog = ConstructorParameters<typeof RedisBackend>[0]['log'];
