import { Redis } from 'ioredis';
import { DROP_DEAD_NODE } from './scripts.js';

/**
 * The primary's side of the Redis backend: when a worker dies, its node's
 * permits and presence are released at once (the others see its clients
 * leave now, not when its lease runs out). Best effort: if Redis cannot be
 * reached, the lease still expires.
 */
export class DeadNodeReaper {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(url: string, prefix = 'chorus:') {
    this.#prefix = prefix;
    this.#redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 });
    this.#redis.on('error', () => {});
  }

  /** Releases everything `node` held; resolves with how many clients that was (0 if Redis could not be reached). */
  async reap(node: string): Promise<number> {
    try {
      return Number(await this.#redis.eval(DROP_DEAD_NODE, 0, this.#prefix, node));
    } catch {
      return 0;
    }
  }

  close(): void {
    this.#redis.disconnect();
  }
}
