import { Redis, type RedisOptions } from 'ioredis';
import {
  BackendUnavailableError,
  type Admission,
  type BackendSink,
  type BackendStats,
  type HubBackend,
  type StateView,
} from '../../hub/backend.js';
import type { Delivery } from '../../hub/events.js';
import type { RoomPersistence } from '../../hub/room-persistence.js';
import type { CreateResult, DeleteResult, JoinResult, LeaveResult, RoomChange } from '../../hub/room-registry.js';
import { encodeRecord, RecordReader } from '../../cluster/mesh-codec.js';
import type { StoredRoom } from '../../storage/storage.js';
import { LocalClients } from './local-clients.js';
import { ADMIT, HEARTBEAT, LEAVE, LOAD_ROOMS, RELEASE, REGISTER, ROOM, SNAPSHOT } from './scripts.js';
import { StateReplica, type StateSnapshot } from './state-replica.js';

export interface RedisBackendOptions {
  readonly url: string;
  /** This node's name: unique in the service while it runs. */
  readonly node: string;
  readonly maxClients: number;
  readonly maxPerIp?: number;
  /**
   * How long this node's permits and presence outlive it if it stops renewing
   * them (killed, or cut off from Redis); renewed every quarter of it.
   */
  readonly leaseMs: number;
  /** Key and channel prefix (several services may share one Redis). */
  readonly prefix?: string;
  /** The record of the rooms (PostgreSQL): read when Redis has none loaded, written on every change. */
  readonly rooms: RoomPersistence & { loadRooms(): Promise<StoredRoom[]> };
  readonly log: { warn(fields: object, message: string): void; info(fields: object, message: string): void };
}

type RoomReply = [string, number, string?, string[]?];

/**
 * The shared state and the routes between nodes in Redis, for any number of
 * server nodes (each worker process is one node):
 *
 * - admission and presence: Lua scripts (scripts.ts) over counters and
 *   per-node hashes, exact under any concurrency; each node holds a lease it
 *   renews, and a node whose lease ran out has its connections released and
 *   announced by whichever node notices first (within leaseMs plus one
 *   renewal, leaseMs/4).
 * - rooms: live in Redis, decided by a script; PostgreSQL stays the record
 *   (written by the node that made the change) and refills Redis when Redis
 *   comes back empty.
 * - presence and room changes: published inside the scripts on one channel,
 *   numbered; every node keeps a StateReplica (the hub's synchronous view).
 * - broker: Redis pub/sub. A private message is one PUBLISH to its recipient's
 *   channel, to which exactly the nodes holding that client subscribe (so the
 *   answer of PUBLISH says whether it is online); a room message goes to the
 *   room's channel, to which the nodes holding a member subscribe; everyone to
 *   one channel. One connection publishes and one subscribes per node, so
 *   one node's deliveries reach each node in the order it routed them.
 *
 * Pub/sub rather than streams: delivery is at most once and lost when a
 * subscriber drops, but nothing acknowledged depends on it: a message is in
 * PostgreSQL before it is published, and clients resume from there. So when
 * this node's subscription drops, it tells the hub (`interrupted`), which
 * closes every local connection with a reconnect code; the clients come back
 * and resume without gap. Streams would add a read per message and a trim
 * policy for a guarantee the database already gives.
 */
export class RedisBackend implements HubBackend {
  readonly #options: RedisOptions;
  readonly #node: string;
  readonly #prefix: string;
  readonly #maxClients: number;
  readonly #maxPerIp: number;
  readonly #leaseMs: number;
  readonly #rooms: RedisBackendOptions['rooms'];
  readonly #log: RedisBackendOptions['log'];
  readonly #command: Redis;
  readonly #subscriber: Redis;
  readonly #replica: StateReplica;
  readonly #local = new LocalClients();
  /** Room channels this node is subscribed to (it holds a member of each). */
  readonly #roomChannels = new Set<string>();
  #sink: BackendSink | null = null;
  /** 'ready': serving; 'recovering': lost Redis or its lease, starting afresh; 'closed'. */
  #state: 'starting' | 'ready' | 'recovering' | 'closed' = 'starting';
  #heartbeat: NodeJS.Timeout | null = null;
  /** When the lease was last renewed (this process's clock). */
  #renewedAt = 0;
  #recovery: Promise<void> | null = null;

