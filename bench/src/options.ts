import { join, resolve } from 'node:path';
import { DEFAULT_POSTGRES_URL } from './services/postgres-database.js';
import { BEFORE_SYSTEMS, SYSTEM_NAMES, ROOT, type SystemName } from './systems.js';

export const SCENARIO_NAMES = ['connect', 'fanout', 'direct', 'room', 'direct-text', 'reconnect-storm'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface BenchOptions {
  readonly runs: number;
  readonly connections: number;
  readonly systems: readonly SystemName[];
  readonly scenarios: readonly ScenarioName[];
  /** Clients of the reconnect-storm scenario (an even number). */
  readonly stormClients: number;
  /** Clients of the fanout, direct and room scenarios. */
  readonly clients: number;
  /** Broadcasting clients in the fanout scenario, and the broadcasts each may have in flight. */
  readonly fanoutSenders: number;
  readonly fanoutWindow: number;
  /** Members per room in the room scenario (one sender per room). */
  readonly roomSize: number;
  readonly roomWindow: number;
  /** Total rate of the direct scenario's latency phase, messages per second. */
  readonly rate: number;
  /** Messages in flight per client in the direct scenario's closed-loop phase. */
  readonly window: number;
  readonly textBytes: number;
  /** Seconds of each measured phase, and of the warm-up before it. */
  readonly duration: number;
  readonly warmup: number;
  readonly generators: number;
  /** How many times a window is measured again when other processes used the machine meanwhile. */
  readonly noiseRetries: number;
  /** Seconds a scenario may spend connecting its clients. */
  readonly connectTimeout: number;
  readonly outDir: string;
  readonly docs: boolean;
  /** The Chorus server to run (absolute path of its main.js). */
  readonly chorusEntry: string;
  /** A build of Chorus before a change (--before), measured beside the current one as before-w1/before-w2/before-redis; null without it. */
  readonly beforeEntry: string | null;
  /** When set, every system process runs with --cpu-prof, writing profiles under this directory. */
  readonly cpuProfDir: string | null;
  /** A URL of any database on the PostgreSQL server where systems with PostgreSQL get a fresh database each start. */
  readonly postgresUrl: string;
  /** The redis-server executable started (on a free port) for systems with Redis. */
  readonly redisServer: string;
  /** Whether Chorus clients send delivery receipts as the browser does (--no-receipts: to measure what they cost). */
  readonly receipts: boolean;
  /** When set, nothing is measured: the report is rendered again from this results JSON. */
  readonly fromJson: string | null;
  readonly quick: boolean;
}

export const HELP = `npm run bench -- [options]

Chorus side by side with a plain ws relay and a Socket.IO cluster, and on
several nodes (Redis + PostgreSQL) with Socket.IO on Redis, on loopback, each
system measured --runs times, interleaved (A B C D, A B C D, ...); reports
medians with min-max and ratios to the baselines measured in the same run.

  --runs N            interleaved runs (default 5)
  --connections N     idle connections of the connect scenario (default 10000; past
                      ~25000 several 127.x source addresses are used; a single
                      process cannot hold more than its open-file limit)
  --systems a,b       ${SYSTEM_NAMES.join(', ')} (default all; before-w1,
                      before-w2 and before-redis need --before; chorus-redis and socketio-redis start a
                      private redis-server, chorus-redis a fresh PostgreSQL database too)
  --scenarios a,b     ${SCENARIO_NAMES.join(', ')} (default all)
  --clients N         clients of fanout, direct and room (default 1000)
  --storm-clients N   reconnect-storm: clients dropped at once by a server restart, which
                      then reconnect and resume (default 10000; 1000 with --quick; Chorus only)
  --rate N            direct: total rate of the latency phase, msg/s (default 5000)
  --duration S        seconds of each measured phase (default 4)
  --warmup S          seconds of warm-up before each measured phase (default 1)
  --generators N      load-generator processes (default 2; more when --connections needs them)
  --connect-timeout S seconds a scenario may spend connecting (default 60); a system that
                      cannot connect all of --connections in time is reported with what it
                      reached, and not measured again in later runs
  --noise-retries N   measure a window again (N times at most) when other processes used
                      half a core or more during it (default 0: such windows are flagged)
  --quick             a short run for development: 2 runs, 2000 connections, 1000 storm
                      clients, 2 s phases
  --out DIR           where the JSON results go (default bench/results)
  --chorus PATH       the Chorus server's main.js (default apps/server/dist/main.js), e.g. a
                      build of another commit, to compare before and after a change
  --before PATH       also run this Chorus main.js (a copy of the build before a change) as
                      before-w1, before-w2 and before-redis, interleaved with the current build, and print
                      the current build's paired ratios to it (implies --no-docs)
  --no-docs           do not write docs/performance.md and docs/performance.svg
  --no-receipts       Chorus clients send no delivery receipts (the browser does): shows what
                      receipts cost
  --postgres URL      the PostgreSQL server chorus-redis gets a fresh database on (created
                      and dropped per start; default ${DEFAULT_POSTGRES_URL})
  --redis-server PATH the redis-server to start for the systems with Redis (default: from PATH)
  --cpu-prof DIR      run every system process with node --cpu-prof, one folder per start under
                      DIR (implies --no-docs: profiling slows the servers); summarize with
                      node bench/dist/profile-summary.js DIR/<folder>
  --from-json FILE    measure nothing: render the tables, chart and docs again from a results
                      JSON (e.g. bench/results/latest.json)
  --help              this text
`;

/** Parses the command line; throws an Error with a readable message on a bad flag. */
export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}" (see --help)`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (['help', 'quick', 'no-docs', 'no-receipts'].includes(name)) {
      flags.set(name, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags.set(name, value);
  }
  if (flags.has('help')) return 'help';
  const known = new Set([
    ...[
      'quick',
      'no-docs',
      'no-receipts',
      'runs',
      'connections',
      'systems',
      'scenarios',
      'clients',
      'storm-clients',
      'rate',
      'duration',
      'warmup',
    ],
    ...['generators', 'connect-timeout', 'noise-retries', 'out', 'chorus', 'before', 'cpu-prof', 'from-json', 'postgres', 'redis-server'],
  ]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name} (see --help)`);

  const quick = flags.has('quick');
  const str = (name: string): string | undefined => {
    const v = flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const num = (name: string, fallback: number, min: number, integer = true): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${raw}"`);
    }
    return value;
  };
  const list = <T extends string>(name: string, all: readonly T[]): T[] => {
    const raw = str(name);
    if (raw === undefined) return [...all];
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const item of items) if (!all.includes(item as T)) throw new Error(`--${name}: unknown "${item}" (one of ${all.join(', ')})`);
    // Keep the canonical order, so that runs interleave the same way whatever the flag's order.
    return all.filter((name) => items.includes(name));
  };

  const beforeEntry = str('before') === undefined ? null : resolve(str('before')!);
  if (beforeEntry === null && /\bbefore-/.test(str('systems') ?? ''))
    throw new Error('--systems: before-w1, before-w2 and before-redis need --before PATH');
  // The before-* systems exist only with --before, and then run by default beside the others.
  const systems = list(
    'systems',
    beforeEntry === null ? SYSTEM_NAMES.filter((s) => !(BEFORE_SYSTEMS as readonly string[]).includes(s)) : SYSTEM_NAMES,
  );
  const connections = num('connections', quick ? 2000 : 10_000, 1);
  const clients = num('clients', 1000, 4);
  const stormClients = num('storm-clients', quick ? 1000 : 10_000, 2);
  const out = str('out');
  return {
    runs: num('runs', quick ? 2 : 5, 1),
    connections,
    systems,
    scenarios: list('scenarios', SCENARIO_NAMES),
    clients: clients - (clients % 2),
    stormClients: stormClients - (stormClients % 2),
    fanoutSenders: 4,
    fanoutWindow: 4,
    roomSize: 50,
    roomWindow: 2,
    rate: num('rate', 5000, 1),
    window: 2,
    textBytes: 100,
    duration: num('duration', quick ? 2 : 4, 0.2, false),
    warmup: num('warmup', quick ? 0.5 : 1, 0, false),
    generators: Math.max(num('generators', 2, 1), Math.ceil(Math.max(connections, stormClients) / 15_000)),
    connectTimeout: num('connect-timeout', quick ? 30 : 60, 1, false),
    noiseRetries: num('noise-retries', 0, 0),
    outDir: out === undefined ? join(ROOT, 'bench', 'results') : resolve(out),
    docs: !flags.has('no-docs') && str('cpu-prof') === undefined && beforeEntry === null,
    cpuProfDir: str('cpu-prof') === undefined ? null : resolve(str('cpu-prof')!),
    receipts: !flags.has('no-receipts'),
    postgresUrl: str('postgres') ?? DEFAULT_POSTGRES_URL,
    redisServer: str('redis-server') ?? 'redis-server',
    fromJson: str('from-json') === undefined ? null : resolve(str('from-json')!),
    chorusEntry: resolve(str('chorus') ?? join(ROOT, 'apps/server/dist/main.js')),
    beforeEntry,
    quick,
  };
}

/** Where docs/performance.md and docs/performance.svg live. */
export const DOCS_DIR = join(ROOT, 'docs');
