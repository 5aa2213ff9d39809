import type { SenderSpec } from '../load/ipc.js';
import type { SystemSpec } from '../systems.js';
import { errorNote, measure, NotAvailable, round, Session, stopLoad, type Outcome, type Scenario, type ScenarioContext } from './common.js';
import { serviceFigures } from './service-figures.js';

/** A broadcast group: everyone (room null) or one room, with its members' ids. */
interface Group {
  readonly room: string | null;
  readonly members: readonly string[];
  readonly senders: readonly string[];
}

/**
 * Windowed broadcasts: `senders` clients each keep at most `window` messages
 * that not every receiver has yet; the generators tell the runner how far each
 * of their receivers has got, and the runner tells each sender's generator the
 * minimum. Figures: deliveries per second (messages received by clients) and
 * the server's CPU per delivery.
 */
async function runFanout(ctx: ScenarioContext, groups: readonly Group[], window: number, label: string): Promise<Outcome> {
  const { pool, options } = ctx;
  const clients = await ctx.session.clients(ctx);
  const generatorOf = new Map<string, number>();
  clients.forEach((list, g) => {
    for (const c of list) generatorOf.set(c.id, g);
  });

  // Rooms: the first member creates the room, then the others join (Chorus needs a creator).
  if (groups.some((g) => g.room !== null)) {
    const joins = (first: boolean) =>
      pool.generators.map((_, gi) => ({
        type: 'join' as const,
        timeoutMs: 10_000,
        joins: groups.flatMap((group) =>
          group.members
            .filter((m, k) => generatorOf.get(m) === gi && (k === 0) === first)
            .map((id) => ({ id, room: group.room!, create: first })),
        ),
      }));
    for (const first of [true, false]) {
      const answers = await Promise.all(joins(first).map((command, gi) => pool.generators[gi]!.request(command, 30_000)));
      const failed = answers.reduce((n, a) => n + a.failed, 0);
      if (failed > 0) {
        const why = answers.flatMap((a) => a.errors)[0] ?? 'unknown';
        throw new NotAvailable(`${ctx.system.spec.name} has no rooms (${first ? 'creating' : 'joining'} a room failed: ${why})`);
      }
    }
  }

  // Senders, numbered globally; receivers per sender per generator.
  const senders: (SenderSpec & { generator: number; group: Group })[] = [];
  for (const group of groups) {
    for (const id of group.senders) senders.push({ id, index: senders.length, room: group.room, generator: generatorOf.get(id)!, group });
  }
  const localReceivers = pool.generators.map((_, gi) =>
    senders.map((s) => s.group.members.filter((m) => generatorOf.get(m) === gi && m !== s.id).length),
  );
  const reported = senders.map(() => pool.generators.map(() => 0));
  const global = senders.map(() => 0);
  for (const g of pool.generators) {
    g.onWatermarks = (marks) => {
      for (const [index, seq] of marks) {
        reported[index]![g.index] = seq;
        let min = Number.POSITIVE_INFINITY;
        pool.generators.forEach((_, gi) => {
          if (localReceivers[gi]![index]! > 0) min = Math.min(min, reported[index]![gi]!);
        });
        if (min > global[index]!) {
          global[index] = min;
          pool.generators[senders[index]!.generator]!.sendWatermarks([[index, min]]);
        }
      }
    };
  }

  await Promise.all(
    pool.generators.map((g, gi) =>
      g.request(
        {
          type: 'fanout',
          senders: senders.filter((s) => s.generator === gi).map(({ id, index, room }) => ({ id, index, room })),
          localReceivers: localReceivers[gi]!,
          window,
          textBytes: options.textBytes,
        },
        10_000,
      ),
    ),
  );
  await pool.all({ type: 'start' }, 10_000);
  const w = await measure(ctx, label);
  await stopLoad(ctx);
  for (const g of pool.generators) g.onWatermarks = () => {};
  const notes = [...ctx.session.notes, ...errorNote(w, label)];
  return {
    figures: {
      deliveriesPerSecond: round(w.received / w.seconds, 0),
      cpuMicrosPerDelivery: round(w.cpuMicros / w.received, 3),
      messagesPerSecond: round(w.sent / w.seconds, 1),
      serverCpuCores: round(w.cpuMicros / 1e6 / w.seconds, 2),
      foreignCpuCores: round(w.foreignCores, 2),
      // Per broadcast sent: each sender's window keeps the sent and the routed a few messages apart.
      ...serviceFigures(ctx.system.spec, w, w.sent),
    },
    notes,
  };
}

export const fanoutScenario: Scenario = {
  name: 'fanout',
  title: 'fanout: broadcasts to everyone',
  start: 'shared',
  protocol: (spec) => spec.protocol,
  notApplicable: () => null,
  async run(ctx) {
    // Everyone connected receives a broadcast (clients a previous scenario added too).
    const all = (await ctx.session.clients(ctx))
      .flat()
      .map((c) => c.id)
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    const senders = all.slice(0, ctx.options.fanoutSenders);
    return runFanout(ctx, [{ room: null, members: all, senders }], ctx.options.fanoutWindow, 'fanout');
  },
};

/**
 * The fanout scenario inside rooms: clients in rooms of `roomSize`, one sender
 * per room. A system without rooms is reported as not available: for Chorus
 * the bench asks the server (create-room) and skips the scenario when it
 * answers with an error, so the scenario starts to count the day the protocol
 * has rooms, with no change here.
 */
export const roomScenario: Scenario = {
  name: 'room',
  title: 'room: broadcasts inside rooms',
  start: 'shared',
  protocol: (spec) => spec.protocol,
  notApplicable: (spec: SystemSpec) => (spec.rooms === 'yes' || spec.rooms === 'probe' ? null : `${spec.name} has no rooms`),
  async run(ctx) {
    const { clients, roomSize } = ctx.options;
    const groups: Group[] = [];
    await ctx.session.clients(ctx);
    for (let start = 0; start + roomSize <= clients; start += roomSize) {
      const members = Array.from({ length: roomSize }, (_, k) => Session.idOf(start + k)).filter((id) => ctx.session.has(id));
      if (members.length > 1) groups.push({ room: `bench-${groups.length}`, members, senders: [members[0]!] });
    }
    return runFanout(ctx, groups, ctx.options.roomWindow, 'rooms');
  },
};