  constructor(options: RedisBackendOptions) {
    this.#node = options.node;
    this.#prefix = options.prefix ?? 'chorus:';
    this.#maxClients = options.maxClients;
    this.#maxPerIp = options.maxPerIp ?? Number.MAX_SAFE_INTEGER;
    this.#leaseMs = options.leaseMs;
    this.#rooms = options.rooms;
    this.#log = options.log;
    this.#options = {
      lazyConnect: true,
      // A call while Redis is away fails at once (the client is told to retry) instead of waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // A path that silently drops (a partition) must fail calls too, not leave them waiting for ever.
      commandTimeout: Math.max(250, Math.floor(options.leaseMs / 2)),
      retryStrategy: (attempt) => Math.min(1000, 50 * attempt),
    };
    // Every command of one event-loop turn (a turn's PUBLISHes above all) leaves in one write, in order:
    // one write per command was a third of a direct message's CPU (socket write syscalls).
    this.#command = new Redis(options.url, { ...this.#options, enableAutoPipelining: true });
    this.#subscriber = new Redis(options.url, { ...this.#options, autoResubscribe: true });
    for (const connection of [this.#command, this.#subscriber]) connection.on('error', () => {});
    this.#replica = new StateReplica(
      {
        presence: (change) => this.#sink?.presence(change),
        room: (change) => this.#onRoomChange(change),
      },
      () => void this.#resync(),
    );
  }

  get view(): StateView {
    return this.#replica.view;
  }

