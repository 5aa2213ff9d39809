/**
 * The reconnect-storm scenario's side of a load generator: chorus.v1 clients
 * that behave as the browser does when the server goes away: they keep what
 * they hold per conversation (seqs of the messages received, and of their own
 * acknowledged ones), reconnect with exponential backoff and full jitter
 * (the browser's Backoff, apps/web/src/lib/backoff.ts, with its defaults: 500 ms
 * base, 15 s cap), connect with `?resume=1`, send their cursors in a `resume`
 * frame after the welcome, and count the `resumed`. Clients come in pairs that
 * live in the same generator, so that one process can check that every message
 * acknowledged to one was received by the other exactly once.
 */
import { SUBPROTOCOL, type ClientFrame } from '@chorus/protocol';
import { WebSocket } from 'ws';
import type { Command, Replies, Target } from './ipc.js';

const hrMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter, as the browser's (apps/web/src/lib/backoff.ts). */
class Backoff {
  #attempt = 0;
  constructor(
    readonly baseMs: number,
    readonly capMs: number,
  ) {}
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return Math.floor(Math.random() * ceiling);
  }
  reset(): void {
    this.#attempt = 0;
  }
}

/** Byte 9 of a chorus.v1 frame is the first letter of its type: `{"type":"message"...`. */
const TYPE_AT = '{"type":"'.length;

interface StormFrame {
  type: string;
  id?: string;
  ref?: string;
  from?: string;
  conversation?: string;
  seq?: number;
  code?: string;
  message?: string;
}

/** Counters of one generator's storm clients. */
const totals = { acked: 0, delivered: 0, errors: 0 };
let firstError: string | null = null;

class StormClient {
  readonly id: string;
  readonly partner: string;
  readonly #url: string;
  readonly #localAddress: string | undefined;
  #socket: WebSocket | null = null;
  /** Seqs held per conversation: messages from the partner, and this client's own acknowledged ones. */
  readonly held = new Map<string, Set<number>>();
  /** The messages this client sent that were acknowledged: where the partner must have them. */
  readonly acked: { conversation: string; seq: number }[] = [];
  /** Sends not acknowledged yet, by id. */
  readonly unacked = new Set<string>();
  /** The cursors sent in this connection's resume frame (null: this connection did not resume). */
  #cursors: Map<string, number> | null = null;
  #resuming = false;
  #sent = 0;
  armed = false;
  #deadline = 0;
  #backoff = new Backoff(500, 15_000);
  #timeoutMs = 10_000;
  #reconnecting = false;
  #admitted: (err?: Error) => void = () => {};
  /** When (process.hrtime, ms) the `resumed` frame of the latest resume arrived; null before it. */
  resumedAt: number | null = null;
  attempts = 0;
  failedAttempts = 0;
  /** Messages of the partner received again although this client said (or showed) it had them. */
  duplicates = 0;
  /** Messages of the partner that came in a resume replay (missed while away). */
  replayed = 0;
  /** Messages above a cursor that a replay sent again and that the client held already (legitimate: it said it lacked an earlier one). */
  resentAboveCursor = 0;

  constructor(target: Target, id: string, partner: string, localAddress: string | undefined) {
    this.id = id;
    this.partner = partner;
    this.#url = `ws://${target.host}:${target.ports[0]}/ws/${encodeURIComponent(id)}`;
    this.#localAddress = localAddress;
  }

