import { NodeProcess, type LogNote } from './node-process.js';
import { cpuMicros, rssBytes, startTime } from './proc.js';
import type { CommandCalls } from './services/commandstats.js';
import { DEFAULT_POSTGRES_URL, PostgresDatabase } from './services/postgres-database.js';
import { RedisServer } from './services/redis-server.js';
import type { SystemSpec } from './systems.js';

export type { LogNote } from './node-process.js';

/** Every system started and not yet stopped, so that an interrupted bench can stop them all. */
const live = new Set<RunningSystem>();

/** Where the shared engines of a system come from. */
export interface ServiceOptions {
  /** A URL of any database on the PostgreSQL server that fresh databases are created on. */
  readonly postgresUrl: string;
  /** The redis-server executable. */
  readonly redisServer: string;
}

export const DEFAULT_SERVICES: ServiceOptions = { postgresUrl: DEFAULT_POSTGRES_URL, redisServer: 'redis-server' };

/** The parts of a system whose CPU is counted apart. */
export type SystemPart = 'nodes' | 'redis' | 'postgres';

/** What the system's processes used, at one instant. */
export interface SystemSample {
  /** Every process counted: the nodes' trees, redis-server, the PostgreSQL backends serving the system's database. */
  readonly pids: readonly number[];
  /**
   * CPU time (user + system) of those processes, microseconds; a process that
   * exited keeps what it had used when last seen, so the count never goes back.
   */
  readonly cpuMicros: number;
  /** The same, by part of the system. */
  readonly cpuMicrosOf: Readonly<Record<SystemPart, number>>;
  /**
   * RSS of the nodes and of redis-server, bytes. Not of the PostgreSQL
   * backends: their RSS counts the server's shared buffers again in each one.
   */
  readonly rssBytes: number;
}

/**
 * A started system: its shared engines (a private redis-server, a fresh
 * PostgreSQL database) and its server nodes, each on a port of its own.
 */
export class RunningSystem {
  readonly spec: SystemSpec;
  readonly #nodes: NodeProcess[];
  readonly #redis: RedisServer | null;
  readonly #database: PostgresDatabase | null;
  #postgresPids: number[] = [];
  /** CPU last seen per process ("pid@start time" -> microseconds) and which part it belongs to. */
  readonly #cpuSeen = new Map<string, { part: SystemPart; micros: number }>();

  private constructor(spec: SystemSpec, nodes: NodeProcess[], redis: RedisServer | null, database: PostgresDatabase | null) {
    this.spec = spec;
    this.#nodes = nodes;
    this.#redis = redis;
    this.#database = database;
  }

  /**
   * Starts the engines `spec` needs, then its nodes one after the other (a
   * node that migrates a fresh database is done before the next one starts),
   * each on port 0 with REDIS_URL / DATABASE_URL set; resolves once every
   * node accepts connections on every worker. With `cpuProfDir`, every
   * node process writes a V8 CPU profile there when it exits. On a failure,
   * whatever was started is stopped again.
   */
  static async start(
    spec: SystemSpec,
    cpuProfDir: string | null = null,
    services: ServiceOptions = DEFAULT_SERVICES,
    timeoutMs = 30_000,
  ): Promise<RunningSystem> {
    let redis: RedisServer | null = null;
    let database: PostgresDatabase | null = null;
    const nodes: NodeProcess[] = [];
    try {
      const env: Record<string, string> = {};
      if (spec.services.includes('redis')) {
        redis = await RedisServer.start({ binary: services.redisServer });
        env.REDIS_URL = redis.url;
      }
      if (spec.services.includes('postgres')) {
        database = await PostgresDatabase.create(services.postgresUrl);
        env.DATABASE_URL = database.url;
      }
      for (const node of spec.nodes) nodes.push(await NodeProcess.start(spec, node, env, cpuProfDir, timeoutMs));
    } catch (err) {
      for (const node of nodes) await node.stop(1_000);
      await redis?.stop(1_000);
      await database?.drop().catch(() => {});
      const which = spec.nodes.length > 1 && nodes.length < spec.nodes.length ? ` (node ${nodes.length + 1} of ${spec.nodes.length})` : '';
      throw new Error(`${(err as Error).message}${which}`);
    }
    const system = new RunningSystem(spec, nodes, redis, database);
    await system.refresh();
    live.add(system);
    return system;
  }

  /** The port of each node, in the order of spec.nodes: clients are dealt to them in turn. */
  get ports(): number[] {
    return this.#nodes.map((n) => n.port);
  }

