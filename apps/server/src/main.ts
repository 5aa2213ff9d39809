// First: it holds V8's young generation small while the other modules load.
import '@chorus/service-kit/start-small';
import cluster from 'node:cluster';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, envFileLogLine, letYoungGenerationGrow, loadEnvFile, type EnvFileResult } from '@chorus/service-kit';
import { loadServerConfig, type ServerConfig } from './config.js';
import { defaultWorkers } from './cpu-quota.js';
import { postToPrimary } from './cluster/ipc.js';
import { keepPrimaryYoungGenerationSmall } from './cluster/young-generation.js';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';
import { nodeName } from './node-name.js';
import { openConfiguredStorage } from './open-configured-storage.js';
import type { RunningNode } from './run-node.js';
import type { startMetricsServer } from './metrics/metrics-server.js';
import type { Storage } from './storage/storage.js';

// What only some roles or settings use is imported where it is used (`await import`): the primary
// never loads Fastify, ws or the hub; pg, ioredis and prom-client load only with DATABASE_URL,
// REDIS_URL and METRICS_PORT (docs/deploy.md, "Idle memory").

/**
 * The composition root: reads the configuration once and picks how this process
 * runs. WORKERS<=1: one process with the in-memory backend. Otherwise the
 * primary forks the workers and owns the shared state; each worker serves
 * sockets with the cluster backend. With REDIS_URL, Redis holds the shared
 * state instead, and each serving process (the single one, or each worker)
 * is a node of the service with the Redis backend.
 */
function main(): void {
  const envFile = loadEnvFile(process.cwd());
  let config: ServerConfig;
  try {
    config = loadServerConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`chorus server: ${err.message}\n`);
    process.exit(1);
  }

  if (cluster.isPrimary && config.WORKERS > 1) void runPrimary(config, envFile);
  else if (cluster.isWorker) void runWorker(config);
  else void runSingle(config, envFile);
}

/** Readable log lines when stdout is a person's terminal (cluster workers share the primary's). */
const TERMINAL = process.stdout.isTTY === true;

/** Says where the settings came from (the primary or the single process: once per server). */
function logEnvFile(log: Logger, envFile: EnvFileResult): void {
  const { fields, message } = envFileLogLine(envFile);
  log.info(fields, message);
}

/** Says how many serving processes this server runs, and why that many (once per server). */
function logWorkers(log: Logger, config: ServerConfig): void {
  const given = process.env.WORKERS !== undefined && process.env.WORKERS !== '';
  const reason = given ? `WORKERS=${process.env.WORKERS}` : defaultWorkers().reason;
  log.info({ workers: config.WORKERS, reason }, `${Math.max(1, config.WORKERS)} serving process(es): ${reason}`);
}

/**
 * Says why the process cannot start, once, plainly, on stderr, and exits (a
 * JSON copy of the same sentence on stdout made a terminal show it twice).
 */
function fail(err: unknown): never {
  process.stderr.write(`chorus server: ${(err as Error).message}\n`);
  process.exit(1);
}

async function runPrimary(config: ServerConfig, envFile: EnvFileResult): Promise<void> {
  keepPrimaryYoungGenerationSmall();
  const [{ Primary }, { MessageWriterService }] = await Promise.all([
    import('./cluster/primary.js'),
    import('./cluster/writer-service.js'),
  ]);
  const log = createLogger(config, { role: 'primary' }, TERMINAL);
  logEnvFile(log, envFile);
  logWorkers(log, config);
  let storage: Storage;
  try {
    storage = await openConfiguredStorage(config, { writesMessages: primaryWritesMessages(config), log });
  } catch (err) {
    fail(err);
  }
  // With Redis the workers are the service's nodes and Redis holds the rooms: the primary only forks.
  const rooms = config.REDIS_URL ? [] : await storage.loadRooms();
  // The primary's own share of the node's metrics: its process, and the commits of the machine's writer.
  const metricsKit = config.METRICS_PORT === undefined ? undefined : await import('./metrics/index.js');
  const metrics = metricsKit?.createNodeMetrics({ node: metricsKit.metricsNodeLabel(config) });
  const writerStorage =
    metricsKit && metrics
      ? {
          append: metricsKit.timedAppend(storage, metrics.commit),
          markSeen: storage.markSeen.bind(storage),
          saveReceiptCounts: storage.saveReceiptCounts.bind(storage),
          saveTextCursors: storage.saveTextCursors.bind(storage),
        }
      : storage;
  const writer = primaryWritesMessages(config)
    ? new MessageWriterService(writerStorage, { onError: (err) => log.error({ err }, 'message writer: a commit failed') })
    : undefined;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  if (metricsKit && metrics) {
    const gather = new metricsKit.ClusterGather(metrics.registry, () =>
      Object.values(cluster.workers ?? {}).filter((w) => w !== undefined),
    );
    cluster.on('message', (worker, raw) => gather.onWorkerMessage(worker, raw));
    cluster.on('exit', (worker) => gather.onWorkerExit(worker));
    metricsServer = await serveMetrics(config, log, () => gather.metrics());
  }
  const reaper = config.REDIS_URL ? new (await import('./backends/redis/dead-node-reaper.js')).DeadNodeReaper(config.REDIS_URL) : undefined;
  new Primary({
    workers: config.WORKERS,
    maxClients: config.MAX_CLIENTS,
    maxPerIp: config.MAX_CONNECTIONS_PER_IP,
    log,
    rooms,
    ...(config.REDIS_URL ? {} : { persistence: storage }),
    ...(writer ? { writer } : {}),
    ...(reaper ? { reapNode: (node: string) => reaper.reap(node) } : {}),
    onExit: async () => {
      await metricsServer?.app.close();
      reaper?.close();
      await writer?.close();
      await storage.close();
    },
  }).start();
}

