import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectedClient, MarkResult, Target } from '../load/ipc.js';
import type { GeneratorPool } from '../load/pool.js';
import type { BenchOptions, ScenarioName } from '../options.js';
import type { RunningSystem, SystemPart } from '../server-process.js';
import { commandsBetween, type CommandCalls } from '../services/commandstats.js';
import { cpuMicros, machineBusyMicros, socketInodes } from '../proc.js';
import { Histogram } from '../stats.js';
import type { Status } from '../status.js';
import type { ProtocolKind, SystemSpec } from '../systems.js';

export interface ScenarioContext {
  readonly system: RunningSystem;
  readonly pool: GeneratorPool;
  readonly options: BenchOptions;
  readonly status: Status;
  /** The clients shared by the scenarios of one start of the system. */
  readonly session: Session;
  /** Told of every measured window (monotonic clock, microseconds), e.g. to cut CPU profiles to it. */
  readonly onWindow: (label: string, startUs: number, endUs: number) => void;
}

/** The monotonic clock of every process of the machine (and of V8's CPU profiles), in microseconds. */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * A scenario's figures for one system in one run, or why it did not run.
 * `dontRepeat`: the reason not to measure this system again in later runs
 * (e.g. it ran out of time: repeating would only stretch the bench).
 */
export type Outcome =
  | { readonly figures: Record<string, number>; readonly notes: string[]; readonly dontRepeat?: string }
  | { readonly skipped: string };

export interface Scenario {
  readonly name: ScenarioName;
  readonly title: string;
  /**
   * 'fresh': the system is started for this scenario alone (e.g. to measure
   * memory from a clean start). 'shared': consecutive shared scenarios run on
   * one start of the system and one set of clients, in the order listed.
   */
  readonly start: 'fresh' | 'shared';
  /** The protocol of the session's clients. */
  protocol(spec: SystemSpec): ProtocolKind;
  /** Null when the scenario applies to the system; else why not (shown in the report). */
  notApplicable(spec: SystemSpec): string | null;
  run(ctx: ScenarioContext): Promise<Outcome>;
}

/**
 * The clients of one start of a system: `options.clients` of them, ids u0, u1,
 * ... dealt to the generators round-robin (u<i> lives in generator i % G),
 * connected when a scenario first asks; scenarios may add more (which then
 * stay, idle, for the next ones). A few clients (1% at most) that cannot
 * connect are left out, with a note; more fail the scenario.
 */
export class Session {
  readonly kind: ProtocolKind;
  /** What the scenarios should report about the session (clients left out). */
  readonly notes: string[] = [];
  #clients: ConnectedClient[][] | null = null;
  #connected = new Set<string>();
  #next = 0;

  constructor(kind: ProtocolKind) {
    this.kind = kind;
  }

  static idOf(index: number): string {
    return `u${index}`;
  }

  /** The clients per generator, connecting the first `options.clients` on first use. */
  async clients(ctx: ScenarioContext): Promise<ConnectedClient[][]> {
    if (this.#clients === null) {
      this.#clients = await this.#connect(ctx, dealIds('u', ctx.options.clients, ctx.pool.size));
      this.#next = ctx.options.clients;
    }
    return this.#clients;
  }

  /** Whether client `id` is connected (the ones left out are not). */
  has(id: string): boolean {
    return this.#connected.has(id);
  }

