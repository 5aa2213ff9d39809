import type { Logger } from 'pino';
import type { Admission, BackendSink, BackendStats, HubBackend } from '../hub/backend.js';
import type { Envelope } from '../hub/events.js';
import { parseIpc, type PrimaryMessage, PrimaryMessage as PrimaryMessageSchema, ReplyValue, type WorkerRequestOp } from './ipc.js';
import { Mesh } from './mesh.js';

/** How a worker talks to the primary: process IPC in production, an in-process pair in tests. */
export interface PrimaryChannel {
  /** Sends one message; false when the primary is gone. */
  post(message: object): boolean;
  /** Calls `listener` for every message from the primary; returns the unsubscribe function. */
  subscribe(listener: (message: unknown) => void): () => void;
}

/** The channel of a cluster worker: `process.send` and the 'message' event. */
export const processChannel: PrimaryChannel = {
  post(message) {
    if (!process.send || !process.connected) return false;
    process.send(message);
    return true;
  },
  subscribe(listener) {
    process.on('message', listener);
    return () => process.off('message', listener);
  },
};

interface PendingRequest {
  readonly op: WorkerRequestOp;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
}

/**
 * A worker's backend: asks the primary (the owner of the shared state) to admit,
 * release and locate clients, keeps a replica of the directory (client -> worker)
 * from the primary's ordered changes, and sends chat traffic straight to the
 * recipient's worker over the mesh.
 *
 * A client that connected a moment ago on another worker may not be in the
 * replica yet; a message to it waits for the primary's answer (which comes after
 * the change that adds it), and later messages to the same client queue behind
 * that lookup, so nothing is dropped or reordered.
 */
export class ClusterBackend implements HubBackend {
  readonly #meshPath: string;
  readonly #log: Pick<Logger, 'warn'>;
  readonly #replica = new Map<string, number>();
  readonly #requests = new Map<number, PendingRequest>();
  /** Lookups at the primary in flight, by recipient; later sends to it wait behind. */
  readonly #lookups = new Map<string, Promise<void>>();
  #workerId = 0;
  #nextRid = 0;
  #sink: BackendSink | null = null;
  #mesh: Mesh | null = null;
  #onInit: (() => void) | null = null;
  readonly #channel: PrimaryChannel;
  #unsubscribe: (() => void) | null = null;

  constructor(options: { meshPath: string; log: Pick<Logger, 'warn'>; channel?: PrimaryChannel }) {
    this.#meshPath = options.meshPath;
    this.#log = options.log;
    this.#channel = options.channel ?? processChannel;
  }

  /** This worker's id in the cluster (known after start). */
  get workerId(): number {
    return this.#workerId;
  }

  async start(sink: BackendSink): Promise<void> {
    this.#sink = sink;
    this.#mesh = new Mesh(
      (envelope) => sink.deliver(envelope),
      (err) => this.#log.warn({ err }, 'mesh link error'),
    );
    await this.#mesh.listen(this.#meshPath);
    const initialized = new Promise<void>((resolve) => (this.#onInit = resolve));
    this.#unsubscribe = this.#channel.subscribe((raw) => {
      const message = parseIpc(PrimaryMessageSchema, raw);
      if (message) this.#onMessage(message);
    });
    if (!this.#post({ type: 'hello', meshPath: this.#meshPath })) throw new Error('no cluster primary to talk to');
    await initialized;
  }

  /** Tells the primary this worker accepts connections on `port`. */
  announceListening(port: number): void {
    this.#post({ type: 'listening', port });
  }

  /** Tells the primary this worker cannot run (the primary stops the cluster). */
  announceFatal(message: string): void {
    this.#post({ type: 'fatal', message });
  }

  async admit(clientId: string): Promise<Admission> {
    return (await this.#request('admit', clientId)) as Admission;
  }

  async release(clientId: string): Promise<void> {
    await this.#request('release', clientId);
  }

  sendTo(envelope: Envelope): Promise<boolean> {
    const to = envelope.to!;
    const lookup = this.#lookups.get(to);
    if (lookup) return lookup.then(() => this.#route(envelope, to));
    const worker = this.#replica.get(to);
    if (worker !== undefined) return Promise.resolve(this.#forward(envelope, worker));
    const pending = this.#request('locate', to).then(
      () => void this.#lookups.delete(to),
      () => void this.#lookups.delete(to),
    );
    this.#lookups.set(to, pending);
    return pending.then(() => this.#route(envelope, to));
  }

  async broadcast(envelope: Envelope): Promise<void> {
    this.#sink!.deliver(envelope);
    this.#mesh!.broadcast(envelope);
  }

  async online(): Promise<string[]> {
    return [...this.#replica.keys()];
  }

  async stats(): Promise<BackendStats> {
    return (await this.#request('stats')) as BackendStats;
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#mesh?.close();
    for (const pending of this.#requests.values()) pending.reject(new Error('backend closed'));
    this.#requests.clear();
  }

  /** After a lookup: the replica now holds what the primary knew when it answered. */
  #route(envelope: Envelope, to: string): boolean {
    const worker = this.#replica.get(to);
    return worker !== undefined && this.#forward(envelope, worker);
  }

  #forward(envelope: Envelope, worker: number): boolean {
    if (worker === this.#workerId) {
      this.#sink!.deliver(envelope);
      return true;
    }
    return this.#mesh!.send(worker, envelope);
  }

  #onMessage(message: PrimaryMessage): void {
    switch (message.type) {
      case 'init':
        this.#workerId = message.workerId;
        for (const [clientId, worker] of message.directory) this.#replica.set(clientId, worker);
        for (const peer of message.peers) this.#mesh!.addPeer(peer.id, peer.meshPath);
        this.#onInit?.();
        return;
      case 'peer-up':
        this.#mesh!.addPeer(message.id, message.meshPath);
        this.#post({ type: 'peer-ack', id: message.id });
        return;
      case 'peer-down':
        return this.#mesh!.removePeer(message.id);
      case 'directory':
        for (const [clientId, worker, crashed] of message.changes) {
          if (worker === null) this.#replica.delete(clientId);
          else this.#replica.set(clientId, worker);
          this.#sink!.presence({ clientId, online: worker !== null, crashed });
        }
        return;
      case 'reply': {
        const pending = this.#requests.get(message.rid);
        if (!pending) return;
        this.#requests.delete(message.rid);
        const parsed = ReplyValue[pending.op].safeParse(message.value);
        if (parsed.success) pending.resolve(parsed.data);
        else pending.reject(new Error(`malformed ${pending.op} reply from the primary`));
        return;
      }
    }
  }

  #request(op: WorkerRequestOp, clientId?: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const rid = ++this.#nextRid;
      this.#requests.set(rid, { op, resolve, reject });
      if (!this.#post({ type: 'request', rid, op, ...(clientId === undefined ? {} : { clientId }) })) {
        this.#requests.delete(rid);
        reject(new Error('the cluster primary is gone'));
      }
    });
  }

  #post(message: Record<string, unknown> & { type: string }): boolean {
    return this.#channel.post({ ch: 'chorus', ...message });
  }
}
