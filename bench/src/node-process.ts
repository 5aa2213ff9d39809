import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { listeningPorts, processTree, startTime } from './proc.js';
import { ROOT, type NodeSpec, type SystemSpec } from './systems.js';

/** What a system logged at warn level or above (Chorus runs with LOG_LEVEL=warn, so every such line is news). */
export interface LogNote {
  readonly level: string;
  readonly msg: string;
  count: number;
}

/** One server node of a system: its process tree, its port, and what it logged. */
export class NodeProcess {
  readonly port: number;
  readonly #proc: ChildProcess;
  readonly #cwd: string;
  readonly #notes: Map<string, LogNote>;
  readonly #stderr: string[];
  /** Every process seen in the tree (pid -> start time), so that stragglers can be killed by pid, and only they. */
  readonly #pids = new Map<number, number>();

  /** How this node was started, to start it again in place (see restart). */
  readonly #how: StartArgs;

  private constructor(port: number, proc: ChildProcess, cwd: string, notes: Map<string, LogNote>, stderr: string[], how: StartArgs) {
    this.port = port;
    this.#proc = proc;
    this.#cwd = cwd;
    this.#notes = notes;
    this.#stderr = stderr;
    this.#how = how;
  }

  /**
   * Starts one node of `system` on port 0, with `env` added to the node's own,
   * and resolves once it accepts connections on every worker. With
   * `cpuProfDir`, every process of the tree writes a V8 CPU profile there when
   * it exits (cluster workers inherit the primary's execArgv; Node does not
   * allow --cpu-prof in NODE_OPTIONS).
   */
  static async start(
    system: SystemSpec,
    node: NodeSpec,
    env: Readonly<Record<string, string>>,
    cpuProfDir: string | null,
    timeoutMs: number,
  ): Promise<NodeProcess> {
    return NodeProcess.#spawn({ system, node, env, cpuProfDir }, timeoutMs, null);
  }

