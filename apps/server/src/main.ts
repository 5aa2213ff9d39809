import cluster from 'node:cluster';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadEnvFile } from '@chorus/service-kit';
import { loadServerConfig, type ServerConfig } from './config.js';
import { ClusterBackend } from './cluster/cluster-backend.js';
import { Primary } from './cluster/primary.js';
import { MemoryBackend, MemoryBus } from './hub/memory-backend.js';
import { createLogger } from './logger.js';
import { nodeName } from './node-name.js';
import { runNode, type RunningNode } from './run-node.js';

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

  if (cluster.isPrimary && config.WORKERS > 1) {
    new Primary({ workers: config.WORKERS, maxClients: config.MAX_CLIENTS, log: createLogger(config, { role: 'primary' }) }).start();
  } else if (cluster.isWorker) {
    void runWorker(config);
  } else {
    void runSingle(config);
  }
}

async function runSingle(config: ServerConfig): Promise<void> {
  const log = createLogger(config, { role: 'single' });
  const node = nodeName('s');
  let running: RunningNode;
  try {
    running = await runNode(config, new MemoryBackend(new MemoryBus(config.MAX_CLIENTS), node), node, log);
  } catch (err) {
    process.stderr.write(`chorus server: ${(err as Error).message}\n`);
    log.fatal((err as Error).message);
    process.exit(1);
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
    running = await runNode(config, backend, nodeName(`w${workerId}`), log);
  } catch (err) {
    // The primary logs it once and stops the cluster, rather than restarting us forever.
    backend.announceFatal((err as Error).message);
    process.exit(1);
  }
  backend.announceListening(running.port);
  stopOnSignal(running, log);
}

function stopOnSignal(running: RunningNode, log: ReturnType<typeof createLogger>): void {
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