  /** Connects `counts[g]` more clients in generator g. */
  async add(ctx: ScenarioContext, counts: readonly number[]): Promise<void> {
    const clients = await this.clients(ctx);
    const ids = counts.map((count) => Array.from({ length: count }, () => Session.idOf(this.#next++)));
    const added = await this.#connect(ctx, ids);
    added.forEach((list, g) => {
      clients[g]!.push(...list);
    });
  }

  async #connect(ctx: ScenarioContext, ids: string[][]): Promise<ConnectedClient[][]> {
    // Setting up a scenario's clients, not measuring connects: a connect that hangs (Socket.IO's
    // cluster now and then never answers one) is tried again, and reported under the table.
    const c = await connectSome(ctx, ids, this.kind, { attempts: 3, timeoutMs: 10_000 });
    if (c.retried > 0) this.notes.push(`${c.retried} of ${c.total} clients connected only when tried again (${c.errors.join('; ')})`);
    const missing = c.total - c.connected;
    if (missing > c.total / 100) failConnect(ctx, c);
    if (missing > 0) this.notes.push(`${missing} of ${c.total} clients could not connect and were left out (${c.errors.join('; ')})`);
    for (const list of c.clients) for (const client of list) this.#connected.add(client.id);
    return c.clients;
  }
}

/** Thrown by a scenario that finds out at run time that a system lacks what it needs. */
export class NotAvailable extends Error {}

export function target(ctx: ScenarioContext, kind: ProtocolKind = ctx.session.kind): Target {
  return { kind, host: '127.0.0.1', ports: ctx.system.ports, receipts: ctx.options.receipts };
}

/**
 * Source addresses for `count` connections to one destination: one per 20,000
 * (the ephemeral port range holds ~28,000), 127.0.0.1, 127.0.0.2, ...
 */
export function sourceAddresses(count: number): string[] {
  return Array.from({ length: Math.max(1, Math.ceil(count / 20_000)) }, (_, i) => `127.0.0.${i + 1}`);
}

/** The ids of `count` clients, dealt to the generators round-robin. */
export function dealIds(prefix: string, count: number, generators: number, offset = 0): string[][] {
  const out: string[][] = Array.from({ length: generators }, () => []);
  for (let i = 0; i < count; i++) out[i % generators]!.push(`${prefix}${offset + i}`);
  return out;
}

/** What connectSome did: the clients per generator, and whether every one connected in time. */
export interface Connected {
  readonly clients: ConnectedClient[][];
  readonly total: number;
  readonly connected: number;
  readonly failed: number;
  readonly retried: number;
  readonly notAttempted: number;
  readonly errors: string[];
}

/**
 * Connects `perGenerator[g]` in generator g (100 connects in flight per
 * generator) until all are connected or the --connect-timeout budget is spent.
 */
export async function connectSome(
  ctx: ScenarioContext,
  perGenerator: string[][],
  kind?: ProtocolKind,
  { attempts = 1, timeoutMs = 30_000 }: { attempts?: number; timeoutMs?: number } = {},
): Promise<Connected> {
  const total = perGenerator.reduce((n, ids) => n + ids.length, 0);
  const addresses = sourceAddresses(total);
  const budgetMs = ctx.options.connectTimeout * 1000;
  const base = ctx.pool.progress.connected;
  const t0 = performance.now();
  ctx.status.detail(() => {
    const left = Math.max(0, budgetMs - (performance.now() - t0)) / 1000;
    return `connecting ${(ctx.pool.progress.connected - base).toLocaleString('en-US')}/${total.toLocaleString('en-US')} · at most ${left.toFixed(0)} s left`;
  });
  const results = await Promise.all(
    ctx.pool.generators.map((g, i) =>
      g.request(
        {
          type: 'connect',
          target: target(ctx, kind),
          ids: perGenerator[i] ?? [],
          localAddresses: addresses,
          concurrency: 100,
          timeoutMs,
          attempts,
          budgetMs,
        },
        budgetMs + 60_000,
      ),
    ),
  );
  const clients = results.map((r) => r.clients);
  return {
    clients,
    total,
    connected: clients.reduce((n, c) => n + c.length, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    retried: results.reduce((n, r) => n + r.retried, 0),
    notAttempted: results.reduce((n, r) => n + r.notAttempted, 0),
    errors: results.flatMap((r) => r.errors).slice(0, 3),
  };
}

/** Throws the reason why clients did not connect. */
function failConnect(ctx: ScenarioContext, c: Connected): never {
  const why = c.failed > 0 ? `${c.failed} failed (${c.errors.join('; ')})` : '';
  const late = c.notAttempted > 0 ? `${c.notAttempted} not tried within --connect-timeout ${ctx.options.connectTimeout} s` : '';
  throw new Error(
    `${c.total - c.connected} of ${c.total} clients did not connect to ${ctx.system.spec.name}: ${[why, late].filter(Boolean).join(', ')}`,
  );
}

/** Counters of all generators over one measured window, and the server's CPU over it. */
export interface Window {
  readonly seconds: number;
  readonly sent: number;
  readonly received: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly cpuMicros: number;
  /** The same by part: the nodes, redis-server, the PostgreSQL backends of the system's database. */
  readonly cpuMicrosOf: Readonly<Record<SystemPart, number>>;
  /** Redis commands the system called during the window, by name; null for a system without Redis. */
  readonly redisCommands: CommandCalls | null;
  /**
   * CPU the rest of the machine used meanwhile (neither the system, nor the
   * load generators, nor the runner), in cores: the noise of a shared machine.
   */
  readonly foreignCores: number;
  readonly latency: Histogram;
}

/** Sleeps `seconds` while the progress line shows the delivery rate. */
export async function runFor(ctx: ScenarioContext, seconds: number, label: string): Promise<void> {
  const start = performance.now();
  let lastCount = ctx.pool.progress.received;
  let lastAt = start;
  let rate = 0;
  ctx.status.detail(() => {
    const at = performance.now();
    const count = ctx.pool.progress.received;
    if (at - lastAt >= 500) {
      rate = ((count - lastCount) * 1000) / (at - lastAt);
      lastCount = count;
      lastAt = at;
    }
    const left = Math.max(0, seconds - (at - start) / 1000);
    return `${label} · ${Math.round(rate).toLocaleString('en-US')} deliveries/s · ${left.toFixed(1)} s left`;
  });
  await sleep(seconds * 1000);
}

/** Other processes using this many cores during a window make it worth measuring again. */
const NOISY_CORES = 0.5;

/**
 * Warm-up, then one measured window: generator counters between two marks,
 * server CPU between them. On this shared machine, a window during which other
 * processes used half a core or more is measured again (--noise-retries times
 * at most), and the quietest window is kept.
 */
export async function measure(ctx: ScenarioContext, label: string): Promise<Window> {
  await runFor(ctx, ctx.options.warmup, `${label} (warm-up)`);
  let best = await measureOnce(ctx, label);
  for (let retry = 1; retry <= ctx.options.noiseRetries && best.foreignCores >= NOISY_CORES; retry++) {
    const again = await measureOnce(ctx, `${label} (again: the machine was busy)`);
    if (again.foreignCores < best.foreignCores) best = again;
  }
  return best;
}

async function measureOnce(ctx: ScenarioContext, label: string): Promise<Window> {
  await ctx.system.refresh();
  await ctx.pool.all({ type: 'mark' }, 10_000);
  const redisBefore = await ctx.system.redisCommands();
  const before = sampleAll(ctx);
  const startUs = monotonicMicros();
  await runFor(ctx, ctx.options.duration, label);
  const marks = await ctx.pool.all({ type: 'mark' }, 10_000);
  const after = sampleAll(ctx);
  const redisAfter = await ctx.system.redisCommands();
  ctx.onWindow(label, startUs, monotonicMicros());
  const window = {
    seconds: (after.at - before.at) / 1000,
    cpuMicros: after.system - before.system,
    cpuMicrosOf: {
      nodes: after.parts.nodes - before.parts.nodes,
      redis: after.parts.redis - before.parts.redis,
      postgres: after.parts.postgres - before.parts.postgres,
    },
    redisCommands: redisBefore === null || redisAfter === null ? null : commandsBetween(redisBefore, redisAfter),
    foreignCores: foreignCores(before, after),
    ...merge(marks),
  };
  if (window.received === 0) {
    const why = window.errors > 0 ? `${window.errors} error frames, the first: ${window.firstError}` : 'no error frame either';
    throw new Error(`no message arrived during ${label} (${window.sent} sent; ${why})`);
  }
  return window;
}

/** A note on the error frames of a window, if any. */
export function errorNote(window: Pick<Window, 'errors' | 'firstError'>, label: string): string[] {
  return window.errors > 0 ? [`${window.errors} error frames during ${label}, the first: ${window.firstError}`] : [];
}

/** CPU counters of everything the bench runs, and of the machine, now. */
export function sampleAll(ctx: ScenarioContext): {
  at: number;
  system: number;
  parts: Readonly<Record<SystemPart, number>>;
  generators: number;
  runner: number;
  machine: number;
} {
  const usage = process.cpuUsage();
  const system = ctx.system.sample();
  return {
    at: performance.now(),
    system: system.cpuMicros,
    parts: system.cpuMicrosOf,
    generators: ctx.pool.generators.reduce((n, g) => n + cpuMicros(g.pid), 0),
    runner: usage.user + usage.system,
    machine: machineBusyMicros(),
  };
}

/** Cores the rest of the machine used between two samples. */
export function foreignCores(before: ReturnType<typeof sampleAll>, after: ReturnType<typeof sampleAll>): number {
  const seconds = (after.at - before.at) / 1000;
  const ours = after.system - before.system + after.generators - before.generators + after.runner - before.runner;
  return Math.max(0, (after.machine - before.machine - ours) / 1e6 / seconds);
}

function merge(marks: readonly MarkResult[]): Omit<Window, 'seconds' | 'cpuMicros' | 'cpuMicrosOf' | 'redisCommands' | 'foreignCores'> {
  const latency = new Histogram();
  let sent = 0;
  let received = 0;
  let errors = 0;
  let firstError: string | null = null;
  for (const m of marks) {
    sent += m.sent;
    received += m.received;
    errors += m.errors;
    firstError ??= m.firstError;
    latency.addSparse(m.latency);
  }
  return { sent, received, errors, firstError, latency };
}

/** Stops the load and waits (at most `drainMs`) for what is in flight to arrive. */
export async function stopLoad(ctx: ScenarioContext, drainMs = 3_000): Promise<MarkResult[]> {
  return ctx.pool.all({ type: 'stop', drainMs }, drainMs + 10_000);
}

/**
 * Which server process holds each client connection, for protocols that do not
 * say: the server end of the TCP connection (local port = the system's port,
 * remote = the client's address and port) is a socket inode, found among the
 * file descriptors of one process of the system's tree.
 */
export function serverProcessOf(ctx: ScenarioContext, clients: readonly ConnectedClient[]): Map<string, string> {
  const inodeToPid = socketInodes(ctx.system.sample().pids);
  const byRemote = new Map<string, number>();
  const serverPorts = new Set(ctx.system.ports);
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length <= 9 || cols[3] !== '01') continue; // 01 = ESTABLISHED
    const [localHex, localPortHex] = cols[1]!.split(':') as [string, string];
    if (!serverPorts.has(parseInt(localPortHex, 16)) || localHex === undefined) continue;
    const [remoteHex, remotePortHex] = cols[2]!.split(':') as [string, string];
    const pid = inodeToPid.get(cols[9]!);
    if (pid !== undefined) byRemote.set(`${hexToIPv4(remoteHex)}:${parseInt(remotePortHex, 16)}`, pid);
  }
  const out = new Map<string, string>();
  for (const c of clients) {
    const pid = byRemote.get(`${c.localAddress}:${c.localPort}`);
    if (pid !== undefined) out.set(c.id, `pid-${pid}`);
  }
  return out;
}

/** /proc/net/tcp writes an IPv4 address as one little-endian hex word. */
function hexToIPv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

/** Round to `digits` significant decimals for the JSON (the raw doubles are noise). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export { sleep };
