import type { Admission, BackendSink, BackendStats, HubBackend } from './backend.js';
import { Directory } from './directory.js';
import type { Envelope, PresenceChange } from './events.js';

/**
 * The shared state of several in-process nodes (one in the single-process
 * server; several in tests). Everything happens synchronously, so the order of
 * calls is the order of effects.
 */
export class MemoryBus {
  readonly directory: Directory<string>;
  readonly #sinks = new Map<string, BackendSink>();

  constructor(maxClients: number) {
    this.directory = new Directory(maxClients);
  }

  attach(node: string, sink: BackendSink): void {
    this.#sinks.set(node, sink);
  }

  detach(node: string): void {
    this.#sinks.delete(node);
    for (const clientId of this.directory.releaseNode(node)) this.announce({ clientId, online: false, crashed: true });
  }

  sinkOf(node: string): BackendSink | undefined {
    return this.#sinks.get(node);
  }

  sinks(): IterableIterator<BackendSink> {
    return this.#sinks.values();
  }

  announce(change: PresenceChange): void {
    for (const sink of this.#sinks.values()) sink.presence(change);
  }
}

/** One node's view of a MemoryBus. */
export class MemoryBackend implements HubBackend {
  readonly #bus: MemoryBus;
  readonly #node: string;

  constructor(bus: MemoryBus, node: string) {
    this.#bus = bus;
    this.#node = node;
  }

  async start(sink: BackendSink): Promise<void> {
    this.#bus.attach(this.#node, sink);
  }

  async admit(clientId: string): Promise<Admission> {
    const result = this.#bus.directory.admit(clientId, this.#node);
    if (result === 'admitted') this.#bus.announce({ clientId, online: true });
    return result;
  }

  async release(clientId: string): Promise<void> {
    if (this.#bus.directory.release(clientId, this.#node)) this.#bus.announce({ clientId, online: false });
  }

  async sendTo(envelope: Envelope): Promise<boolean> {
    const node = envelope.to === null ? undefined : this.#bus.directory.locate(envelope.to);
    const sink = node === undefined ? undefined : this.#bus.sinkOf(node);
    if (!sink) return false;
    sink.deliver(envelope);
    return true;
  }

  async broadcast(envelope: Envelope): Promise<void> {
    for (const sink of this.#bus.sinks()) sink.deliver(envelope);
  }

  async online(): Promise<string[]> {
    return this.#bus.directory.clientIds();
  }

  async stats(): Promise<BackendStats> {
    const clients = this.#bus.directory.countOn(this.#node);
    return {
      clients: this.#bus.directory.size,
      maxClients: this.#bus.directory.maxClients,
      workers: [{ id: 0, pid: process.pid, clients }],
    };
  }

  async close(): Promise<void> {
    this.#bus.detach(this.#node);
  }
}
