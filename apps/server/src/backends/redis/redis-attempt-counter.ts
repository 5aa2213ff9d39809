import type { Redis } from 'ioredis';
import type { AttemptCounter } from '../../accounts/attempt-counter.js';

/** ARGV: key, max, windowMs. 0 when counted; else the ms left in the window. */
const TAKE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then return math.max(1, redis.call('PTTL', KEYS[1])) end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

const UNDO = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 0
`;

/**
 * Attempt counts in Redis, so that sign-in and sign-up limits add up over every
 * node and worker: a key per counted thing, expiring with its window (Redis's
 * clock). If Redis cannot be reached the attempt is let through uncounted:
 * refusing every sign-in while Redis is away would turn an outage of the
 * shared state into one of accounts.
 */
export class RedisAttemptCounter implements AttemptCounter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #max: number;
  readonly #windowMs: number;

  constructor(redis: Redis, options: { name: string; max: number; windowMs: number; prefix?: string }) {
    this.#redis = redis;
    this.#prefix = `${options.prefix ?? 'chorus:'}attempts:${options.name}:`;
    this.#max = options.max;
    this.#windowMs = options.windowMs;
  }

  async take(key: string): Promise<number> {
    try {
      return Number(await this.#redis.eval(TAKE, 1, this.#prefix + key, this.#max, this.#windowMs));
    } catch {
      return 0;
    }
  }

  async undo(key: string): Promise<void> {
    await this.#redis.eval(UNDO, 1, this.#prefix + key).catch(() => {});
  }

  async reset(key: string): Promise<void> {
    await this.#redis.del(this.#prefix + key).catch(() => {});
  }
}
