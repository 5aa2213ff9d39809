import type { ConnectedClient } from '../load/ipc.js';
import { socketProcesses, type SystemSpec } from '../systems.js';
import { errorNote, measure, round, serverProcessOf, stopLoad, type Outcome, type Scenario, type ScenarioContext } from './common.js';
import { serviceFigures } from './service-figures.js';

/**
 * Pairs of clients inside each generator (so one clock measures both ends),
 * every pair split across the system's processes when it has several. Clients
 * that found no partner on another process stay connected and idle; more are
 * connected until every generator has its share of pairs (a few rounds at most).
 */
async function makePairs(ctx: ScenarioContext): Promise<[string, string][][]> {
  const { pool, options, system } = ctx;
  const wanted = options.clients / 2;
  const share = pool.generators.map((_, gi) => Math.floor(wanted / pool.size) + (gi < wanted % pool.size ? 1 : 0));
  const connected: ConnectedClient[][] = await ctx.session.clients(ctx);
  const split = socketProcesses(system.spec) > 1;
  for (let attempt = 0; ; attempt++) {
    const nodeOf = new Map<string, string>();
    const unknown = connected.flat().filter((c) => c.node === null);
    const found = split && unknown.length > 0 ? serverProcessOf(ctx, unknown) : new Map<string, string>();
    for (const c of connected.flat()) nodeOf.set(c.id, split ? (c.node ?? found.get(c.id) ?? '?') : 'single');
    const pairs = connected.map((clients, gi) =>
      pairUp(
        clients.map((c) => c.id),
        nodeOf,
        share[gi]!,
        split,
      ),
    );
    const missing = pairs.map((p, gi) => share[gi]! - p.length);
    if (missing.every((m) => m <= 0)) return pairs;
    if (attempt >= 4)
      throw new Error(
        `${system.spec.name}: could not split ${wanted} pairs across its processes (got ${pairs.reduce((n, p) => n + p.length, 0)})`,
      );
    await ctx.session.add(
      ctx,
      missing.map((m) => Math.max(0, m) * 2),
    );
  }
}

/** Up to `count` pairs from `ids`: across nodes when `split`, else in order. */
function pairUp(ids: readonly string[], nodeOf: ReadonlyMap<string, string>, count: number, split: boolean): [string, string][] {
  const pairs: [string, string][] = [];
  if (!split) {
    for (let i = 0; i + 1 < ids.length && pairs.length < count; i += 2) pairs.push([ids[i]!, ids[i + 1]!]);
    return pairs;
  }
  const byNode = new Map<string, string[]>();
  for (const id of ids) {
    const node = nodeOf.get(id) ?? '?';
    if (node === '?') continue;
    let list = byNode.get(node);
    if (!list) byNode.set(node, (list = []));
    list.push(id);
  }
  // Always pair from the two largest groups, so that every pair crosses processes.
  const lists = [...byNode.values()];
  while (pairs.length < count) {
    lists.sort((a, b) => b.length - a.length);
    if (lists.length < 2 || lists[1]!.length === 0) break;
    pairs.push([lists[0]!.pop()!, lists[1]!.pop()!]);
  }
  return pairs;
}

/**
 * Direct messages between partners. Phase 1: a fixed total rate (5,000 msg/s,
 * open loop): p50/p99 end-to-end latency. Phase 2: closed loop, `window`
 * messages in flight per client: the highest rate the system sustains (the
 * window bounds latency, so the rate is what it carries without queues growing),
 * and the server's CPU per message.
 */
async function runDirect(ctx: ScenarioContext): Promise<Outcome> {
  const { pool, options } = ctx;
  const pairs = await makePairs(ctx);
  const total = pairs.reduce((n, p) => n + p.length, 0);
  const notes = [...ctx.session.notes];

  await Promise.all(
    pool.generators.map((g, gi) =>
      g.request(
        {
          type: 'direct',
          pairs: pairs[gi]!,
          mode: 'rate',
          rate: (options.rate * pairs[gi]!.length) / total,
          window: 0,
          textBytes: options.textBytes,
        },
        10_000,
      ),
    ),
  );
  await pool.all({ type: 'start' }, 10_000);
  const fixed = await measure(ctx, `${options.rate.toLocaleString('en-US')} msg/s`);
  const leftover = await stopLoad(ctx);
  const lost = leftover.reduce((n, m) => n + m.sent - m.received, 0);
  if (lost > 0) notes.push(`${lost} messages of the fixed-rate phase had not arrived 3 s after it ended`);
  const achieved = fixed.received / fixed.seconds;
  if (achieved < options.rate * 0.95) {
    // Queues grew all along: its latency is the queue's, and a window's counts (Redis commands) mix in the backlog.
    notes.push(
      `fell behind the fixed rate (${Math.round(achieved).toLocaleString('en-US')} of ${options.rate.toLocaleString('en-US')} msg/s delivered): its latency and per-message figures at that rate measure a growing queue`,
    );
  }

  await Promise.all(
    pool.generators.map((g, gi) =>
      g.request(
        { type: 'direct', pairs: pairs[gi]!, mode: 'closed', rate: 0, window: options.window, textBytes: options.textBytes },
        10_000,
      ),
    ),
  );
  await pool.all({ type: 'start' }, 10_000);
  const closed = await measure(ctx, `closed loop, ${options.window} in flight per client`);
  await stopLoad(ctx);
  notes.push(...errorNote(fixed, 'the fixed-rate phase'), ...errorNote(closed, 'the closed-loop phase'));
  return {
    figures: {
      p50Ms: round(fixed.latency.quantile(0.5) / 1000, 3),
      p99Ms: round(fixed.latency.quantile(0.99) / 1000, 3),
      achievedRate: round(fixed.received / fixed.seconds, 0),
      maxRate: round(closed.received / closed.seconds, 0),
      cpuMicrosPerMessage: round(closed.cpuMicros / closed.received, 2),
      p50AtMaxMs: round(closed.latency.quantile(0.5) / 1000, 3),
      p99AtMaxMs: round(closed.latency.quantile(0.99) / 1000, 3),
      serverCpuCores: round(closed.cpuMicros / 1e6 / closed.seconds, 2),
      pairs: total,
      foreignCpuCores: round(Math.max(fixed.foreignCores, closed.foreignCores), 2),
      // Redis commands per private message at the fixed rate (where a backend that batches
      // per event-loop turn gains least), and at the highest rate. Per message delivered (a
      // private message has one recipient), not sent: a system that falls behind the fixed
      // rate routes fewer messages in the window than the clients send.
      ...serviceFigures(ctx.system.spec, fixed, fixed.received),
      ...serviceFigures(ctx.system.spec, closed, closed.received, 'AtMax'),
    },
    notes,
  };
}

export const directScenario: Scenario = {
  name: 'direct',
  title: 'direct: private messages between pairs',
  start: 'shared',
  protocol: (spec) => spec.protocol,
  notApplicable: () => null,
  run: runDirect,
};

/** The direct scenario over Chorus's text protocol (`message,target`), for the cost of JSON and validation. */
export const directTextScenario: Scenario = {
  name: 'direct-text',
  title: 'direct over the text protocol',
  start: 'fresh',
  protocol: (spec) => spec.textProtocol ?? spec.protocol,
  notApplicable: (spec: SystemSpec) => (spec.textProtocol ? null : `${spec.name} has no text protocol`),
  run: runDirect,
};
