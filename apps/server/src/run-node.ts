import { openAttachments } from './files/open-files.js';
import { fileAwareLog } from './files/file-aware-log.js';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { RedisAttemptCounter as RedisAttemptCounterClass } from './backends/redis/redis-attempt-counter.js';
import type { Logger } from 'pino';
import { explainListenError, listenOnce } from '@chorus/service-kit';
import { accountsFromConfig } from './accounts/index.js';
import { build } from './app.js';
import type { ServerConfig } from './config.js';
import type { HubBackend } from './hub/backend.js';
import { Hub } from './hub/hub.js';
import { GroupCommitWriter } from './storage/group-commit.js';
import type { Storage } from './storage/storage.js';
import { StoredMessageLog, type MessageWriter, type SideWriter } from './stored-message-log.js';
import type { NodeMetrics } from './metrics/node-metrics.js';
export { openConfiguredStorage } from './open-configured-storage.js';

/** How long an upgrade or a sign-in waits for its count in Redis before it is let through uncounted. */
const SHARED_COUNT_TIMEOUT_MS = 500;

export interface RunningNode {
  readonly app: FastifyInstance;
  readonly hub: Hub;
  readonly port: number;
  /** This process's metrics, when METRICS_PORT is set (the caller serves them, or its primary gathers them). */
  readonly metrics: NodeMetrics | undefined;
  /** Closes sockets (1001), the HTTP server, the backend, then writes what is pending and closes storage. */
  stop(): Promise<void>;
}

/**
 * Starts one serving process (a worker, or the whole server with WORKERS<=1):
 * connects the backend, builds the app on `storage` and listens. A listen
 * failure is thrown as one plain sentence when it is a known case. The node owns
 * `storage` from here on and closes it on stop.
 */
export async function runNode(
  config: ServerConfig,
  deps: {
    backend: HubBackend;
    storage: Storage;
    node: string;
    log: Logger;
    clock?: () => number;
    /**
     * Where messages, seen marks, receipt counts and text cursors are written,
     * when not through this process's own storage: the primary's single
     * writer (a worker on SQLite).
     */
    writer?: MessageWriter & SideWriter;
  },
): Promise<RunningNode> {
  const { backend, storage, node, log, writer } = deps;
  const onError = (what: string, err: unknown) => log.warn({ err }, `storage: could not write ${what}`);
  let connections = () => 0;
  // prom-client is loaded only when metrics are served (METRICS_PORT).
  const metricsKit = config.METRICS_PORT === undefined ? undefined : await import('./metrics/index.js');
  const metrics = metricsKit?.createNodeMetrics({ node: metricsKit.metricsNodeLabel(config), connections: () => connections() });
  const appends = metricsKit && metrics ? { append: metricsKit.timedAppend(storage, metrics.commit) } : storage;
  const messages = writer
    ? new StoredMessageLog(storage, writer, writer, { onError })
    : new StoredMessageLog(storage, new GroupCommitWriter(appends), storage, { onError });
  const files = await openAttachments(config, {
    ...(deps.clock ? { clock: deps.clock } : {}),
    onError: (what, err) => log.warn({ err }, `files: could not delete ${what}`),
  });
  const hub = new Hub({
    backend,
    messages: fileAwareLog(messages, files.attachments),
    files: files.attachments,
    node,
    log,
    rate: { perSecond: config.MESSAGE_RATE, burst: config.MESSAGE_BURST },
    ...(metrics ? { metrics: metrics.hub } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const closeAll = async () => {
    await backend.close().catch(() => {});
    await messages.flush().catch(() => {});
    await files.close().catch(() => {});
    await storage.close().catch(() => {});
  };
  connections = () => hub.size;
  await hub.start();
  // Several nodes: the per-address counts (upgrades, sign-in and sign-up attempts) live in Redis, on a
  // connection of their own. A silent path to Redis (a partition) must not hold them: a count that does
  // not come back in time is skipped. ioredis is loaded only then.
  const sharedCounters = config.REDIS_URL ? await sharedCountsConnection(config.REDIS_URL) : undefined;
  const accounts = accountsFromConfig(config, storage, {
    clock: deps.clock,
    onBackgroundError: (err) => log.warn({ err }, 'accounts: background task failed'),
    ...(sharedCounters
      ? {
          attemptCounter: (name: string, max: number, windowMs: number) =>
            new sharedCounters.RedisAttemptCounter(sharedCounters.redis, { name, max, windowMs }),
        }
      : {}),
  });
  const app = await build(config, {
    hub,
    node,
    log,
    stats: () => backend.stats(),
    accounts,
    ...(sharedCounters ? { sharedCounters: sharedCounters.redis } : {}),
    attachments: files.attachments,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  app.addHook('onClose', async () => sharedCounters?.redis.disconnect());
  let port: number;
  try {
    port = await listenOnce(app, { port: config.PORT, host: config.HOST });
  } catch (err) {
    await closeAll();
    throw new Error(explainListenError(err, config.PORT) ?? (err as Error).message, { cause: err });
  }
  return {
    app,
    hub,
    port,
    metrics,
    async stop() {
      await app.close();
      await closeAll();
    },
  };
}

/** The Redis connection of the per-address counts, and the counter class over it (both loaded on demand). */
async function sharedCountsConnection(url: string): Promise<{ redis: Redis; RedisAttemptCounter: typeof RedisAttemptCounterClass }> {
  const [{ Redis }, { RedisAttemptCounter }] = await Promise.all([import('ioredis'), import('./backends/redis/redis-attempt-counter.js')]);
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: SHARED_COUNT_TIMEOUT_MS });
  redis.on('error', () => {});
  return { redis, RedisAttemptCounter };
}
