import { createServer, connect, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { Delivery } from '../hub/events.js';
import { encodeRecord, RecordReader } from './mesh-codec.js';
import { PerTurn } from '../util/per-turn.js';

/**
 * Direct links between the workers of one machine, over Unix domain sockets:
 * chat traffic goes worker to worker and never through the primary. Each link is
 * one ordered stream of length-prefixed records (mesh-codec.ts); records written
 * in one event-loop turn leave in one write.
 */
export class Mesh {
  readonly #server: Server;
  readonly #links = new Map<number, Link>();
  readonly #inbound = new Set<Socket>();
  readonly #onDelivery: (delivery: Delivery) => void;
  readonly #onError: (err: Error) => void;

  constructor(onDelivery: (delivery: Delivery) => void, onError: (err: Error) => void) {
    this.#onDelivery = onDelivery;
    this.#onError = onError;
    this.#server = createServer((socket) => this.#accept(socket));
  }

  listen(path: string): Promise<void> {
    rmSync(path, { force: true });
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(path, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  addPeer(id: number, path: string): void {
    if (!this.#links.has(id)) this.#links.set(id, new Link(path, this.#onError));
  }

  removePeer(id: number): void {
    this.#links.get(id)?.destroy();
    this.#links.delete(id);
  }

  /** How many peers this worker has links to. */
  get peers(): number {
    return this.#links.size;
  }

  /** Queues a frame to one peer; false when that peer is unknown. */
  send(peer: number, delivery: Delivery): boolean {
    const link = this.#links.get(peer);
    if (!link) return false;
    link.write(encodeRecord(delivery));
    return true;
  }

  /** Queues a frame to every peer, serialized once. */
  broadcast(delivery: Delivery): void {
    if (this.#links.size === 0) return;
    const record = encodeRecord(delivery);
    for (const link of this.#links.values()) link.write(record);
  }

  close(): void {
    for (const link of this.#links.values()) link.destroy();
    this.#links.clear();
    for (const socket of this.#inbound) socket.destroy();
    this.#server.close();
  }

  #accept(socket: Socket): void {
    this.#inbound.add(socket);
    const reader = new RecordReader();
    socket.on('data', (chunk: Buffer) => reader.push(chunk, this.#onDelivery, this.#onError));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#inbound.delete(socket));
  }
}

/** One outbound link: frames queue while it connects, then leave once per event-loop turn. */
class Link {
  readonly #socket: Socket;
  #queued: Buffer[] = [];
  readonly #flushTurn = new PerTurn(() => this.#flush());

  constructor(path: string, onError: (err: Error) => void) {
    this.#socket = connect(path);
    this.#socket.on('error', onError);
  }

  write(record: Buffer): void {
    this.#queued.push(record);
    this.#flushTurn.schedule();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #flush(): void {
    const batch = this.#queued;
    this.#queued = [];
    // net.Socket buffers writes made while it is still connecting, in order.
    if (!this.#socket.destroyed) this.#socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
  }
}