  async start(sink: BackendSink): Promise<void> {
    this.#sink = sink;
    await Promise.all([this.#command.connect(), this.#subscriber.connect()]);
    this.#subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#onMessage(channel.toString(), message));
    // After the first start, a dropped subscription means deliveries may have been missed.
    this.#subscriber.on('close', () => this.#interrupted('lost the subscription to Redis'));
    await this.#subscriber.subscribe(this.#channel('state'), this.#channel('all'));
    await this.#join();
    this.#state = 'ready';
    this.#heartbeat = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.#leaseMs / 4)));
    this.#heartbeat.unref();
  }

  async admit(clientId: string, ip = '', multi = false): Promise<Admission> {
    this.#ensureReady();
    const first = this.#local.count(clientId) === 0;
    this.#local.reserve(clientId);
    let outcome: string;
    let version: number;
    try {
      // Subscribed before admitted: a message routed once the admission is visible finds this node.
      if (first) await this.#subscriber.subscribe(this.#channel(`c:${clientId}`));
      [outcome, version] = (await this.#run(ADMIT, this.#node, clientId, ip, multi ? '1' : '0', this.#maxClients, this.#maxPerIp)) as [
        string,
        number,
      ];
    } catch (err) {
      this.#local.unreserve(clientId);
      await this.#dropClientChannel(clientId);
      throw unavailable(err);
    }
    if (outcome !== 'admitted') {
      this.#local.unreserve(clientId);
      await this.#dropClientChannel(clientId);
      if (outcome === 'lost') {
        void this.#recover('this node lost its lease');
        throw new BackendUnavailableError('this node is reconnecting to Redis');
      }
      return outcome as Admission;
    }
    this.#local.admitted(clientId, ip);
    await this.#replica.reached(version);
    for (const room of this.#replica.view.roomsOf(clientId)) await this.#syncRoom(room).catch(() => {});
    return 'admitted';
  }

  async release(clientId: string): Promise<void> {
    const ip = this.#local.release(clientId);
    if (ip === undefined) return;
    try {
      if (this.#state !== 'ready') return;
      const version = (await this.#run(RELEASE, this.#node, clientId, ip)) as number;
      await this.#replica.reached(version);
    } finally {
      if (this.#local.count(clientId) === 0) {
        await this.#dropClientChannel(clientId);
        for (const room of this.#replica.view.roomsOf(clientId)) await this.#syncRoom(room).catch(() => {});
      }
    }
  }

  async route(delivery: Delivery): Promise<boolean> {
    const { target } = delivery;
    const channel =
      target.kind === 'client'
        ? this.#channel(`c:${target.clientId}`)
        : target.kind === 'room'
          ? this.#channel(`r:${target.room}`)
          : this.#channel('all');
    let receivers: number;
    try {
      receivers = await this.#command.publish(channel, encodeRecord(delivery));
    } catch (err) {
      throw unavailable(err);
    }
    return target.kind !== 'client' || receivers > 0;
  }

  async createRoom(room: string, owner: string): Promise<CreateResult> {
    if (this.#local.count(owner) > 0) await this.#subscribeRoom(room);
    const [outcome, version] = await this.#roomOp('create', room, owner);
    if (outcome === 'created') {
      await this.#save([
        { kind: 'created', room, owner },
        { kind: 'joined', room, clientId: owner },
      ]);
    } else await this.#syncRoom(room);
    await this.#replica.reached(version);
    return outcome as CreateResult;
  }

  async joinRoom(room: string, clientId: string): Promise<JoinResult> {
    // Subscribed before joined: the room's messages from the moment of the join reach this node.
    if (this.#local.count(clientId) > 0) await this.#subscribeRoom(room);
    const [outcome, version, owner, members] = await this.#roomOp('join', room, clientId);
    if (outcome === 'not-found') {
      await this.#syncRoom(room);
      await this.#replica.reached(version);
      return 'not-found';
    }
    if (outcome === 'joined') await this.#save([{ kind: 'joined', room, clientId }]);
    await this.#replica.reached(version);
    return { name: room, owner: owner!, members: new Set(members ?? []) };
  }

  async leaveRoom(room: string, clientId: string): Promise<LeaveResult> {
    const [outcome, version] = await this.#roomOp('leave', room, clientId);
    if (outcome === 'left') await this.#save([{ kind: 'left', room, clientId }]);
    await this.#replica.reached(version);
    await this.#syncRoom(room);
    return outcome as LeaveResult;
  }

  async deleteRoom(room: string, by: string): Promise<DeleteResult> {
    const [outcome, version, , members] = await this.#roomOp('delete', room, by);
    if (outcome === 'deleted') await this.#save([{ kind: 'deleted', room, by, members: Array.isArray(members) ? members : [] }]);
    await this.#replica.reached(version);
    await this.#syncRoom(room);
    return outcome as DeleteResult;
  }

  async stats(): Promise<BackendStats> {
    let clients = this.#local.total;
    try {
      clients = Number((await this.#command.get(this.#key('total'))) ?? 0);
    } catch {
      // Redis away: this node's own count is all it knows.
    }
    return { clients, maxClients: this.#maxClients, workers: [{ id: 0, pid: process.pid, clients: this.#local.total }] };
  }

  /** Leaves the service: this node's connections are released at once (not after its lease). */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const wasReady = this.#state === 'ready';
    this.#state = 'closed';
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#subscriber.removeAllListeners('close');
    if (wasReady) await this.#run(LEAVE, this.#node).catch(() => {});
    this.#subscriber.disconnect();
    await this.#command.quit().catch(() => this.#command.disconnect());
  }

  /**
   * Stops at once without a word to Redis, as a killed process would: its
   * lease is left to expire (fault tests).
   */
  abandon(): void {
    this.#state = 'closed';
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#subscriber.removeAllListeners('close');
    this.#subscriber.disconnect();
    this.#command.disconnect();
  }

  /** Whether this node is serving (not starting, recovering or closed): for /ready and tests. */
  get ready(): boolean {
    return this.#state === 'ready';
  }

  // ---- joining, renewing, recovering -----------------------------------------

  /** Registers the lease, makes sure Redis has the rooms, and takes a snapshot. */
  async #join(): Promise<void> {
    this.#replica.suspend();
    await this.#run(REGISTER, this.#node, this.#leaseMs);
    this.#renewedAt = Date.now();
    if (!(await this.#snapshot()).loaded) {
      const rooms = await this.#rooms.loadRooms();
      await this.#run(LOAD_ROOMS, JSON.stringify(rooms));
    }
    this.#replica.restore(await this.#snapshot());
  }

  async #renew(): Promise<void> {
    if (this.#state !== 'ready') return;
    try {
      if ((await this.#run(HEARTBEAT, this.#node, this.#leaseMs)) === 1) {
        this.#renewedAt = Date.now();
        return;
      }
      this.#interrupted('this node lost its lease (Redis restarted, or this node was cut off)');
    } catch {
      // Redis unreachable: once the lease has surely run out, the others have released our clients.
      if (Date.now() - this.#renewedAt >= this.#leaseMs) this.#interrupted('could not renew the lease in time');
    }
  }

  /**
   * Deliveries may have been missed, or this node's clients were released by
   * the service: every local connection is closed (clients reconnect and
   * resume from storage), and the node joins afresh once Redis answers.
   */
  #interrupted(reason: string): void {
    if (this.#state !== 'ready') return;
    void this.#recover(reason);
  }

  #recover(reason: string): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    if (this.#recovery) return this.#recovery;
    this.#state = 'recovering';
    this.#log.warn({ node: this.#node, reason }, 'redis: interrupted; closing local connections and joining afresh');
    this.#replica.suspend();
    for (const clientId of this.#local.clear()) void this.#dropClientChannel(clientId);
    this.#sink?.interrupted?.();
    this.#recovery = (async () => {
      while (this.#state === 'recovering') {
        try {
          await Promise.all([whenReady(this.#command), whenReady(this.#subscriber)]);
          await this.#join();
          this.#state = 'ready';
          this.#log.info({ node: this.#node }, 'redis: joined again');
        } catch {
          // Redis still away or failing: try again when it answers.
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      this.#recovery = null;
    })();
    return this.#recovery;
  }

  async #resync(): Promise<void> {
    if (this.#state !== 'ready') return;
    try {
      this.#replica.restore(await this.#snapshot());
    } catch {
      this.#interrupted('could not read a snapshot of the state');
    }
  }

  async #snapshot(): Promise<StateSnapshot & { loaded: boolean }> {
    const [version, flat, rooms, loaded] = (await this.#run(SNAPSHOT)) as [number, string[], [string, string, string[]][], number];
    const clients = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) clients.set(flat[i]!, Number(flat[i + 1]));
    return { version, clients, rooms: rooms.map(([name, owner, members]) => ({ name, owner, members })), loaded: loaded === 1 };
  }

  // ---- messages and rooms ---------------------------------------------------

  #onMessage(channel: string, message: Buffer): void {
    if (channel === this.#channel('state')) return this.#replica.receive(message.toString());
    new RecordReader().push(
      message,
      (delivery) => this.#sink?.deliver(delivery),
      (err) => this.#log.warn({ err, channel }, 'redis: a delivery could not be read'),
    );
  }

  #onRoomChange(change: RoomChange): void {
    this.#sink?.room(change);
    const member = change.kind === 'joined' || change.kind === 'left' ? change.clientId : null;
    if (change.kind === 'deleted' || (member !== null && this.#local.count(member) > 0)) void this.#syncRoom(change.room).catch(() => {});
  }

  async #roomOp(op: 'create' | 'join' | 'leave' | 'delete', room: string, clientId: string): Promise<RoomReply> {
    this.#ensureReady();
    try {
      return (await this.#run(ROOM, op, room, clientId)) as RoomReply;
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Keeps the record: a failed write is logged, the change stands (it is the live state). */
  async #save(changes: RoomChange[]): Promise<void> {
    try {
      await this.#rooms.saveRoomChanges(changes);
    } catch (err) {
      this.#log.warn({ err, changes }, 'redis: could not save a room change to storage');
    }
  }

  /** Subscribes to or unsubscribes from a room's channel, as whether this node holds one of its members requires. */
  async #syncRoom(room: string): Promise<void> {
    const members = this.#replica.view.room(room)?.members;
    const needed = members !== undefined && [...members].some((m) => this.#local.count(m) > 0);
    if (needed) await this.#subscribeRoom(room);
    else if (this.#roomChannels.delete(room)) await this.#subscriber.unsubscribe(this.#channel(`r:${room}`));
  }

  async #subscribeRoom(room: string): Promise<void> {
    if (this.#roomChannels.has(room)) return;
    this.#roomChannels.add(room);
    try {
      await this.#subscriber.subscribe(this.#channel(`r:${room}`));
    } catch (err) {
      this.#roomChannels.delete(room);
      throw unavailable(err);
    }
  }

  async #dropClientChannel(clientId: string): Promise<void> {
    if (this.#local.count(clientId) > 0) return;
    await this.#subscriber.unsubscribe(this.#channel(`c:${clientId}`)).catch(() => {});
  }

  // ---- plumbing ---------------------------------------------------------------

  #ensureReady(): void {
    if (this.#state !== 'ready') throw new BackendUnavailableError('not connected to Redis right now');
  }

  #run(source: string, ...args: (string | number)[]): Promise<unknown> {
    // EVAL with the source: Redis caches the compiled script by its hash, and a restarted Redis needs no reload step.
    return this.#command.eval(source, 0, this.#prefix, ...args);
  }

  #channel(name: string): string {
    return `${this.#prefix}${name}`;
  }

  #key(name: string): string {
    return `${this.#prefix}${name}`;
  }
}

function unavailable(err: unknown): Error {
  return err instanceof BackendUnavailableError ? err : new BackendUnavailableError((err as Error).message, { cause: err });
}

function whenReady(connection: Redis): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => connection.once('ready', () => resolve()));
}