  /**
   * Starts the node (`again`: in the working directory, on the port, and
   * keeping the logs of a previous start of it that has exited).
   */
  static async #spawn(
    how: StartArgs,
    timeoutMs: number,
    again: { cwd: string; port: number; notes: Map<string, LogNote>; stderr: string[] } | null,
  ): Promise<NodeProcess> {
    const { system, node, env, cpuProfDir } = how;
    const cwd = again?.cwd ?? mkdtempSync(join(tmpdir(), `bench-${system.name}-`));
    const profiling = cpuProfDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`];
    const proc = spawn(process.execPath, [...profiling, ...node.args.map((a) => resolve(ROOT, a))], {
      cwd,
      env: { ...process.env, ...node.env, ...env, PORT: String(again?.port ?? 0), HOST: '127.0.0.1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const notes = again?.notes ?? new Map<string, LogNote>();
    const stderr: string[] = again?.stderr ?? [];
    let listeningPort: number | null = null;
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.push(chunk);
      if (stderr.length > 50) stderr.shift();
    });
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      let line: { msg?: unknown; port?: unknown; level?: unknown };
      try {
        line = JSON.parse(text) as typeof line;
      } catch {
        return;
      }
      if (line.msg === 'listening' && typeof line.port === 'number') listeningPort = line.port;
      // pino levels: 40 warn, 50 error, 60 fatal.
      if (typeof line.level === 'number' && line.level >= 40) {
        const level = line.level >= 60 ? 'fatal' : line.level >= 50 ? 'error' : 'warn';
        const key = `${level}: ${String(line.msg)}`;
        const note = notes.get(key);
        if (note) note.count++;
        else notes.set(key, { level, msg: String(line.msg), count: 1 });
      }
    });

    const deadline = Date.now() + timeoutMs;
    const fail = (why: string): never => {
      proc.kill('SIGKILL');
      if (again === null) rmSync(cwd, { recursive: true, force: true });
      throw new Error(`${system.name} ${why}\n${stderr.join('').slice(-2000)}`);
    };
    let port: number | null = null;
    while (port === null) {
      if (proc.exitCode !== null || proc.signalCode !== null) fail(`exited with ${proc.exitCode ?? proc.signalCode} while starting`);
      if (Date.now() > deadline) fail(`did not become ready within ${timeoutMs} ms`);
      if (listeningPort !== null) port = listeningPort;
      else if (system.readyProbe === 'chorus-ready') port = await chorusReady(proc.pid!, node.workers);
      if (port === null) await sleep(50);
    }
    const started = new NodeProcess(port, proc, cwd, notes, stderr, how);
    started.track();
    return started;
  }

  get pid(): number {
    return this.#proc.pid!;
  }

  /** The processes of the tree now (remembered, so that they can be stopped by pid later). */
  track(): number[] {
    const pids = this.#proc.pid === undefined ? [] : processTree(this.#proc.pid);
    for (const pid of pids) {
      if (this.#pids.has(pid)) continue;
      const started = startTime(pid);
      if (started !== null) this.#pids.set(pid, started);
    }
    return pids;
  }

  /** Warn/error lines the node logged, by message. */
  get notes(): LogNote[] {
    return [...this.#notes.values()];
  }

  get running(): boolean {
    return this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  /** The last lines of stderr, for error messages. */
  get stderrTail(): string {
    return this.#stderr.join('').slice(-2000);
  }

  /**
   * Stops the node: SIGTERM to its root (a cluster's primary stops its
   * workers), then SIGKILL to every process of the tree still alive after
   * `graceMs`. Resolves to false when it had to kill.
   */
  async stop(graceMs = 5_000): Promise<boolean> {
    const clean = await this.#terminate(graceMs);
    rmSync(this.#cwd, { recursive: true, force: true });
    return clean;
  }

  /**
   * A restart as an operator does it: SIGTERM (SIGKILL after `graceMs`), then
   * the same node started again in the same working directory (so with the
   * same data: Chorus's SQLite file is under ./data there) on the same port.
   * `onExited` is called once the old tree is gone, before the new one starts.
   * Resolves to the new process (this one is done) and whether the stop was clean.
   */
  async restart(graceMs: number, timeoutMs: number, onExited: () => void = () => {}): Promise<{ node: NodeProcess; clean: boolean }> {
    const clean = await this.#terminate(graceMs);
    onExited();
    const node = await NodeProcess.#spawn(this.#how, timeoutMs, {
      cwd: this.#cwd,
      port: this.port,
      notes: this.#notes,
      stderr: this.#stderr,
    });
    return { node, clean };
  }

  /** SIGTERM to the root, SIGKILL to what is left after `graceMs`; false when it had to kill. */
  async #terminate(graceMs: number): Promise<boolean> {
    this.track();
    if (this.running) this.#proc.kill('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (this.#survivors().length > 0 && Date.now() < deadline) await sleep(50);
    const survivors = this.#survivors();
    for (const pid of survivors) kill(pid);
    return survivors.length === 0;
  }

  /** Kills every process of the tree at once (the bench was interrupted). */
  killNow(): void {
    this.track();
    for (const pid of this.#survivors()) kill(pid);
    rmSync(this.#cwd, { recursive: true, force: true });
  }

  /** The processes of the tree still alive (the same processes: pid and start time match). */
  #survivors(): number[] {
    return [...this.#pids].filter(([pid, started]) => startTime(pid) === started).map(([pid]) => pid);
  }
}

/** What a node was started with. */
interface StartArgs {
  readonly system: SystemSpec;
  readonly node: NodeSpec;
  readonly env: Readonly<Record<string, string>>;
  readonly cpuProfDir: string | null;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/**
 * Chorus logs its `listening` line at info level, which LOG_LEVEL=warn hides.
 * Find the listening port in /proc, then ask GET /ready until every worker is
 * a member; a short grace lets the last member start listening after its init.
 */
async function chorusReady(pid: number, workers: number): Promise<number | null> {
  const ports = listeningPorts(processTree(pid));
  for (const port of ports) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1_000) });
      if (res.status !== 200) continue;
      const body = (await res.json()) as { workers?: unknown[] };
      if ((body.workers?.length ?? 0) < Math.max(1, workers)) continue;
      await sleep(workers > 1 ? 300 : 0);
      return port;
    } catch {
      // not answering yet
    }
  }
  return null;
}
