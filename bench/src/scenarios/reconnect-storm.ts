import type { SystemSpec } from '../systems.js';
import {
  foreignCores,
  monotonicMicros,
  round,
  sampleAll,
  sleep,
  sourceAddresses,
  target,
  type Outcome,
  type Scenario,
  type ScenarioContext,
} from './common.js';

/** The browser's reconnect backoff (apps/web/src/lib/state/connection.svelte.ts): full jitter, 500 ms base, 15 s cap. */
const BACKOFF = { baseMs: 500, capMs: 15_000 };
/** Messages each client sends its partner just before the restart. */
const MESSAGES_BEFORE_RESTART = 2;
/** How long the old server may take to stop before it is killed. */
const STOP_GRACE_MS = 25_000;

const hrMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * N chorus.v1 clients in pairs (both ends in one generator), each with a
 * cursor (it has received a message), send their partners a few more
 * messages; once those are acknowledged the server is restarted as an
 * operator would (SIGTERM, then the same server on the same port with the
 * same SQLite file). Every client reconnects as the browser does (backoff
 * with full jitter, `?resume=1`, its cursors in a `resume` frame). Figures:
 * the time from the SIGTERM until every client has its `resumed`, the
 * server's CPU per resumed client (from the new server's readiness to the
 * last `resumed`), and the acknowledged messages that some recipient lacks
 * or got twice after its resume (both must be 0).
 */
