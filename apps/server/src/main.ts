import cluster from 'node:cluster';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadEnvFile } from '@chorus/service-kit';
import { loadServerConfig, type ServerConfig } from './config.js';
import { ClusterBackend } from './cluster/cluster-backend.js';
import { Primary } from './cluster/primary.js';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';
import { nodeName } from './node-name.js';
import { openConfiguredStorage, runNode, type RunningNode } from './run-node.js';
import { runSingleProcess } from './run-single.js';
import type { Storage } from './storage/index.js';

/**
 * The composition root: reads the configuration once and picks how this process
 * runs. WORKERS<=1: one process with the in-memory backend. Otherwise the
 * primary forks the workers and owns the shared state; each worker serves
 * sockets with the cluster backend.
 */
function main(): void {
  loadEnvFile(process.cwd());
  let config: ServerConfig;
  try {
    config = loadServerConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`chorus server: ${err.message}\n`);
    process.exit(1);
  }

  if (cluster.isPrimary && config.WORKERS > 1) void runPrimary(config);
  else if (cluster.isWorker) void runWorker(config);
  else void runSingle(config);
}

/** Says why the process cannot start, once, plainly, and exits. */
function fail(log: Logger, err: unknown): never {
  process.stderr.write(`chorus server: ${(err as Error).message}\n`);
  log.fatal((err as Error).message);
  process.exit(1);
}

async function runPrimary(config: ServerConfig): Promise<void> {
  const log = createLogger(config, { role: 'primary' });
  let storage: Storage;
  try {
    storage = await openConfiguredStorage(config);
  } catch (err) {
    fail(log, err);
  }
  const rooms = await storage.loadRooms();
  new Primary({
    workers: config.WORKERS,
    maxClients: config.MAX_CLIENTS,
    maxPerIp: config.MAX_CONNECTIONS_PER_IP,
    log,
    rooms,
    persistence: storage,
    onExit: () => storage.close(),
  }).start();
}

async function runSingle(config: ServerConfig): Promise<void> {
  const log = createLogger(config, { role: 'single' });
  let running: RunningNode;
  try {
    running = await runSingleProcess(config, log);
  } catch (err) {
    fail(log, err);
  }
  log.info({ port: running.port, workers: 1 }, 'listening');
  stopOnSignal(running, log);
}

async function runWorker(config: ServerConfig): Promise<void> {
  const workerId = cluster.worker!.id;
  const log = createLogger(config, { role: 'worker', worker: workerId });
  const backend = new ClusterBackend({ meshPath: join(tmpdir(), `chorus-${process.ppid}-${workerId}.sock`), log });
  let running: RunningNode;
  try {
    const storage = await openConfiguredStorage(config);
    running = await runNode(config, { backend, storage, node: nodeName(`w${workerId}`), log });
  } catch (err) {
    // The primary logs it once and stops the cluster, rather than restarting us forever.
    backend.announceFatal((err as Error).message);
    process.exit(1);
  }
  backend.announceListening(running.port);
  stopOnSignal(running, log);
}

function stopOnSignal(running: RunningNode, log: Logger): void {
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
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
