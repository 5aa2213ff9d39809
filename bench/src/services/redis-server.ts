import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { parseCommandStats, type CommandCalls } from './commandstats.js';
import { freePort } from './free-port.js';

/**
 * A private redis-server for one start of a system: on a free loopback port,
 * nothing saved (`--save ""`, no AOF, its working directory a temporary one),
 * stopped by its PID. It keeps one client of its own for INFO, so that the
 * bench can read what the system asked of Redis.
 */
export class RedisServer {
  readonly port: number;
  readonly #proc: ChildProcess;
  readonly #dir: string;
  readonly #client: Redis;
  readonly #log: string[];

  private constructor(port: number, proc: ChildProcess, dir: string, client: Redis, log: string[]) {
    this.port = port;
    this.#proc = proc;
    this.#dir = dir;
    this.#client = client;
    this.#log = log;
  }

  /**
   * Starts redis-server (`binary`, found on PATH by default) and resolves once
   * it answers (it, not another program on the port). A port taken between choosing and binding it is tried
   * again with another, three times at most.
   */
  static async start({ binary = 'redis-server', timeoutMs = 10_000 }: { binary?: string; timeoutMs?: number } = {}): Promise<RedisServer> {
    let lastError: Error | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await RedisServer.#startOnce(binary, await freePort(), timeoutMs);
      } catch (err) {
        lastError = err as Error;
        if (!/address already in use/i.test(lastError.message)) throw lastError;
      }
    }
    throw lastError!;
  }

  static async #startOnce(binary: string, port: number, timeoutMs: number): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
    const proc = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    const keep = (chunk: Buffer): void => {
      log.push(chunk.toString());
      if (log.length > 50) log.shift();
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    let spawnError: Error | null = null;
    proc.once('error', (err) => (spawnError = err));

    const fail = (why: string): never => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server on port ${port} ${why}\n${log.join('').slice(-1500)}`);
    };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnError !== null) fail(`could not be started: ${(spawnError as Error).message} (is redis-server installed?)`);
      if (proc.exitCode !== null || proc.signalCode !== null) fail(`exited with ${proc.exitCode ?? proc.signalCode} while starting`);
      if (Date.now() > deadline) fail(`did not answer PING within ${timeoutMs} ms`);
      // One try per client (no reconnect, no offline queue): the loop is the retry.
      const client = new Redis({
        host: '127.0.0.1',
        port,
        lazyConnect: true,
        retryStrategy: () => null,
        enableOfflineQueue: false,
        connectTimeout: 1_000,
      });
      client.on('error', () => {}); // a refused connect while it starts
      try {
        await client.connect();
        // The one answering must be ours: another program may have taken the port first.
        const server = await client.info('server');
        if (new RegExp(`^process_id:${proc.pid}\\r?$`, 'm').test(server)) return new RedisServer(port, proc, dir, client, log);
      } catch {
        // not listening yet
      }
      client.disconnect();
      await sleep(50);
    }
  }

  /** The URL clients connect to. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.#proc.pid!;
  }

  get running(): boolean {
    return this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  /** The last lines redis-server printed, for error messages. */
  get logTail(): string {
    return this.#log.join('').slice(-1500);
  }

  /** Calls per command since it started (`INFO commandstats`; each reading adds one `info` call). */
  async commandCalls(): Promise<CommandCalls> {
    return parseCommandStats(await this.#client.info('commandstats'));
  }

  /**
   * Stops it: SIGTERM (it exits at once, having nothing to save), SIGKILL after
   * `graceMs`. Resolves to false when it had to kill.
   */
  async stop(graceMs = 5_000): Promise<boolean> {
    this.#client.disconnect();
    const exited = new Promise<boolean>((resolve) => {
      if (!this.running) return resolve(true);
      this.#proc.once('exit', () => resolve(true));
    });
    if (this.running) this.#proc.kill('SIGTERM');
    const clean = await Promise.race([exited, sleep(graceMs).then(() => false)]);
    if (!clean) {
      this.#proc.kill('SIGKILL');
      await exited;
    }
    rmSync(this.#dir, { recursive: true, force: true });
    return clean;
  }

  /** Kills it at once (the bench was interrupted). */
  killNow(): void {
    this.#client.disconnect();
    if (this.running) this.#proc.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