async function runStorm(ctx: ScenarioContext): Promise<Outcome> {
  const { pool, options, system, status } = ctx;
  const n = options.stormClients;
  const pairs: [string, string][][] = pool.generators.map(() => []);
  for (let k = 0; k < n / 2; k++) pairs[k % pool.size]!.push([`s${2 * k}`, `s${2 * k + 1}`]);
  const budgetMs = options.connectTimeout * 1000;
  const addresses = sourceAddresses(n);

  status.detail(`connecting ${n.toLocaleString('en-US')} resuming clients`);
  const connected = await Promise.all(
    pool.generators.map((g, gi) =>
      g.request(
        {
          type: 'storm-connect',
          target: target(ctx, 'chorus-json'),
          pairs: pairs[gi]!,
          localAddresses: addresses,
          concurrency: 100,
          timeoutMs: 10_000,
          budgetMs,
        },
        budgetMs + 30_000,
      ),
    ),
  );
  const missing = connected.reduce((m, c) => m + c.failed, 0);
  if (missing > 0) {
    throw new Error(`${missing} of ${n} clients did not connect to ${system.spec.name} (${connected.flatMap((c) => c.errors).join('; ')})`);
  }

  // Every client gets a message (so it has a cursor), and has it before anything else happens.
  status.detail('a first message to every client');
  const first = await pool.all(
    { type: 'storm-send', perClient: 1, waitFor: 'delivered', textBytes: options.textBytes, timeoutMs: 30_000 },
    40_000,
  );
  const firstSent = first.reduce((m, r) => m + r.sent, 0);
  const firstDelivered = first.reduce((m, r) => m + r.delivered, 0);
  if (firstDelivered < firstSent || first.some((r) => r.acked < r.sent)) {
    throw new Error(
      `the first messages did not all arrive within 30 s (${firstDelivered} of ${firstSent} delivered; ${first.find((r) => r.firstError)?.firstError ?? 'no error frame'})`,
    );
  }

  // What the server spends with its clients connected and quiet (timers, heartbeats): a storm
  // that takes long because of the clients' backoff pays it all along.
  const idleFrom = sampleAll(ctx);
  await sleep(1_000);
  const idleTo = sampleAll(ctx);
  const idleCores = (idleTo.system - idleFrom.system) / 1e6 / ((idleTo.at - idleFrom.at) / 1000);

  const stormBudgetMs = Math.max(60_000, options.connectTimeout * 2000);
  await pool.all({ type: 'storm-arm', ...BACKOFF, timeoutMs: 10_000, budgetMs: stormBudgetMs }, 10_000);
  // Just before the restart: more messages, written to the sockets, and the SIGTERM right behind them.
  // Some are acked and delivered before the server goes, some acked and not delivered (the replay
  // must bring them), some never acked (the check does not count those).
  status.detail('messages, then at once a restart (SIGTERM, then the same server on the same port and data)');
  await pool.all(
    { type: 'storm-send', perClient: MESSAGES_BEFORE_RESTART, waitFor: 'written', textBytes: options.textBytes, timeoutMs: 10_000 },
    20_000,
  );
  const cpuBefore = sampleAll(ctx);
  const startUs = monotonicMicros();
  const termAt = hrMs();
  const termPerf = performance.now();
  // The server's own stop deadline is 20 s (a cluster's primary): the bench waits longer, so that
  // the figure is the server's stop, not a SIGKILL the bench chose.
  const restarted = await system.restart(STOP_GRACE_MS);
  const readyAt = hrMs();
  const cpuReady = sampleAll(ctx);
  const t0 = performance.now();
  status.detail(() => `waiting for every resumed · ${Math.round((performance.now() - t0) / 1000)} s since the server was ready`);
  const waited = await pool.all({ type: 'storm-wait', timeoutMs: stormBudgetMs }, stormBudgetMs + 10_000);
  const cpuEnd = sampleAll(ctx);
  ctx.onWindow('reconnect storm', startUs, monotonicMicros());

  // Live messages still on their way after the replays (none are sent meanwhile): a moment, then the check.
  await sleep(1_000);
  const checks = await pool.all({ type: 'storm-check' }, 10_000);

  const times = waited.flatMap((w) => w.resumedAt).sort((a, b) => a - b);
  const resumed = times.length;
  const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
  const lost = sum(checks.map((c) => c.lost));
  const duplicates = sum(checks.map((c) => c.duplicates));
  const notes: string[] = [];
  if (resumed < n) notes.push(`${n - resumed} of ${n} clients had no \`resumed\` within ${stormBudgetMs / 1000} s`);
  if (lost > 0) notes.push(`${lost} acknowledged messages lost, e.g. ${checks.flatMap((c) => c.examples).join('; ')}`);
  if (duplicates > 0) notes.push(`${duplicates} messages received twice (at or below the cursor the client sent)`);
  const unacked = sum(checks.map((c) => c.unacked));
  if (unacked > 0) notes.push(`${unacked} sends had no ack before the restart (not required to arrive)`);
  if (!restarted.clean) notes.push(`the old server needed SIGKILL ${STOP_GRACE_MS / 1000} s after SIGTERM`);
  const stopSeconds = (restarted.exitedAt - termPerf) / 1000;
  if (stopSeconds > 2) notes.push(`the old server took ${stopSeconds.toFixed(1)} s to stop after SIGTERM`);
  const errors = sum(waited.map((w) => w.errors));
  const firstError = waited.find((w) => w.firstError)?.firstError;
  if (errors > 0) notes.push(`${errors} error frames, the first: ${firstError}`);
  const last = times.at(-1) ?? Number.NaN;
  return {
    figures: {
      clients: n,
      resumed,
      stormSeconds: resumed === n ? round((last - termAt) / 1000, 3) : Number.NaN,
      cpuMicrosPerResume: round((cpuEnd.system - cpuReady.system) / Math.max(1, resumed), 1),
      // The same without what the server would have spent idle over that time.
      cpuMicrosPerResumeAboveIdle: round(
        (cpuEnd.system - cpuReady.system - idleCores * 1e6 * ((cpuEnd.at - cpuReady.at) / 1000)) / Math.max(1, resumed),
        1,
      ),
      idleCpuCores: round(idleCores, 3),
      lostMessages: lost,
      duplicateMessages: duplicates,
      restartSeconds: round((readyAt - termAt) / 1000, 3),
      stopSeconds: round(stopSeconds, 3),
      resumeSeconds: resumed === n ? round((last - readyAt) / 1000, 3) : Number.NaN,
      p50ResumedSeconds: round((quantile(times, 0.5) - termAt) / 1000, 3),
      p99ResumedSeconds: round((quantile(times, 0.99) - termAt) / 1000, 3),
      restartCpuSeconds: round((cpuReady.system - cpuBefore.system) / 1e6, 2),
      attemptsPerClient: round(sum(waited.map((w) => w.attempts)) / n, 2),
      failedAttemptsPerClient: round(sum(waited.map((w) => w.failedAttempts)) / n, 2),
      // Acked of the messages sent right before the restart (the first ones, one per client, were all acked).
      ackedOfLastBurst: sum(checks.map((c) => c.expected)) - n,
      sentInLastBurst: n * MESSAGES_BEFORE_RESTART,
      checkedMessages: sum(checks.map((c) => c.expected)),
      replayedMessages: sum(checks.map((c) => c.replayed)),
      foreignCpuCores: round(foreignCores(cpuReady, cpuEnd), 2),
    },
    notes,
  };
}

export const reconnectStormScenario: Scenario = {
  name: 'reconnect-storm',
  title: 'reconnect storm: every client resumes after a server restart',
  start: 'fresh',
  protocol: () => 'chorus-json',
  notApplicable: (spec: SystemSpec) => {
    if (spec.protocol !== 'chorus-json') return `${spec.name} has no resume (chorus.v1 only): a reconnect storm measures Chorus alone`;
    if (spec.nodes.length > 1) return `${spec.name}: restarting several nodes at once is not part of the scenario yet`;
    return null;
  },
  run: runStorm,
};
