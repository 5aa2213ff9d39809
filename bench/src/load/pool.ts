import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHANNEL, isBenchMessage, type Command, type FromGenerator, type Replies, type ToGenerator } from './ipc.js';

const GENERATOR = fileURLToPath(new URL('./generator.js', import.meta.url));

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** One forked load-generator process, spoken to by request and reply. */
export class Generator {
  readonly index: number;
  readonly #proc: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextRid = 0;
  connected = 0;
  received = 0;
  onWatermarks: (marks: [number, number][]) => void = () => {};

  constructor(index: number) {
    this.index = index;
    // Every generator may hold up to ~19k sockets: each process has its own 20k-file limit.
    this.#proc = fork(GENERATOR, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    this.#proc.on('message', (raw: unknown) => {
      if (isBenchMessage<FromGenerator>(raw)) this.#onMessage(raw);
    });
    this.#proc.on('exit', (code, signal) => {
      for (const pending of this.#pending.values()) {
        clearTimeout(pending.timer);
        pending.reject(new Error(`load generator ${index} exited (${code ?? signal})`));
      }
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#proc.pid ?? 0;
  }

  /** Sends a command and resolves with the generator's answer (rejects after `timeoutMs`). */
  request<C extends Command>(command: C, timeoutMs: number): Promise<Replies[C['type']]> {
    const rid = ++this.#nextRid;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rid);
        reject(new Error(`load generator ${this.index}: no answer to ${command.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(rid, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.#send({ ch: CHANNEL, rid, ...command });
    });
  }

  sendWatermarks(marks: [number, number][]): void {
    this.#send({ ch: CHANNEL, type: 'watermarks', marks });
  }

  /** Ends the process (its sockets close with it). */
  kill(): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
  }

  #send(message: ToGenerator): void {
    if (this.#proc.connected) this.#proc.send(message);
  }

  #onMessage(message: FromGenerator): void {
    switch (message.type) {
      case 'progress':
        this.connected = message.connected;
        this.received = message.received;
        return;
      case 'watermarks':
        this.onWatermarks(message.marks);
        return;
      case 'reply': {
        const pending = this.#pending.get(message.rid);
        if (!pending) return;
        this.#pending.delete(message.rid);
        clearTimeout(pending.timer);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(new Error(`load generator ${this.index}: ${message.error}`));
        return;
      }
    }
  }
}

/** The load generators of one bench run. */
export class GeneratorPool {
  readonly generators: Generator[];

  constructor(count: number) {
    this.generators = Array.from({ length: count }, (_, i) => new Generator(i));
  }

  get size(): number {
    return this.generators.length;
  }

  /** Cumulative received messages and open clients over all generators (for progress). */
  get progress(): { connected: number; received: number } {
    let connected = 0;
    let received = 0;
    for (const g of this.generators) {
      connected += g.connected;
      received += g.received;
    }
    return { connected, received };
  }

  /** Same command to every generator. */
  all<C extends Command>(command: C, timeoutMs: number): Promise<Replies[C['type']][]> {
    return Promise.all(this.generators.map((g) => g.request(command, timeoutMs)));
  }

  /** Closes every client in every generator. */
  async closeClients(): Promise<void> {
    await this.all({ type: 'close' }, 30_000);
  }

  kill(): void {
    for (const g of this.generators) g.kill();
  }
}
