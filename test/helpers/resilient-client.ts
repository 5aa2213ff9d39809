import { shouldReconnect, type AckFrame, type MessageFrame, type ServerFrame } from '@chorus/protocol';
import { TestClient } from './ws-client.js';

interface Outgoing {
  readonly id: string;
  readonly to: string | null;
  readonly text: string;
  readonly sentAt: number;
}

/**
 * A JSON client that behaves like the browser client: it reconnects after a
 * drop, resumes from its cursors (`?resume=1`, then `resume`), sends again every
 * message that was not acknowledged (same id), and keeps one copy of each
 * (conversation, seq). It counts what came twice on the wire.
 */
export class ResilientClient {
  readonly id: string;
  /** Where it connects; a function picks a node per attempt (a load balancer). */
  readonly #base: () => string;
  #client: TestClient | null = null;
  /** The connection that has been welcomed and is still open. */
  #live: TestClient | null = null;
  /** Sent and not yet acknowledged, in send order. */
  readonly outbox = new Map<string, Outgoing>();
  readonly acks = new Map<string, AckFrame>();
  /** Messages received, once each, in arrival order. */
  readonly received: MessageFrame[] = [];
  /** Frames that repeated a (conversation, seq) already held. */
  duplicates = 0;
  reconnects = 0;
  /** With TRACE_CLIENT=<id>: every frame this client got, in order (for debugging). */
  readonly trace: string[] = [];
  readonly #known = new Map<string, Set<number>>();
  readonly #cursor = new Map<string, number>();
  #stopped = false;
  #onChange: (() => void)[] = [];
  #onWelcome: (() => void) | null = null;

  constructor(base: string | (() => string), id: string) {
    this.#base = typeof base === 'string' ? () => base : base;
    this.id = id;
  }

  async connect(): Promise<void> {
    const client = new TestClient(`${this.#base()}/ws/${this.id}?resume=1`, 'chorus.v1');
    this.#client = client;
    const welcomed = new Promise<void>((resolve, reject) => {
      this.#onWelcome = resolve;
      client.closed.then(({ code }) => reject(new Error(`${this.id}: closed (${code}) before the welcome`)));
    });
    client.socket.on('message', () => this.#drain(client));
    let welcomedHere = false;
    void welcomed.then(
      () => (welcomedHere = true),
      () => {},
    );
    client.closed.then(({ code }) => {
      // A connection refused before its welcome is retried by whoever called connect(), not here as well.
      if (!welcomedHere || this.#stopped || !shouldReconnect(code)) return;
      this.reconnects++;
      const retry = () => this.connect().catch(() => setTimeout(retry, 50));
      setTimeout(retry, 20);
    });
    await client.opened;
    await welcomed;
    this.#live = client;
    client.closed.then(() => {
      if (this.#live === client) this.#live = null;
    });
    client.send({ type: 'resume', cursors: Object.fromEntries(this.#cursor) });
    // Everything not acknowledged goes again, with the same id: the server keeps one copy.
    for (const message of this.outbox.values()) client.send({ type: 'send', ...message, to: message.to ?? undefined });
  }

  send(id: string, to: string | null, text: string): void {
    const message = { id, to, text, sentAt: Date.now() };
    this.outbox.set(id, message);
    // While reconnecting it waits in the outbox; connect() sends the outbox after the welcome.
    this.#live?.send({ type: 'send', ...message, to: to ?? undefined });
  }

  /** Resolves once `ready()` holds, re-checking after each frame. */
  async until(ready: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`${this.id}: condition not met within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#onChange.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#client?.close();
  }

  #drain(client: TestClient): void {
    for (const raw of client.frames.splice(0)) {
      const frame = JSON.parse(raw) as ServerFrame;
      if (process.env.TRACE_CLIENT === this.id)
        this.trace.push(frame.type === 'message' ? `m:${frame.id}:${frame.seq}` : frame.type === 'ack' ? `a:${frame.seq}` : frame.type);
      if (frame.type === 'welcome') this.#onWelcome?.();
      else if (frame.type === 'ack') {
        if (this.outbox.delete(frame.ref)) this.acks.set(frame.ref, frame);
        this.#know(frame.conversation, frame.seq);
      } else if (frame.type === 'message') {
        if (!this.#know(frame.conversation, frame.seq)) this.duplicates++;
        else this.received.push(frame);
      }
    }
    const waiters = this.#onChange;
    this.#onChange = [];
    for (const wake of waiters) wake();
  }

  /** Records a seq; false when it was already known. Moves the cursor over what is now contiguous. */
  #know(conversation: string, seq: number): boolean {
    let known = this.#known.get(conversation);
    if (!known) this.#known.set(conversation, (known = new Set()));
    if (known.has(seq)) return false;
    known.add(seq);
    let cursor = this.#cursor.get(conversation) ?? 0;
    while (known.has(cursor + 1)) cursor++;
    this.#cursor.set(conversation, cursor);
    return true;
  }
}

/**
 * Steady traffic between pairs of clients: every client sends to its
 * partner every `everyMs` (a pacing of the load, not a wait for an event),
 * with ids unique over the run. `stop` ends it and resolves with how many
 * messages were sent.
 */
export function steadyTraffic(
  clients: ReadonlyMap<string, ResilientClient>,
  partner: (id: string) => string,
  everyMs = 10,
): { stop(): Promise<number> } {
  let counter = 0;
  let sending = true;
  const senders = [...clients.values()].map(async (client) => {
    while (sending) {
      const n = ++counter;
      client.send(`${client.id}-${n}`, partner(client.id), `${client.id} #${n}`);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  });
  return {
    async stop() {
      sending = false;
      await Promise.all(senders);
      return counter;
    },
  };
}
