import { fileURLToPath } from 'node:url';

/** How a load-generator client talks to a system (see load/clients.ts). */
export type ProtocolKind = 'chorus-json' | 'chorus-text' | 'ws-relay' | 'socketio';

export const SYSTEM_NAMES = [
  'chorus-w1',
  'chorus-w2',
  'before-w1',
  'before-w2',
  'ws-relay',
  'socketio-cluster',
  'chorus-redis',
  'before-redis',
  'socketio-redis',
] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

/**
 * Chorus as built before a change (`--before PATH`), run in the same
 * interleaved runs as the current build, so that a change is judged by paired
 * ratios taken minutes apart on the same machine, not across noisy days.
 */
export const BEFORE_SYSTEMS = ['before-w1', 'before-w2', 'before-redis'] as const satisfies readonly SystemName[];

/** The current build's system that each --before system is compared with. */
export const AFTER_OF: Record<(typeof BEFORE_SYSTEMS)[number], SystemName> = {
  'before-w1': 'chorus-w1',
  'before-w2': 'chorus-w2',
  'before-redis': 'chorus-redis',
};

/** The baselines every ratio is taken against. */
export const BASELINES = ['ws-relay', 'socketio-cluster', 'socketio-redis'] as const satisfies readonly SystemName[];

/**
 * An engine a system shares between its nodes, started fresh for each start of
 * the system and stopped after it: `redis` a private redis-server on a free
 * port (its URL in REDIS_URL), `postgres` a new database on the bench's
 * PostgreSQL server (its URL in DATABASE_URL), dropped afterwards.
 */
export type ServiceName = 'redis' | 'postgres';

/**
 * One server node: a process tree started from one entry, listening on a port
 * of its own. Clients are dealt to a system's nodes in turn.
 */
export interface NodeSpec {
  /**
   * Node script and its arguments, relative to the repository root (or
   * absolute). Every node runs in a fresh empty working directory, so a
   * developer's .env (or data) in the repository never changes what is measured.
   */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Processes of this tree that hold sockets (a cluster's workers; 1 for a single process). */
  readonly workers: number;
}

/** One system under test: how to start it and how to speak to it. */
export interface SystemSpec {
  readonly name: SystemName;
  /** One line for the report. */
  readonly description: string;
  /** The protocol of the main figures. */
  readonly protocol: ProtocolKind;
  /** A second protocol measured in the direct-text scenario, if the system has one. */
  readonly textProtocol?: ProtocolKind;
  /** The server nodes, started one after the other (at least one). */
  readonly nodes: readonly NodeSpec[];
  /** Engines the nodes share; their URLs are added to every node's environment. */
  readonly services: readonly ServiceName[];
  /**
   * How readiness is known: every system prints {"msg":"listening","port"} on
   * stdout, except Chorus below LOG_LEVEL=info (the line is an info line), for
   * which the port is read from /proc and readiness from GET /ready.
   */
  readonly readyProbe: 'log-line' | 'chorus-ready';
  /** Whether the system has rooms: 'yes', or 'probe' (ask the server at run time; see load/clients.ts). */
  readonly rooms: 'yes' | 'probe';
}

/** Processes of the whole system that hold sockets (pairs of the direct scenario are split across them). */
export function socketProcesses(spec: SystemSpec): number {
  return spec.nodes.reduce((n, node) => n + node.workers, 0);
}

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASELINE_DIR = 'bench/dist/baselines';

export function systemSpec(name: SystemName, maxClients: number, chorusEntry: string, beforeEntry: string | null = null): SystemSpec {
  const chorusEnv = (workers: number): Record<string, string> => ({
    WORKERS: String(workers),
    MAX_CLIENTS: String(maxClients),
    LOG_LEVEL: 'warn',
    ENVIRONMENT: 'development',
    // Every bench client comes from 127.x and the figures are about capacity: the abuse
    // limits (per address, per connection) are raised out of the way, as for any load
    // test. Their checks still run on every connect and frame. The baselines have none.
    MAX_CONNECTIONS_PER_IP: '10000000',
    UPGRADES_PER_MINUTE_PER_IP: '10000000',
    MESSAGE_RATE: '10000000',
    MESSAGE_BURST: '10000000',
  });
  const chorus = (workers: number, entry = chorusEntry, build = ''): SystemSpec => ({
    name,
    description:
      `Chorus${build}, WORKERS=${workers}` +
      `${workers > 1 ? ' (primary + workers, mesh between workers)' : ' (one process, in-memory backend)'}; JSON protocol chorus.v1`,
    protocol: 'chorus-json',
    textProtocol: 'chorus-text',
    nodes: [{ args: [entry], env: chorusEnv(workers), workers }],
    services: [],
    readyProbe: 'chorus-ready',
    rooms: 'probe',
  });
  switch (name) {
    case 'chorus-w1':
      return chorus(1);
    case 'chorus-w2':
      return chorus(2);
    case 'before-w1':
    case 'before-w2':
      if (beforeEntry === null) throw new Error(`${name} needs --before PATH`);
      return chorus(name === 'before-w1' ? 1 : 2, beforeEntry, ` as built before the change (--before ${beforeEntry})`);
    case 'chorus-redis':
    case 'before-redis': {
      const before = name === 'before-redis';
      if (before && beforeEntry === null) throw new Error(`${name} needs --before PATH`);
      const node: NodeSpec = { args: [before ? beforeEntry! : chorusEntry], env: chorusEnv(1), workers: 1 };
      return {
        name,
        description:
          `Chorus${before ? ` as built before the change (--before ${beforeEntry})` : ''}, ` +
          '2 nodes with WORKERS=1 each on ports of their own, Redis backend (a private redis-server) and PostgreSQL storage ' +
          '(a fresh database); clients split across the nodes; JSON protocol chorus.v1',
        protocol: 'chorus-json',
        textProtocol: 'chorus-text',
        nodes: [node, node],
        services: ['redis', 'postgres'],
        readyProbe: 'chorus-ready',
        rooms: 'probe',
      };
    }
    case 'ws-relay':
      return {
        name,
        description: 'plain `ws` relay in one process (bench/src/baselines/ws-relay.ts): the Node limit',
        protocol: 'ws-relay',
        nodes: [{ args: [`${BASELINE_DIR}/ws-relay.js`], env: {}, workers: 1 }],
        services: [],
        readyProbe: 'log-line',
        rooms: 'yes',
      };
    case 'socketio-cluster':
      return {
        name,
        description:
          'Socket.IO 4, cluster of 2 workers, @socket.io/sticky + @socket.io/cluster-adapter (bench/src/baselines/socketio-cluster.ts)',
        protocol: 'socketio',
        nodes: [{ args: [`${BASELINE_DIR}/socketio-cluster.js`], env: { WORKERS: '2' }, workers: 2 }],
        services: [],
        readyProbe: 'log-line',
        rooms: 'yes',
      };
    case 'socketio-redis': {
      const node: NodeSpec = { args: [`${BASELINE_DIR}/socketio-redis.js`], env: {}, workers: 1 };
      return {
        name,
        description:
          'Socket.IO 4, 2 nodes (one process each, ports of their own) sharing a private redis-server through @socket.io/redis-adapter ' +
          '(bench/src/baselines/socketio-redis.ts); clients split across the nodes',
        protocol: 'socketio',
        nodes: [node, node],
        services: ['redis'],
        readyProbe: 'log-line',
        rooms: 'yes',
      };
    }
  }
}
