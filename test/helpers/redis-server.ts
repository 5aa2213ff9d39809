import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly proc: ChildProcess;
  /** Stops it (SIGKILL: as abrupt as a crash; nothing is saved anyway). */
  stop(): Promise<void>;
  /** Stops it and starts a new, empty one on the same port: a Redis restart. */
  restart(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then let go). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * A private redis-server for one test suite (`--save ""`: nothing on disk), so
 * that runs never share state. Resolves once it accepts connections. Fails,
 * never skips, without redis-server: CI installs it.
 */
export async function startRedis(port?: number): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  let proc = await launch(chosen);
  const server: RedisServer = {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    get proc() {
      return proc;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await server.stop();
      proc = await launch(chosen);
    },
  };
  return server;
}

async function launch(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = createInterface({ input: proc.stdout! });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    proc.once('error', (err) => reject(new Error(`redis-server could not start (is it installed?): ${err.message}`)));
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output.join('\n')}`)));
    lines.on('line', (line) => {
      output.push(line);
      if (/Ready to accept connections/.test(line)) resolve();
    });
  });
  proc.removeAllListeners('exit');
  return proc;
}
