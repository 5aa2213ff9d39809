import type { Logger } from 'pino';
import type { Admission, BackendSink, BackendStats, HubBackend, StateView } from '../../hub/backend.js';
import type { Delivery } from '../../hub/events.js';
import { RoomRegistry, type CreateResult, type DeleteResult, type JoinResult, type LeaveResult } from '../../hub/room-registry.js';
import {
  parseIpc,
  postToPrimary,
  type PrimaryMessage,
  PrimaryMessage as PrimaryMessageSchema,
  ReplyValue,
  type WorkerRequestOp,
} from '../../cluster/ipc.js';
import { Mesh } from '../../cluster/mesh.js';
import { withRenderedFrame } from '../../cluster/mesh-codec.js';
import { PresenceReplica } from './presence-replica.js';

/** How a worker talks to the primary: process IPC in production, an in-process pair in tests. */
export interface PrimaryChannel {
  /** Sends one message; false when the primary is gone. */
  post(message: object): boolean;
  /** Calls `listener` for every message from the primary; returns the unsubscribe function. */
  subscribe(listener: (message: unknown) => void): () => void;
}

/** The channel of a cluster worker: `process.send` and the 'message' event. */
export const processChannel: PrimaryChannel = {
  post: postToPrimary,
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
 * release and locate clients and to change rooms, keeps replicas of the
 * directory (client -> worker) and of the rooms from the primary's ordered
 * changes, and sends chat traffic straight to other workers over the mesh.
 *
 * A client that connected a moment ago on another worker may not be in the
 * replica yet; a delivery to it waits for the primary's answer (which comes
 * after the change that adds it), and later deliveries to the same client queue
 * behind that lookup, so nothing is dropped or reordered.
 */
export class ClusterBackend implements HubBackend {
  readonly #meshPath: string;
  readonly #log: Pick<Logger, 'warn'>;
  readonly #channel: PrimaryChannel;
  readonly #replica = new PresenceReplica<number>();
  readonly #rooms = new RoomRegistry();
  readonly #requests = new Map<number, PendingRequest>();
  /** Lookups at the primary in flight, by recipient; later deliveries to it wait behind. */
  readonly #lookups = new Map<string, Promise<void>>();
  #workerId = 0;
  #nextRid = 0;
  #sink: BackendSink | null = null;
  #mesh: Mesh | null = null;
  #onInit: (() => void) | null = null;
  #unsubscribe: (() => void) | null = null;
  readonly view: StateView;

  constructor(options: { meshPath: string; log: Pick<Logger, 'warn'>; channel?: PrimaryChannel }) {
    this.#meshPath = options.meshPath;
    this.#log = options.log;
    this.#channel = options.channel ?? processChannel;
    const replica = this.#replica;
    const rooms = this.#rooms;
    this.view = {
      isOnline: (clientId) => replica.has(clientId),
      connections: (clientId) => replica.connectionsOf(clientId),
      onlineCount: () => replica.size,
      online: () => replica.clientIds(),
      room: (room) => rooms.get(room),
      rooms: () => rooms.list(),
      roomsOf: (clientId) => rooms.roomsOf(clientId),
    };
  }

  /** This worker's id in the cluster (known after start). */
  get workerId(): number {
    return this.#workerId;
  }

  async start(sink: BackendSink): Promise<void> {
    this.#sink = sink;
    this.#mesh = new Mesh(
      (delivery) => sink.deliver(delivery),
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

  async admit(clientId: string, ip = '', multi = false): Promise<Admission> {
    return (await this.#request('admit', { clientId, ip, multi })) as Admission;
  }

  async release(clientId: string): Promise<void> {
    await this.#request('release', { clientId });
  }

  route(delivery: Delivery): Promise<boolean> {
    const { target } = delivery;
    if (target.kind !== 'client') {
      if (this.#mesh!.peers > 0) delivery = withRenderedFrame(delivery);
      this.#sink!.deliver(delivery);
      this.#mesh!.broadcast(delivery);
      return Promise.resolve(true);
    }
    const to = target.clientId;
    const lookup = this.#lookups.get(to);
    if (lookup) return lookup.then(() => this.#forward(delivery, to));
    if (this.#replica.has(to)) return Promise.resolve(this.#forward(delivery, to));
    const pending = this.#request('locate', { clientId: to }).then(
      () => void this.#lookups.delete(to),
      () => void this.#lookups.delete(to),
    );
    this.#lookups.set(to, pending);
    return pending.then(() => this.#forward(delivery, to));
  }

  async createRoom(room: string, owner: string): Promise<CreateResult> {
    return (await this.#request('create-room', { room, clientId: owner })) as CreateResult;
  }

  async joinRoom(room: string, clientId: string): Promise<JoinResult> {
    const result = await this.#request('join-room', { room, clientId });
    return result === 'joined' ? (this.#rooms.get(room) ?? 'not-found') : 'not-found';
  }

  async leaveRoom(room: string, clientId: string): Promise<LeaveResult> {
    return (await this.#request('leave-room', { room, clientId })) as LeaveResult;
  }

  async deleteRoom(room: string, by: string): Promise<DeleteResult> {
    return (await this.#request('delete-room', { room, clientId: by })) as DeleteResult;
  }

  async stats(): Promise<BackendStats> {
    return (await this.#request('stats', {})) as BackendStats;
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#mesh?.close();
    for (const pending of this.#requests.values()) pending.reject(new Error('backend closed'));
    this.#requests.clear();
  }

  /** Sends to every worker the replica names for `to` (after a lookup: what the primary knew when it answered). */
  #forward(delivery: Delivery, to: string): boolean {
    const workers = this.#replica.nodesOf(to);
    if (!workers) return false;
    let sent = false;
    for (const worker of workers) {
      if (worker === this.#workerId) {
        this.#sink!.deliver(delivery);
        sent = true;
      } else {
        // Rendered once when it crosses the mesh (a local tab after this shares the frame).
        delivery = withRenderedFrame(delivery);
        if (this.#mesh!.send(worker, delivery)) sent = true;
      }
    }
    return sent;
  }

  #onMessage(message: PrimaryMessage): void {
    switch (message.type) {
      case 'init':
        this.#workerId = message.workerId;
        for (const [clientId, worker] of message.directory) this.#replica.apply(clientId, worker, true);
        this.#rooms.restore(message.rooms);
        for (const peer of message.peers) this.#mesh!.addPeer(peer.id, peer.meshPath);
        this.#onInit?.();
        return;
      case 'peer-up':
        this.#mesh!.addPeer(message.id, message.meshPath);
        this.#post({ type: 'peer-ack', id: message.id });
        return;
      case 'peer-down':
        return this.#mesh!.removePeer(message.id);
      case 'changes':
        for (const change of message.changes) {
          if (change.t === 'p') {
            const presence = this.#replica.apply(change.clientId, change.worker, change.add);
            if (presence) this.#sink!.presence({ clientId: change.clientId, online: presence === 'online', crashed: change.crashed });
          } else {
            this.#rooms.apply(change.change);
            this.#sink!.room(change.change);
          }
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

  #request(op: WorkerRequestOp, args: { clientId?: string; room?: string; ip?: string; multi?: boolean }): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const rid = ++this.#nextRid;
      this.#requests.set(rid, { op, resolve, reject });
      if (!this.#post({ type: 'request', rid, op, ...args })) {
        this.#requests.delete(rid);
        reject(new Error('the cluster primary is gone'));
      }
    });
  }

  #post(message: Record<string, unknown> & { type: string }): boolean {
    return this.#channel.post({ ch: 'chorus', ...message });
  }
}