  /**
   * Finds the PostgreSQL backends serving the system's database now. Call it
   * before a measured window: connections opened later are found by the next call.
   */
  async refresh(): Promise<void> {
    if (this.#database !== null) this.#postgresPids = await this.#database.backendPids().catch(() => this.#postgresPids);
    this.sample();
  }

  /** CPU and RSS of every process of the system now. */
  sample(): SystemSample {
    const parts: [SystemPart, number[]][] = [
      ['nodes', this.#nodes.flatMap((n) => n.track())],
      ['redis', this.#redis?.running ? [this.#redis.pid] : []],
      ['postgres', this.#postgresPids],
    ];
    let rss = 0;
    for (const [part, pids] of parts) {
      for (const pid of pids) {
        const started = startTime(pid);
        if (started === null) continue;
        const key = `${pid}@${started}`;
        const micros = cpuMicros(pid);
        const seen = this.#cpuSeen.get(key);
        if (!seen || micros > seen.micros) this.#cpuSeen.set(key, { part, micros });
        if (part !== 'postgres') rss += rssBytes(pid);
      }
    }
    const cpuMicrosOf: Record<SystemPart, number> = { nodes: 0, redis: 0, postgres: 0 };
    for (const { part, micros } of this.#cpuSeen.values()) cpuMicrosOf[part] += micros;
    return {
      pids: parts.flatMap(([, pids]) => pids),
      cpuMicros: cpuMicrosOf.nodes + cpuMicrosOf.redis + cpuMicrosOf.postgres,
      cpuMicrosOf,
      rssBytes: rss,
    };
  }

  /**
   * Restarts every node in place (see NodeProcess.restart): SIGTERM, then the
   * same node again on the same port with the same data; the shared engines
   * (redis-server, the database) stay up. Resolves once every node is ready
   * again, with when (performance.now()) the last old node had exited and
   * whether every stop was clean.
   */
  async restart(graceMs = 5_000, timeoutMs = 30_000): Promise<{ exitedAt: number; clean: boolean }> {
    let exitedAt = 0;
    let clean = true;
    for (let i = 0; i < this.#nodes.length; i++) {
      const restarted = await this.#nodes[i]!.restart(graceMs, timeoutMs, () => (exitedAt = performance.now()));
      this.#nodes[i] = restarted.node;
      clean &&= restarted.clean;
    }
    await this.refresh();
    return { exitedAt, clean };
  }

  /** Calls per Redis command since the system's redis-server started; null for a system without Redis. */
  async redisCommands(): Promise<CommandCalls | null> {
    return this.#redis === null ? null : this.#redis.commandCalls();
  }

  /** Warn/error lines the nodes logged, by message (summed over the nodes). */
  get notes(): LogNote[] {
    const merged = new Map<string, LogNote>();
    for (const note of this.#nodes.flatMap((n) => n.notes)) {
      const key = `${note.level}: ${note.msg}`;
      const prior = merged.get(key);
      if (prior) prior.count += note.count;
      else merged.set(key, { ...note });
    }
    return [...merged.values()];
  }

  /** Whether every node and engine is still running. */
  get running(): boolean {
    return this.#nodes.every((n) => n.running) && (this.#redis?.running ?? true);
  }

  /** The last lines of stderr of the nodes that exited (of all when none did), for error messages. */
  get stderrTail(): string {
    const dead = this.#nodes.filter((n) => !n.running);
    const tails = (dead.length > 0 ? dead : this.#nodes).map((n) => n.stderrTail).filter(Boolean);
    if (this.#redis !== null && !this.#redis.running) tails.push(`redis-server: ${this.#redis.logTail}`);
    return tails.join('\n').slice(-2000);
  }

  /**
   * Stops the nodes (SIGTERM, SIGKILL for what is left after `graceMs`), then
   * redis-server, then drops the database. Resolves to false when anything had to be killed.
   */
  async stop(graceMs = 5_000): Promise<boolean> {
    live.delete(this);
    const nodesClean = await Promise.all(this.#nodes.map((n) => n.stop(graceMs)));
    const redisClean = (await this.#redis?.stop(graceMs)) ?? true;
    await this.#database?.drop().catch(() => {});
    return nodesClean.every(Boolean) && redisClean;
  }

  /** Kills every process at once (the bench was interrupted); resolves once the database is dropped. */
  async killNow(): Promise<void> {
    live.delete(this);
    for (const node of this.#nodes) node.killNow();
    this.#redis?.killNow();
    await this.#database?.drop().catch(() => {});
  }
}

/**
 * Kills every system still running (on error or interrupt): every process
 * at once, then the databases are dropped (within `dropMs`; a database left
 * behind is named chorus_bench_*).
 */
export async function killAllSystems(dropMs = 5_000): Promise<void> {
  const drops = Promise.all([...live].map((system) => system.killNow()));
  await Promise.race([drops, new Promise((resolve) => setTimeout(resolve, dropMs).unref())]);
}
