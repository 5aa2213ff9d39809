import {
  connectSome,
  dealIds,
  foreignCores,
  monotonicMicros,
  round,
  sampleAll,
  sleep,
  type Scenario,
  type ScenarioContext,
} from './common.js';

/** RSS of the system tree, once it stops moving by more than 0.5% over 500 ms (at most `maxMs`). */
async function settledRss(ctx: ScenarioContext, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  let previous = ctx.system.sample().rssBytes;
  for (;;) {
    await sleep(500);
    const current = ctx.system.sample().rssBytes;
    if (Math.abs(current - previous) <= previous * 0.005 || Date.now() >= deadline) return current;
    previous = current;
  }
}

/**
 * N idle connections, opened 100 at a time per generator: the time from the
 * first attempt to the last admission (the welcome frame for Chorus JSON, the
 * open for the relay, the welcome event for Socket.IO), and the server's memory
 * per connection (RSS of every process of the system, after minus before, / N).
 * A system that cannot connect all N within --connect-timeout is reported with
 * the count it reached (and its memory per connection over those), and is not
 * measured again in later runs.
 */
export const connectScenario: Scenario = {
  name: 'connect',
  title: 'connect: idle connections',
  start: 'fresh',
  protocol: (spec) => spec.protocol,
  notApplicable: () => null,
  async run(ctx) {
    const n = ctx.options.connections;
    const before = await settledRss(ctx, 3_000);
    const cpuBefore = sampleAll(ctx);
    const startUs = monotonicMicros();
    const result = await connectSome(ctx, dealIds('c', n, ctx.pool.size));
    const cpuAfter = sampleAll(ctx);
    ctx.onWindow(`connecting ${n.toLocaleString('en-US')}`, startUs, monotonicMicros());
    const seconds = (cpuAfter.at - cpuBefore.at) / 1000;
    const foreign = foreignCores(cpuBefore, cpuAfter);
    const connected = result.connected;
    if (connected === 0) throw new Error(`no client could connect: ${result.errors.join('; ')}`);
    ctx.status.detail('letting memory settle');
    const after = await settledRss(ctx, 5_000);
    const timedOut = result.notAttempted > 0;
    const notes: string[] = [];
    let dontRepeat: string | undefined;
    if (result.failed > 0) notes.push(`${result.failed} connects failed: ${result.errors.join('; ')}`);
    if (timedOut) {
      const reached = `${connected.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} connected within --connect-timeout ${ctx.options.connectTimeout} s`;
      notes.push(`timed out: ${reached}; memory per connection is over those; not measured again in later runs`);
      dontRepeat = `timed out in an earlier run (${reached}); not repeated`;
    }
    return {
      figures: {
        connected,
        failed: result.failed,
        timedOut: timedOut ? 1 : 0,
        // The time to connect all N: only when every one was at least tried (failures are noted).
        connectSeconds: timedOut ? Number.NaN : round(seconds, 3),
        connectsPerSecond: round(connected / seconds, 0),
        memoryKiBPerConnection: round((after - before) / 1024 / connected, 2),
        cpuMicrosPerConnect: round((cpuAfter.system - cpuBefore.system) / connected, 1),
        rssBeforeMiB: round(before / 1024 / 1024, 1),
        rssAfterMiB: round(after / 1024 / 1024, 1),
        foreignCpuCores: round(foreign, 2),
      },
      notes,
      ...(dontRepeat === undefined ? {} : { dontRepeat }),
    };
  },
};
