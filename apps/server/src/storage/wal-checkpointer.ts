import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The thread's code, inline so that it runs the same from the build and from
 * the TypeScript sources (tests). It loads better-sqlite3 from the path the
 * main thread resolved, since the process may run from any folder.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 1000 });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage(String(err && err.message));
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Copies the write-ahead log back into the database file on a thread of its
 * own. SQLite's automatic checkpoint runs inside the commit that crosses the
 * threshold, on the writer's event loop: measured here, it made one commit in
 * a hundred take 11-13 ms instead of under 1 ms, and with one writer per
 * machine every acknowledgement waits behind it. A PASSIVE checkpoint takes
 * no write lock, so the writer goes on meanwhile. The writer's connection
 * keeps a far higher automatic threshold as a safety net in case this thread
 * falls behind or dies.
 */
export class WalCheckpointer {
  readonly #thread: Worker;
  readonly #exited: Promise<void>;

  constructor(file: string, options: { intervalMs?: number; onError?: (message: string) => void } = {}) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#thread = new Worker(THREAD, { eval: true, workerData: { file, driver, intervalMs: options.intervalMs ?? 200 } });
    // Never what keeps the process alive.
    this.#thread.unref();
    this.#thread.on('message', (message: unknown) => options.onError?.(String(message)));
    this.#thread.on('error', (err) => options.onError?.(err.message));
    this.#exited = new Promise((resolve) => this.#thread.once('exit', () => resolve()));
  }

  /** Stops the thread and closes its connection. */
  async stop(): Promise<void> {
    // Waited for: without a ref the process could run out of work (and exit 0) while the thread stops.
    this.#thread.ref();
    this.#thread.postMessage('stop');
    await this.#exited;
  }
}
