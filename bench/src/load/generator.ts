/**
 * A load-generator process (forked by the runner, see pool.ts). It holds client
 * connections to one system at a time and drives them as the runner commands:
 * connect, join rooms, fanout (windowed broadcasts), direct (pairs, at a fixed
 * rate or closed-loop), mark (counters since the previous mark), stop, close.
 * Every loop stops by itself when told to stop, and the process exits when its
 * parent goes away.
 */
import { Histogram } from '../stats.js';
import { createClient, type BenchClient } from './clients.js';
import { closeStorm, executeStorm, stormClientCount } from './storm.js';
import {
  isBenchMessage,
  CHANNEL,
  type Command,
  type ConnectResult,
  type FromGenerator,
  type MarkResult,
  type Replies,
  type Target,
  type ToGenerator,
} from './ipc.js';

const clients = new Map<string, BenchClient>();
let target: Target | null = null;
let load: Load | null = null;

const counters = { sent: 0, received: 0, errors: 0 };
let firstError: string | null = null;
const recordError = (message: string): void => {
  firstError ??= message;
};
const latency = new Histogram();
let totalReceived = 0;

/**
 * A load: set up by its command (receivers count from then on), sending from
 * start() until stop(), and saying when everything it sent has arrived. Its
 * receivers keep counting after stop(), while other generators drain.
 */
interface Load {
  start(): void;
  stop(): void;
  readonly inFlight: number;
  onWatermarks?(marks: [number, number][]): void;
}

function post(message: FromGenerator): void {
  if (process.connected) process.send!(message);
}

const now = (): number => performance.now();
const hrMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** `prefix|` padded with dots to `bytes` characters (a comma-free, JSON-safe ~100-byte text). */
function payload(prefix: string, bytes: number): string {
  return prefix.length >= bytes ? prefix : prefix + '.'.repeat(bytes - prefix.length);
}

// ---- connect ---------------------------------------------------------------------

async function connect(command: Extract<Command, { type: 'connect' }>): Promise<ConnectResult> {
  target = command.target;
  const startedAt = hrMs();
  const result = { clients: [] as ConnectResult['clients'], failed: 0, retried: 0, errors: [] as string[] };
  const deadline = hrMs() + command.budgetMs;
  let next = 0;
  const bindSource = command.localAddresses.length > 1;
  const worker = async (): Promise<void> => {
    while (next < command.ids.length && hrMs() < deadline) {
      const index = next++;
      const id = command.ids[index]!;
      const localAddress = command.localAddresses[index % command.localAddresses.length]!;
      // A socket bound to a source address takes its port at bind(), before the kernel knows
      // the destination: every bound connection needs a port of its own, and a port in TIME_WAIT
      // from an earlier scenario cannot be taken. Left unbound, connect() picks a port that is
      // free for this destination and may reuse TIME_WAIT ones on loopback (tcp_tw_reuse). So
      // bind only when several source addresses are needed (past the ephemeral port range).
      for (let attempt = 1; ; attempt++) {
        const port = command.target.ports[index % command.target.ports.length]!;
        const client = createClient(command.target, port, id, bindSource ? localAddress : undefined);
        client.onMessage = countOnly;
        client.onError = recordError;
        try {
          await client.open(command.timeoutMs);
          clients.set(id, client);
          result.clients.push({ id, node: client.node, localPort: client.localPort, localAddress });
          if (attempt > 1) result.retried++;
          break;
        } catch (err) {
          client.close();
          if (result.errors.length < 5) result.errors.push(`${id}: ${(err as Error).message}`);
          if (attempt < command.attempts && hrMs() < deadline) continue;
          result.failed++;
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, command.concurrency) }, worker));
  return { ...result, notAttempted: command.ids.length - next, startedAt, finishedAt: hrMs() };
}

function countOnly(): void {
  counters.received++;
  totalReceived++;
}