  /** Connects (with `?resume=1` and a resume frame after the welcome when `resume`); resolves at the welcome. */
  open(resume: boolean, timeoutMs: number): Promise<void> {
    const socket = new WebSocket(resume ? `${this.#url}?resume=1` : this.#url, [SUBPROTOCOL], {
      ...(this.#localAddress === undefined ? {} : { localAddress: this.#localAddress }),
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    this.#socket = socket;
    this.#cursors = null;
    this.#resuming = false;
    let settled = false;
    let welcomed = false;
    // This attempt's own settle: a late event of an earlier socket must not settle a later attempt.
    let settle: (err?: Error) => void = () => {};
    const opened = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => settle(new Error(`no welcome within ${timeoutMs} ms`)), timeoutMs);
      settle = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          socket.terminate();
          reject(err);
        } else {
          welcomed = true;
          resolve();
        }
      };
    });
    this.#admitted = settle;
    socket.on('message', (data, isBinary) => {
      if (!isBinary && socket === this.#socket) this.#onFrame(data as Buffer, resume);
    });
    socket.on('error', (err) => settle(err));
    socket.on('unexpected-response', (_req, res) => settle(new Error(`HTTP ${res.statusCode}`)));
    socket.on('close', (code) => {
      settle(new Error(`closed ${code}`));
      // Only a connection that was welcomed is lost here; a failed attempt is retried by the loop.
      if (socket === this.#socket && welcomed && this.armed) void this.#reconnect();
    });
    return opened;
  }

  /** Sends a private message to the partner. */
  send(text: string): void {
    const id = `${this.id}.${++this.#sent}`;
    this.unacked.add(id);
    this.#write({ type: 'send', id, to: this.partner, text, sentAt: Date.now() } satisfies ClientFrame);
  }

  arm(baseMs: number, capMs: number, timeoutMs: number, budgetMs: number): void {
    this.armed = true;
    this.#backoff = new Backoff(baseMs, capMs);
    this.#timeoutMs = timeoutMs;
    this.#deadline = hrMs() + budgetMs;
    this.resumedAt = null;
  }

  close(): void {
    this.armed = false;
    this.#socket?.terminate();
    this.#socket = null;
  }

  /** The browser's loop: wait a backoff delay, try, and again until welcomed (or out of time). */
  async #reconnect(): Promise<void> {
    if (this.#reconnecting) return;
    this.#reconnecting = true;
    try {
      while (this.armed && hrMs() < this.#deadline) {
        await sleep(this.#backoff.next());
        if (!this.armed) return;
        this.attempts++;
        try {
          await this.open(true, this.#timeoutMs);
          this.#backoff.reset();
          return;
        } catch {
          this.failedAttempts++;
        }
      }
    } finally {
      this.#reconnecting = false;
    }
  }

  /** Per conversation, the highest seq N such that every seq 1..N is held (the protocol's cursor). */
  cursors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [conversation, seqs] of this.held) {
      let n = 0;
      while (seqs.has(n + 1)) n++;
      out[conversation] = n;
    }
    return out;
  }

  #hold(conversation: string, seq: number): boolean {
    let seqs = this.held.get(conversation);
    if (!seqs) this.held.set(conversation, (seqs = new Set()));
    if (seqs.has(seq)) return false;
    seqs.add(seq);
    return true;
  }

  #write(frame: ClientFrame): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(frame));
  }

  #onFrame(buf: Buffer, resume: boolean): void {
    switch (buf[TYPE_AT]) {
      case 0x77: // w: welcome (its online list is long: not parsed)
        if (resume) {
          const cursors = this.cursors();
          this.#cursors = new Map(Object.entries(cursors));
          this.#resuming = true;
          this.#write({ type: 'resume', cursors } satisfies ClientFrame);
        }
        this.#admitted();
        return;
      case 0x70: // p: presence
      case 0x74: // t: typing
        return;
      case 0x72: // r: receipts, rooms, room*, resumed
        if (buf[TYPE_AT + 2] !== 0x73) return; // only "res..." (resumed) matters here
        break;
    }
    const frame = JSON.parse(buf.toString()) as StormFrame;
    switch (frame.type) {
      case 'message': {
        const { conversation, seq } = frame;
        if (conversation === undefined || seq === undefined) return;
        if (frame.from === this.id) {
          // Its own message, in a replay: the client holds it from then on.
          this.#hold(conversation, seq);
          return;
        }
        if (this.#hold(conversation, seq)) {
          totals.delivered++;
          if (this.#resuming) this.replayed++;
          return;
        }
        const cursor = this.#cursors?.get(conversation);
        if (this.#resuming && cursor !== undefined && seq > cursor) this.resentAboveCursor++;
        else this.duplicates++;
        return;
      }
      case 'ack':
        if (frame.ref !== undefined && this.unacked.delete(frame.ref) && frame.conversation !== undefined && frame.seq !== undefined) {
          this.#hold(frame.conversation, frame.seq);
          this.acked.push({ conversation: frame.conversation, seq: frame.seq });
          totals.acked++;
        }
        return;
      case 'resumed':
        this.#resuming = false;
        this.resumedAt = hrMs();
        return;
      case 'error':
        totals.errors++;
        firstError ??= `${frame.code}: ${frame.message}`;
        return;
    }
  }
}

const stormClients = new Map<string, StormClient>();

