import type { Admission, BackendSink, BackendStats, HubBackend, StateView } from '../../hub/backend.js';
import { Directory } from '../../hub/directory.js';
import type { Delivery, PresenceChange } from '../../hub/events.js';
import {
  RoomRegistry,
  type CreateResult,
  type DeleteResult,
  type JoinResult,
  type LeaveResult,
  type RoomChange,
} from '../../hub/room-registry.js';
import { OrderedRoomWriter, type RoomPersistence } from '../../hub/room-persistence.js';
import type { StoredRoom } from '../../storage/storage.js';

/**
 * The shared state of several in-process nodes (one in the single-process
 * server; several in tests). Everything happens synchronously, so the order of
 * calls is the order of effects.
 */
export class MemoryBus {
  readonly directory: Directory<string>;
  readonly rooms = new RoomRegistry();
  readonly roomWriter: OrderedRoomWriter;
  readonly #sinks = new Map<string, BackendSink>();

  /** `rooms` seeds the registry (loaded from storage); `persistence` keeps later changes. */
  constructor(maxClients: number, options: { rooms?: readonly StoredRoom[]; persistence?: RoomPersistence; maxPerIp?: number } = {}) {
    this.directory = new Directory(maxClients, options.maxPerIp);
    if (options.rooms) this.rooms.restore(options.rooms);
    this.roomWriter = new OrderedRoomWriter(options.persistence);
  }

  attach(node: string, sink: BackendSink): void {
    this.#sinks.set(node, sink);
  }

  /** The node is gone: its connections are released; clients left with none are announced as crashed. */
  detach(node: string): void {
    this.#sinks.delete(node);
    for (const { clientId, offline } of this.directory.releaseNode(node)) {
      if (offline) this.announce({ clientId, online: false, crashed: true });
    }
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

  announceRooms(changes: readonly RoomChange[]): void {
    for (const change of changes) for (const sink of this.#sinks.values()) sink.room(change);
  }
}

/** One node's view of a MemoryBus. */
export class MemoryBackend implements HubBackend {
  readonly #bus: MemoryBus;
  readonly #node: string;
  readonly view: StateView;

  constructor(bus: MemoryBus, node: string) {
    this.#bus = bus;
    this.#node = node;
    const { directory, rooms } = bus;
    this.view = {
      isOnline: (clientId) => directory.connectionsOf(clientId) > 0,
      connections: (clientId) => directory.connectionsOf(clientId),
      onlineCount: () => directory.onlineCount,
      online: () => directory.clientIds(),
      room: (room) => rooms.get(room),
      rooms: () => rooms.list(),
      roomsOf: (clientId) => rooms.roomsOf(clientId),
    };
  }

  async start(sink: BackendSink): Promise<void> {
    this.#bus.attach(this.#node, sink);
  }

  async admit(clientId: string, ip = '', multi = false): Promise<Admission> {
    const first = this.#bus.directory.connectionsOf(clientId) === 0;
    const result = this.#bus.directory.admit(clientId, this.#node, ip, multi);
    if (result === 'admitted' && first) this.#bus.announce({ clientId, online: true });
    return result;
  }

  async release(clientId: string): Promise<void> {
    if (this.#bus.directory.release(clientId, this.#node) === 'offline') this.#bus.announce({ clientId, online: false });
  }

  async route(delivery: Delivery): Promise<boolean> {
    const { target } = delivery;
    if (target.kind === 'client') {
      const nodes = this.#bus.directory.locate(target.clientId);
      for (const node of nodes) this.#bus.sinkOf(node)?.deliver(delivery);
      return nodes.length > 0;
    }
    for (const sink of this.#bus.sinks()) sink.deliver(delivery);
    return true;
  }

  async createRoom(room: string, owner: string): Promise<CreateResult> {
    return this.#roomCall((changes) => this.#bus.rooms.create(room, owner, changes));
  }

  async joinRoom(room: string, clientId: string): Promise<JoinResult> {
    return this.#roomCall((changes) => this.#bus.rooms.join(room, clientId, changes));
  }

  async leaveRoom(room: string, clientId: string): Promise<LeaveResult> {
    return this.#roomCall((changes) => this.#bus.rooms.leave(room, clientId, changes));
  }

  async deleteRoom(room: string, by: string): Promise<DeleteResult> {
    return this.#roomCall((changes) => this.#bus.rooms.delete(room, by, changes));
  }

  async stats(): Promise<BackendStats> {
    return {
      clients: this.#bus.directory.size,
      maxClients: this.#bus.directory.maxClients,
      workers: [{ id: 0, pid: process.pid, clients: this.#bus.directory.countOn(this.#node) }],
    };
  }

  async close(): Promise<void> {
    this.#bus.detach(this.#node);
  }

  /** Decides a room call, and answers once its changes are saved and announced. */
  async #roomCall<R>(decide: (changes: RoomChange[]) => R): Promise<R> {
    const changes: RoomChange[] = [];
    const result = decide(changes);
    await this.#bus.roomWriter.write(changes, () => this.#bus.announceRooms(changes));
    return result;
  }
}