async function join(command: Extract<Command, { type: 'join' }>): Promise<Replies['join']> {
  const out: Replies['join'] = { joined: 0, failed: 0, errors: [] };
  await Promise.all(
    command.joins.map(async ({ id, room, create }) => {
      try {
        const client = clients.get(id);
        if (!client) throw new Error(`${id} is not connected here`);
        await client.join(room, create, command.timeoutMs);
        out.joined++;
      } catch (err) {
        out.failed++;
        if (out.errors.length < 5) out.errors.push((err as Error).message);
      }
    }),
  );
  return out;
}

// ---- fanout ----------------------------------------------------------------------

/**
 * Broadcasters with a bounded window: a sender has at most `window` messages
 * that some receiver (in any generator) has not received yet. Receivers here
 * count arrivals per sender; when every local receiver has seq N of a sender,
 * the local watermark moves to N and goes to the runner, which sends the owner
 * of the sender the minimum over all generators.
 */
function startFanout(command: Extract<Command, { type: 'fanout' }>): Load {
  const senders = command.senders.map((spec) => ({ spec, client: mustGet(spec.id), seq: 0, watermark: 0 }));
  const byIndex = new Map(senders.map((s) => [s.spec.index, s]));
  const arrivals = command.localReceivers.map(() => new Map<number, number>());
  const localWatermark = command.localReceivers.map(() => 0);
  const changed = new Set<number>();
  let reportScheduled = false;
  let running = true;

  const sendFrom = (s: (typeof senders)[number]): void => {
    while (running && s.seq - s.watermark < command.window) {
      s.seq++;
      const text = payload(`${s.spec.index}|${s.seq}|`, command.textBytes);
      counters.sent++;
      if (s.spec.room === null) s.client.send(null, text);
      else s.client.sendRoom(s.spec.room, text);
    }
  };
  const report = (): void => {
    reportScheduled = false;
    post({ ch: CHANNEL, type: 'watermarks', marks: [...changed].map((i) => [i, localWatermark[i]!]) });
    changed.clear();
  };
  const onMessage = (_from: string, text: string): void => {
    countOnly();
    const bar = text.indexOf('|');
    const index = Number(text.slice(0, bar));
    const seq = Number(text.slice(bar + 1, text.indexOf('|', bar + 1)));
    const counts = arrivals[index];
    if (!counts) return;
    const n = (counts.get(seq) ?? 0) + 1;
    if (n < command.localReceivers[index]!) {
      counts.set(seq, n);
      return;
    }
    // A receiver gets one sender's messages in order, so seq complete means every earlier one is too.
    counts.delete(seq);
    localWatermark[index] = seq;
    changed.add(index);
    if (!reportScheduled) {
      reportScheduled = true;
      setImmediate(report);
    }
  };
  for (const client of clients.values()) client.onMessage = onMessage;

  return {
    start() {
      for (const s of senders) sendFrom(s);
    },
    stop() {
      running = false;
    },
    get inFlight() {
      let n = 0;
      for (const s of senders) n += s.seq - s.watermark;
      return n;
    },
    onWatermarks(marks) {
      for (const [index, seq] of marks) {
        const s = byIndex.get(index);
        if (!s || seq <= s.watermark) continue;
        s.watermark = seq;
        sendFrom(s);
      }
    },
  };
}

// ---- direct ----------------------------------------------------------------------

/**
 * Pairs messaging each other, both ways. Each direction is a flow whose index
 * travels in the text, with the send time, so the receiver (in this process)
 * measures the end-to-end latency. `rate`: open loop at a fixed total rate,
 * spread over the flows. `closed`: each flow keeps `window` messages in flight.
 */