/**
 * Whether the primary is the machine's only message writer (workers send it
 * their batches over IPC): yes for SQLite, where one file has one write lock
 * and better-sqlite3 waits for it synchronously, so a worker that found it
 * taken stalled its event loop in SQLite's busy handler (1, 2, 5, 10 ... ms
 * sleeps); one writer never waits for the lock, and groups both workers'
 * batches into one transaction. Not for PostgreSQL: its driver is
 * asynchronous (a worker waiting for a row lock keeps serving), the server
 * already groups concurrent commits into one WAL flush, concurrent appends
 * only contend on the counter row of a shared conversation, and with several
 * machines there is no single primary to funnel through anyway; the detour
 * would add two IPC hops and the primary's CPU to every message for nothing.
 * Rarer writes (accounts, sessions) stay in the workers on both engines.
 */
function primaryWritesMessages(config: ServerConfig): boolean {
  return !config.DATABASE_URL;
}

async function runSingle(config: ServerConfig, envFile: EnvFileResult): Promise<void> {
  const log = createLogger(config, { role: 'single' }, TERMINAL);
  logEnvFile(log, envFile);
  logWorkers(log, config);
  let running: RunningNode;
  try {
    const { runSingleProcess } = await import('./run-single.js');
    running = await runSingleProcess(config, log);
  } catch (err) {
    fail(err);
  }
  const metrics = running.metrics;
  if (metrics) {
    const server = await serveMetrics(config, log, async () => ({
      contentType: metrics.registry.contentType,
      body: await metrics.registry.metrics(),
    }));
    running = withCloseFirst(running, () => server.app.close());
  }
  log.info({ port: running.port, workers: 1 }, 'listening');
  letYoungGenerationGrow();
  stopOnSignal(running, log);
}

async function runWorker(config: ServerConfig): Promise<void> {
  const workerId = cluster.worker!.id;
  const log = createLogger(config, { role: 'worker', worker: workerId }, TERMINAL);
  const node = nodeName(`w${workerId}`);
  let running: RunningNode;
  try {
    const { runNode } = await import('./run-node.js');
    const storage = await openConfiguredStorage(config);
    // With Redis every worker is a node of the service on its own; otherwise the primary holds the state.
    const backend = withRedis(config)
      ? (await import('./backends/redis/from-config.js')).redisBackendFromConfig(config, { node, storage, log })
      : new (await import('./backends/cluster/cluster-backend.js')).ClusterBackend({
          meshPath: join(tmpdir(), `chorus-${process.ppid}-${workerId}.sock`),
          log,
        });
    // Reads stay here (WAL readers never wait for the writer).
    const writer = primaryWritesMessages(config) ? new (await import('./cluster/writer-client.js')).WriterClient() : undefined;
    running = await runNode(config, { backend, storage, node, log, ...(writer ? { writer } : {}) });
    if (withRedis(config)) postToPrimary({ ch: 'chorus', type: 'redis-node', node });
  } catch (err) {
    // The primary logs it once and stops the cluster, rather than restarting us forever.
    postToPrimary({ ch: 'chorus', type: 'fatal', message: (err as Error).message });
    process.exit(1);
  }
  if (running.metrics) (await import('./metrics/index.js')).answerMetricsRequests(running.metrics.registry);
  postToPrimary({ ch: 'chorus', type: 'listening', port: running.port });
  letYoungGenerationGrow();
  stopOnSignal(running, log);
}

/** Serves `render` on METRICS_PORT, or fails the start with one plain sentence. */
async function serveMetrics(
  config: ServerConfig,
  log: Logger,
  render: () => Promise<{ contentType: string; body: string }>,
): Promise<Awaited<ReturnType<typeof startMetricsServer>>> {
  try {
    const { startMetricsServer } = await import('./metrics/metrics-server.js');
    const server = await startMetricsServer({
      port: config.METRICS_PORT ?? 0,
      host: config.METRICS_HOST,
      token: config.METRICS_TOKEN,
      render,
    });
    log.info({ port: server.port, host: config.METRICS_HOST }, 'metrics listening');
    return server;
  } catch (err) {
    fail(new Error(`metrics: cannot listen on ${config.METRICS_HOST}:${config.METRICS_PORT}: ${(err as Error).message}`));
  }
}

/** `running`, whose stop first runs `first` (e.g. closes the metrics port). */
function withCloseFirst(running: RunningNode, first: () => Promise<unknown>): RunningNode {
  return {
    ...running,
    async stop() {
      await first().catch(() => {});
      await running.stop();
    },
  };
}

function withRedis(config: ServerConfig): config is ServerConfig & { readonly REDIS_URL: string } {
  return config.REDIS_URL !== undefined;
}

/** How long a graceful stop may take (a worker's primary kills it sooner, after 10 s). */
const STOP_DEADLINE_MS = 15_000;

function stopOnSignal(running: RunningNode, log: Logger): void {
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    // A stop that hangs (a socket that never drains, storage that never closes) must not keep the process alive.
    setTimeout(() => {
      log.error('stop did not finish in time; exiting anyway');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
