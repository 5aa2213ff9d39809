import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { Directory } from '../hub/directory.js';
import { type DirectoryChange, parseIpc, type PrimaryMessage, WorkerMessage } from './ipc.js';

type OutMessage = PrimaryMessage extends infer M ? (M extends { ch: 'chorus' } ? Omit<M, 'ch'> : never) : never;

export interface PrimaryOptions {
  readonly workers: number;
  readonly maxClients: number;
  readonly log: Logger;
}

/**
 * The cluster's primary: forks the workers, replaces any that die, and owns the
 * shared state (admission semaphore and presence). It is not on the message
 * path: workers route chat traffic to each other over the mesh and only ask the
 * primary to admit, release and locate clients. Directory changes reach every
 * worker in one order, batched per event-loop turn, and always before the reply
 * to the request that caused them.
 */
export class Primary {
  readonly #options: PrimaryOptions;
  readonly #log: Logger;
  readonly #directory: Directory<number>;
  /** Mesh socket path of each worker that said hello. */
  readonly #meshPaths = new Map<number, string>();
  #changes: DirectoryChange[] = [];
  #flushScheduled = false;
  /** Workers that have reported listening; the cluster is up once all of the first ones have. */
  readonly #listeningWorkers = new Set<number>();
  #listening = false;
  #shuttingDown = false;
  #recentCrashes = 0;
  #exitCode = 0;

  constructor(options: PrimaryOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#directory = new Directory(options.maxClients);
  }

  start(): void {
    cluster.on('message', (worker, raw) => {
      const message = parseIpc(WorkerMessage, raw);
      if (message) this.#onMessage(worker, message);
    });
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
    for (let i = 0; i < this.#options.workers; i++) cluster.fork();
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => this.shutdown(0));
  }

  /** Stops every worker (they close their sockets with 1001), then exits. */
  shutdown(exitCode: number): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#exitCode = exitCode;
    this.#log.info({ exitCode }, 'shutting down');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(exitCode);
    for (const worker of workers) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
    }, 10_000).unref();
  }

  #onMessage(worker: Worker, message: WorkerMessage): void {
    switch (message.type) {
      case 'hello':
        return this.#hello(worker, message.meshPath);
      case 'listening':
        return this.#workerListening(worker, message.port);
      case 'fatal':
        this.#log.fatal({ worker: worker.id }, message.message);
        return this.shutdown(1);
      case 'request':
        return this.#request(worker, message.rid, message.op, message.clientId);
    }
  }

  #hello(worker: Worker, meshPath: string): void {
    this.#flush();
    const peers = [...this.#meshPaths].map(([id, path]) => ({ id, meshPath: path }));
    this.#send(worker, {
      type: 'init',
      workerId: worker.id,
      peers,
      directory: [...this.#directory.entries()],
    });
    for (const id of this.#meshPaths.keys()) this.#sendTo(id, { type: 'peer-up', id: worker.id, meshPath });
    this.#meshPaths.set(worker.id, meshPath);
  }

  #workerListening(worker: Worker, port: number): void {
    this.#recentCrashes = 0;
    this.#listeningWorkers.add(worker.id);
    if (!this.#listening) {
      if (this.#listeningWorkers.size < this.#options.workers) return;
      this.#listening = true;
      this.#log.info({ port, workers: this.#listeningWorkers.size }, 'listening');
    } else {
      this.#log.info({ worker: worker.id, pid: worker.process.pid }, 'worker replaced');
    }
  }

  #request(worker: Worker, rid: number, op: string, clientId: string | undefined): void {
    let value: unknown = null;
    if (op === 'stats') {
      value = {
        clients: this.#directory.size,
        maxClients: this.#directory.maxClients,
        workers: [...this.#meshPaths.keys()].map((id) => ({
          id,
          pid: cluster.workers?.[id]?.process.pid ?? 0,
          clients: this.#directory.countOn(id),
        })),
      };
    } else if (clientId !== undefined) {
      if (op === 'admit') {
        value = this.#directory.admit(clientId, worker.id);
        if (value === 'admitted') this.#queue([clientId, worker.id, false]);
      } else if (op === 'release') {
        if (this.#directory.release(clientId, worker.id)) this.#queue([clientId, null, false]);
      } else if (op === 'locate') {
        value = this.#directory.locate(clientId) ?? null;
      }
    }
    // Changes first, so the requester's replica already holds what the reply implies.
    this.#flush();
    this.#send(worker, { type: 'reply', rid, value });
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.#meshPaths.delete(worker.id);
    this.#listeningWorkers.delete(worker.id);
    const freed = this.#directory.releaseNode(worker.id);
    for (const clientId of freed) this.#queue([clientId, null, true]);
    this.#flush();
    for (const id of this.#meshPaths.keys()) this.#sendTo(id, { type: 'peer-down', id: worker.id });
    if (this.#shuttingDown) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(this.#exitCode);
      return;
    }
    this.#log.warn({ worker: worker.id, code, signal, released: freed.length }, 'worker died; replacing it');
    // Back off when workers die right after starting (a crash loop), not on the first death.
    const delay = Math.min(30_000, this.#recentCrashes === 0 ? 0 : 100 * 2 ** this.#recentCrashes);
    this.#recentCrashes++;
    setTimeout(() => {
      if (!this.#shuttingDown) cluster.fork();
    }, delay);
  }

  #queue(change: DirectoryChange): void {
    this.#changes.push(change);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#changes.length === 0) return;
    const changes = this.#changes;
    this.#changes = [];
    for (const id of this.#meshPaths.keys()) this.#sendTo(id, { type: 'directory', changes });
  }

  #sendTo(workerId: number, message: OutMessage): void {
    const worker = cluster.workers?.[workerId];
    if (worker) this.#send(worker, message);
  }

  #send(worker: Worker, message: OutMessage): void {
    if (worker.isConnected()) worker.send({ ch: 'chorus', ...message });
  }
}
