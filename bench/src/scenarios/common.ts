import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectedClient, MarkResult, Target } from '../load/ipc.js';
import type { GeneratorPool } from '../load/pool.js';
import type { BenchOptions, ScenarioName } from '../options.js';
import type { RunningSystem } from '../server-process.js';
import { cpuMicros, machineBusyMicros } from '../proc.js';
import { Histogram } from '../stats.js';
import type { Status } from '../status.js';
import type { ProtocolKind, SystemSpec } from '../systems.js';

export interface ScenarioContext {
  readonly system: RunningSystem;
  readonly pool: GeneratorPool;
  readonly options: BenchOptions;
  readonly status: Status;
}

/** A scenario's figures for one system in one run, or why it did not run. */
export type Outcome = { readonly figures: Record<string, number>; readonly notes: string[] } | { readonly skipped: string };

export interface Scenario {
  readonly name: ScenarioName;
  readonly title: string;
  /** Null when the scenario applies to the system; else why not (shown in the report). */
  notApplicable(spec: SystemSpec): string | null;
  run(ctx: ScenarioContext): Promise<Outcome>;
}

/** Thrown by a scenario that finds out at run time that a system lacks what it needs. */
export class NotAvailable extends Error {}

export function target(ctx: ScenarioContext, kind: ProtocolKind = ctx.system.spec.protocol): Target {
  return { kind, host: '127.0.0.1', port: ctx.system.port };
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

/**
 * Connects `perGenerator[g]` in generator g, all at once (100 connects in flight
 * per generator). Fails when a client cannot connect: the measured scenarios
 * need every client.
 */
export async function connectAll(ctx: ScenarioContext, perGenerator: string[][], kind?: ProtocolKind): Promise<ConnectedClient[][]> {
  const total = perGenerator.reduce((n, ids) => n + ids.length, 0);
  const addresses = sourceAddresses(total);
  ctx.status.detail(() => `connecting ${ctx.pool.progress.connected.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`);
  const results = await Promise.all(
    ctx.pool.generators.map((g, i) =>
      g.request(
        { type: 'connect', target: target(ctx, kind), ids: perGenerator[i] ?? [], localAddresses: addresses, concurrency: 100, timeoutMs: 30_000 },
        60_000 + total * 10,
      ),
    ),
  );
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} of ${total} clients could not connect to ${ctx.system.spec.name}: ${results.flatMap((r) => r.errors).slice(0, 3).join('; ')}`);
  return results.map((r) => r.clients);
}

/** Counters of all generators over one measured window, and the server's CPU over it. */
export interface Window {
  readonly seconds: number;
  readonly sent: number;
  readonly received: number;
  readonly errors: number;
  readonly cpuMicros: number;
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

/** Warm-up, then one measured window: generator counters between two marks, server CPU between them. */
export async function measure(ctx: ScenarioContext, label: string): Promise<Window> {
  await runFor(ctx, ctx.options.warmup, `${label} (warm-up)`);
  await ctx.pool.all({ type: 'mark' }, 10_000);
  const before = sampleAll(ctx);
  await runFor(ctx, ctx.options.duration, label);
  const marks = await ctx.pool.all({ type: 'mark' }, 10_000);
  const after = sampleAll(ctx);
  return {
    seconds: (after.at - before.at) / 1000,
    cpuMicros: after.system - before.system,
    foreignCores: foreignCores(before, after),
    ...merge(marks),
  };
}

/** CPU counters of everything the bench runs, and of the machine, now. */
export function sampleAll(ctx: ScenarioContext): { at: number; system: number; generators: number; runner: number; machine: number } {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    system: ctx.system.sample().cpuMicros,
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

/** A note when other processes used a noticeable share of the machine during a window. */
export function noiseNote(window: Pick<Window, 'foreignCores'>, label: string): string[] {
  return window.foreignCores >= 0.25 ? [`other processes used ${window.foreignCores.toFixed(2)} cores during ${label}`] : [];
}

function merge(marks: readonly MarkResult[]): Omit<Window, 'seconds' | 'cpuMicros' | 'foreignCores'> {
  const latency = new Histogram();
  let sent = 0;
  let received = 0;
  let errors = 0;
  for (const m of marks) {
    sent += m.sent;
    received += m.received;
    errors += m.errors;
    latency.addSparse(m.latency);
  }
  return { sent, received, errors, latency };
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
  const inodeToPid = new Map<string, number>();
  for (const pid of ctx.system.sample().pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodeToPid.set(match[1]!, pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  const byRemote = new Map<string, number>();
  const serverPort = ctx.system.port;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length <= 9 || cols[3] !== '01') continue; // 01 = ESTABLISHED
    const [localHex, localPortHex] = cols[1]!.split(':') as [string, string];
    if (parseInt(localPortHex, 16) !== serverPort || localHex === undefined) continue;
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