function startDirect(command: Extract<Command, { type: 'direct' }>): Load {
  const flows = command.pairs.flatMap(([a, b]) => [
    { from: mustGet(a), to: b, inFlight: 0 },
    { from: mustGet(b), to: a, inFlight: 0 },
  ]);
  let running = true;
  let timer: NodeJS.Timeout | null = null;

  const sendOn = (index: number): void => {
    const flow = flows[index]!;
    flow.inFlight++;
    counters.sent++;
    flow.from.send(flow.to, payload(`${index}|${now().toFixed(3)}|`, command.textBytes));
  };
  const onMessage = (_from: string, text: string): void => {
    countOnly();
    const bar = text.indexOf('|');
    const index = Number(text.slice(0, bar));
    const sentAt = Number(text.slice(bar + 1, text.indexOf('|', bar + 1)));
    latency.record((now() - sentAt) * 1000);
    const flow = flows[index];
    if (!flow) return;
    flow.inFlight--;
    if (running && command.mode === 'closed') sendOn(index);
  };
  for (const client of clients.values()) client.onMessage = onMessage;

  const start = (): void => {
    if (command.mode === 'closed') {
      for (let i = 0; i < flows.length; i++) for (let w = 0; w < command.window; w++) sendOn(i);
      return;
    }
    if (flows.length === 0) return;
    const began = now();
    let sent = 0;
    let cursor = 0;
    const tick = (): void => {
      if (!running) return;
      const due = Math.floor(((now() - began) / 1000) * command.rate);
      for (; sent < due; sent++) {
        sendOn(cursor);
        cursor = (cursor + 1) % flows.length;
      }
      timer = setTimeout(tick, 1);
    };
    tick();
  };
  return {
    start,
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
    },
    get inFlight() {
      let n = 0;
      for (const f of flows) n += f.inFlight;
      return n;
    },
  };
}

// ---- plumbing --------------------------------------------------------------------

function mustGet(id: string): BenchClient {
  const client = clients.get(id);
  if (!client) throw new Error(`client ${id} is not connected in this generator`);
  return client;
}

function mark(): MarkResult {
  let errors = 0;
  for (const client of clients.values()) errors += client.errors;
  const out: MarkResult = {
    sent: counters.sent,
    received: counters.received,
    errors: errors - counters.errors,
    firstError,
    latency: latency.toSparse(),
  };
  firstError = null;
  counters.sent = 0;
  counters.received = 0;
  counters.errors = errors;
  latency.reset();
  return out;
}

async function stop(drainMs: number): Promise<MarkResult> {
  const current = load;
  current?.stop();
  const deadline = Date.now() + drainMs;
  while (current && current.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  load = null;
  return mark();
}

function closeAll(): null {
  load?.stop();
  load = null;
  for (const client of clients.values()) client.close();
  clients.clear();
  counters.errors = 0;
  return null;
}

async function execute(command: Command): Promise<unknown> {
  switch (command.type) {
    case 'connect':
      return connect(command);
    case 'join':
      return join(command);
    case 'fanout':
      load = startFanout(command);
      return null;
    case 'direct':
      load = startDirect(command);
      return null;
    case 'start':
      load?.start();
      return null;
    case 'mark':
      return mark();
    case 'stop':
      return stop(command.drainMs);
    case 'close':
      closeStorm();
      return closeAll();
    case 'storm-connect':
      target = command.target;
      return executeStorm(command);
    case 'storm-send':
    case 'storm-arm':
    case 'storm-wait':
    case 'storm-check':
      return executeStorm(command);
  }
}

process.on('message', (raw: unknown) => {
  if (!isBenchMessage<ToGenerator>(raw)) return;
  if (raw.type === 'watermarks') {
    load?.onWatermarks?.(raw.marks);
    return;
  }
  const { rid } = raw;
  execute(raw).then(
    (value) => post({ ch: CHANNEL, type: 'reply', rid, ok: true, value }),
    (err: unknown) => post({ ch: CHANNEL, type: 'reply', rid, ok: false, error: (err as Error).stack ?? String(err) }),
  );
});

// Progress for the runner's status line; the process ends with its parent.
setInterval(() => {
  if (target !== null) post({ ch: CHANNEL, type: 'progress', connected: clients.size + stormClientCount(), received: totalReceived });
}, 250).unref();
process.on('disconnect', () => {
  closeStorm();
  closeAll();
  process.exit(0);
});