async function connect(command: Extract<Command, { type: 'storm-connect' }>): Promise<Replies['storm-connect']> {
  const out: Replies['storm-connect'] = { connected: 0, failed: 0, errors: [] };
  const members = command.pairs.flatMap(([a, b]) => [
    [a, b],
    [b, a],
  ]);
  const deadline = hrMs() + command.budgetMs;
  const bind = command.localAddresses.length > 1;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < members.length && hrMs() < deadline) {
      const index = next++;
      const [id, partner] = members[index]!;
      const address = command.localAddresses[index % command.localAddresses.length]!;
      for (let attempt = 1; ; attempt++) {
        const client = new StormClient(command.target, id!, partner!, bind ? address : undefined);
        try {
          await client.open(false, command.timeoutMs);
          stormClients.set(id!, client);
          out.connected++;
          break;
        } catch (err) {
          client.close();
          if (attempt < 3 && hrMs() < deadline) continue;
          out.failed++;
          if (out.errors.length < 3) out.errors.push(`${id}: ${(err as Error).message}`);
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, command.concurrency) }, worker));
  out.failed += members.length - next;
  return out;
}

/** Every client sends `perClient` messages to its partner; resolves when all are acked (and delivered, if asked) or at the timeout. */
async function send(command: Extract<Command, { type: 'storm-send' }>): Promise<Replies['storm-send']> {
  const acked0 = totals.acked;
  const delivered0 = totals.delivered;
  let sent = 0;
  const text = 'storm|'.padEnd(command.textBytes, '.');
  for (const client of stormClients.values()) {
    for (let k = 0; k < command.perClient; k++) {
      client.send(text);
      sent++;
    }
  }
  const deadline = hrMs() + command.timeoutMs;
  const done = (): boolean =>
    command.waitFor === 'written' ||
    (totals.acked - acked0 >= sent && (command.waitFor === 'acked' || totals.delivered - delivered0 >= sent));
  while (!done() && hrMs() < deadline) await sleep(10);
  return { sent, acked: totals.acked - acked0, delivered: totals.delivered - delivered0, errors: totals.errors, firstError };
}

function arm(command: Extract<Command, { type: 'storm-arm' }>): null {
  for (const client of stormClients.values()) client.arm(command.baseMs, command.capMs, command.timeoutMs, command.budgetMs);
  return null;
}

/** Resolves once every client has its `resumed` (or at the timeout), with when each got it. */
async function wait(command: Extract<Command, { type: 'storm-wait' }>): Promise<Replies['storm-wait']> {
  const deadline = hrMs() + command.timeoutMs;
  const all = [...stormClients.values()];
  while (all.some((c) => c.resumedAt === null) && hrMs() < deadline) await sleep(20);
  const resumedAt: number[] = [];
  let attempts = 0;
  let failedAttempts = 0;
  for (const c of all) {
    if (c.resumedAt !== null) resumedAt.push(c.resumedAt);
    attempts += c.attempts;
    failedAttempts += c.failedAttempts;
  }
  return { clients: all.length, resumedAt, attempts, failedAttempts, errors: totals.errors, firstError };
}

/** Checks that every message acknowledged to a client's partner is held by the client, once. */
function check(): Replies['storm-check'] {
  const out: Replies['storm-check'] = {
    expected: 0,
    lost: 0,
    duplicates: 0,
    replayed: 0,
    resentAboveCursor: 0,
    unacked: 0,
    examples: [],
  };
  for (const client of stormClients.values()) {
    const partner = stormClients.get(client.partner);
    out.duplicates += client.duplicates;
    out.replayed += client.replayed;
    out.resentAboveCursor += client.resentAboveCursor;
    out.unacked += client.unacked.size;
    for (const { conversation, seq } of client.acked) {
      out.expected++;
      if (partner?.held.get(conversation)?.has(seq)) continue;
      out.lost++;
      if (out.examples.length < 3) out.examples.push(`${client.partner} lacks ${conversation} seq ${seq} (from ${client.id})`);
    }
  }
  return out;
}

/** Closes every storm client (they stop reconnecting). */
export function closeStorm(): void {
  for (const client of stormClients.values()) client.close();
  stormClients.clear();
  totals.acked = 0;
  totals.delivered = 0;
  totals.errors = 0;
  firstError = null;
}

export function stormClientCount(): number {
  return stormClients.size;
}

type StormCommand = Extract<Command, { type: `storm-${string}` }>;

export function executeStorm(command: StormCommand): Promise<unknown> | unknown {
  switch (command.type) {
    case 'storm-connect':
      return connect(command);
    case 'storm-send':
      return send(command);
    case 'storm-arm':
      return arm(command);
    case 'storm-wait':
      return wait(command);
    case 'storm-check':
      return check();
  }
}
