import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { RoomPersistence } from '../hub/room-persistence.js';
import type { StoredRoom } from '../storage/storage.js';
import { ClusterState, type ToWorker } from './cluster-state.js';
import { parseIpc, WorkerMessage } from './ipc.js';
import type { MessageWriterService, WriterPeer } from './writer-service.js';
import { workerExecArgv } from './young-generation.js';

/** How long workers get to close their sockets and flush before they are killed. */
const WORKER_STOP_GRACE_MS = 10_000;
/** How long the whole shutdown may take: the workers' grace, then closing the writer and storage. */
const SHUTDOWN_DEADLINE_MS = 20_000;

export interface PrimaryOptions {
  readonly workers: number;
  readonly maxClients: number;
  readonly maxPerIp: number;
  readonly log: Logger;
  /** Rooms loaded from storage, and where later changes go. */
  readonly rooms?: readonly StoredRoom[];
  readonly persistence?: RoomPersistence;
  /**
   * The machine's single message writer, when the primary owns the write
   * path (SQLite): workers' append requests go to it. The primary keeps
   * answering them until the last worker has exited (workers flush before
   * they exit); `onExit` closes it.
   */
  readonly writer?: MessageWriterService;
  /** Runs once every worker has exited, before the primary exits (e.g. closes the writer, then storage). */
  readonly onExit?: () => Promise<void>;
  /** With Redis: releases a dead worker's node at once (each worker is a node of the service). */
  readonly reapNode?: (node: string) => Promise<number>;
}

/**
 * The cluster's primary process: forks the workers, replaces any that die, and
 * holds the shared state (ClusterState). It is not on the message path: workers
 * route chat traffic to each other over the mesh and only ask the primary to
 * admit, release and locate clients.
 */
export class Primary {
  readonly #options: PrimaryOptions;
  readonly #log: Logger;
  readonly #state: ClusterState;
  /** Workers that have reported listening; the cluster is up once all of the first ones have. */
  readonly #listeningWorkers = new Set<number>();
  #listening = false;
  #shuttingDown = false;
  #recentCrashes = 0;
  #exitCode = 0;
  /**
   * Workers whose process has not exited. Node's own cluster.workers is no
   * guide at 'exit': it keeps a worker until both its exit and its IPC
   * disconnect have been seen, and the two can arrive in either order.
   */
  readonly #alive = new Set<Worker>();
  /** With Redis: the node name each worker announced. */
  readonly #nodes = new Map<number, string>();

  constructor(options: PrimaryOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#state = new ClusterState(options.maxClients, (id, message) => this.#send(id, message), {
      ...(options.rooms ? { rooms: options.rooms } : {}),
      ...(options.persistence ? { persistence: options.persistence } : {}),
      onError: (err) => this.#log.error({ err }, 'could not save a room change'),
      maxPerIp: options.maxPerIp,
    });
  }

  start(): void {
    cluster.setupPrimary({ execArgv: workerExecArgv() });
    const writer = this.#options.writer;
    cluster.on('message', (worker, raw) => {
      if (writer?.receive(this.#peer(worker), raw)) return;
      const message = parseIpc(WorkerMessage, raw);
      if (message) this.#onMessage(worker, message);
    });
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
    for (let i = 0; i < this.#options.workers; i++) this.#fork();
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => this.shutdown(0));
  }

  /** Stops every worker (they close their sockets with 1001), then exits. */
  shutdown(exitCode: number): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#exitCode = exitCode;
    this.#log.info({ exitCode }, 'shutting down');
    const workers = [...this.#alive];
    if (workers.length === 0) this.#exit();
    for (const worker of workers) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
    }, WORKER_STOP_GRACE_MS).unref();
    // Whatever hangs (a worker that ignores SIGKILL's aftermath, storage that never closes), the primary still goes.
    setTimeout(() => {
      this.#log.error({ alive: this.#alive.size }, 'shutdown did not finish in time; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
  }

  #fork(): void {
    this.#alive.add(cluster.fork());
  }

  #exit(): void {
    const done = () => process.exit(this.#exitCode);
    (this.#options.onExit?.() ?? Promise.resolve()).then(done, done);
  }

  #onMessage(worker: Worker, message: WorkerMessage): void {
    if (message.type === 'listening') return this.#workerListening(worker, message.port);
    if (message.type === 'redis-node') {
      this.#nodes.set(worker.id, message.node);
      return;
    }
    if (message.type === 'fatal') {
      // Every worker fails the same way (e.g. the port is taken): say it once, plainly, on stderr
      // (a JSON copy on stdout made a terminal show it twice).
      if (this.#shuttingDown) return;
      process.stderr.write(`chorus server: ${message.message}\n`);
      return this.shutdown(1);
    }
    this.#state.receive(worker.id, message, worker.process.pid);
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

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.#alive.delete(worker);
    this.#listeningWorkers.delete(worker.id);
    const released = this.#state.workerGone(worker.id);
    const node = this.#nodes.get(worker.id);
    this.#nodes.delete(worker.id);
    if (node !== undefined && this.#options.reapNode && !this.#shuttingDown) {
      void this.#options
        .reapNode(node)
        .then((clients) => this.#log.info({ worker: worker.id, node, clients }, "released the dead worker's clients"));
    }
    if (this.#shuttingDown) {
      if (signal === 'SIGKILL') this.#log.warn({ worker: worker.id }, 'worker missed its stop deadline and was killed');
      if (this.#alive.size === 0) this.#exit();
      return;
    }
    this.#log.warn({ worker: worker.id, code, signal, released }, 'worker died; replacing it');
    // Back off when workers die right after starting (a crash loop), not on the first death.
    const delay = Math.min(30_000, this.#recentCrashes === 0 ? 0 : 100 * 2 ** this.#recentCrashes);
    this.#recentCrashes++;
    setTimeout(() => {
      if (!this.#shuttingDown) this.#fork();
    }, delay);
  }

  /** Replies of the writer go back to the worker that asked, unless it is gone (its clients send again). */
  #peer(worker: Worker): WriterPeer {
    return {
      send: (reply) => {
        if (worker.isConnected()) worker.send(reply, undefined, (err) => err && this.#log.debug({ err }, 'ipc send failed'));
      },
    };
  }

  #send(workerId: number, message: ToWorker): void {
    const worker = cluster.workers?.[workerId];
    // A worker can go away between the check and the write (EPIPE): the 'exit' handler deals with it.
    if (worker?.isConnected())
      worker.send({ ch: 'chorus', ...message }, undefined, (err) => err && this.#log.debug({ err }, 'ipc send failed'));
  }
}
