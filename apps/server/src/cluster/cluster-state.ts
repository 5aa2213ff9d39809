import { Directory } from '../hub/directory.js';
import { OrderedRoomWriter, type RoomPersistence } from '../hub/room-persistence.js';
import { RoomRegistry, type RoomChange } from '../hub/room-registry.js';
import type { StoredRoom } from '../storage/storage.js';
import type { PrimaryMessage, StateChange, WorkerMessage } from './ipc.js';
import { PerTurn } from '../util/per-turn.js';

/** A message to a worker, without the IPC tag (the channel adds it). */
export type ToWorker = PrimaryMessage extends infer M ? (M extends { ch: 'chorus' } ? Omit<M, 'ch'> : never) : never;

/**
 * The shared state of one machine's cluster, as the primary holds it: the
 * directory (admission semaphore and presence), the rooms, and the workers'
 * mesh addresses.
 * Pure logic: it reacts to worker messages and worker deaths and answers
 * through `send`, so tests can drive it without forking.
 *
 * Directory changes reach every worker in one order, batched per event-loop
 * turn, and always before the reply to the request that caused them.
 *
 * A joining worker gets `init` (and only then listens) once every member has
 * confirmed it added the newcomer to its mesh: so no client can be on a worker
 * that another worker cannot reach yet.
 */
export class ClusterState {
  readonly #directory: Directory<number>;
  readonly #rooms = new RoomRegistry();
  readonly #send: (workerId: number, message: ToWorker) => void;
  /** Mesh socket path of each member (a worker that got its init). */
  readonly #meshPaths = new Map<number, string>();
  /** Workers that said hello, waiting for these members to confirm them as peers. */
  readonly #joining = new Map<number, { readonly meshPath: string; readonly awaiting: Set<number> }>();
  readonly #pids = new Map<number, number>();
  #changes: StateChange[] = [];
  readonly #flushTurn = new PerTurn(() => this.#flush());

  readonly #roomWriter: OrderedRoomWriter;
  readonly #onError: (err: unknown) => void;

  /** `rooms` seeds the registry (loaded from storage); `persistence` keeps later changes. */
  constructor(
    maxClients: number,
    send: (workerId: number, message: ToWorker) => void,
    options: {
      rooms?: readonly StoredRoom[];
      persistence?: RoomPersistence;
      onError?: (err: unknown) => void;
      maxPerIp?: number;
    } = {},
  ) {
    this.#directory = new Directory(maxClients, options.maxPerIp);
    this.#send = send;
    if (options.rooms) this.#rooms.restore(options.rooms);
    this.#roomWriter = new OrderedRoomWriter(options.persistence);
    this.#onError = options.onError ?? (() => {});
  }

  /** Handles one (validated) message from a worker. */
  receive(workerId: number, message: WorkerMessage, pid = 0): void {
    if (message.type === 'hello') this.#hello(workerId, message.meshPath, pid);
    else if (message.type === 'peer-ack') this.#peerAck(workerId, message.id);
    else if (message.type === 'request') this.#request(workerId, message);
  }

  /** A worker is gone: frees its clients (announced as crashed) and tells the others. Returns how many were freed. */
  workerGone(workerId: number): number {
    this.#meshPaths.delete(workerId);
    this.#pids.delete(workerId);
    this.#joining.delete(workerId);
    for (const [joiner, join] of this.#joining) if (join.awaiting.delete(workerId)) this.#admitMemberIfConfirmed(joiner);
    const freed = this.#directory.releaseNode(workerId);
    for (const { clientId } of freed) this.#queue({ t: 'p', clientId, worker: workerId, add: false, crashed: true });
    this.#flush();
    for (const id of this.#meshPaths.keys()) this.#send(id, { type: 'peer-down', id: workerId });
    return freed.length;
  }

  /** How many workers have said hello and are alive. */
  get workers(): number {
    return this.#meshPaths.size;
  }

  #hello(workerId: number, meshPath: string, pid: number): void {
    this.#pids.set(workerId, pid);
    this.#joining.set(workerId, { meshPath, awaiting: new Set(this.#meshPaths.keys()) });
    for (const id of this.#meshPaths.keys()) this.#send(id, { type: 'peer-up', id: workerId, meshPath });
    this.#admitMemberIfConfirmed(workerId);
  }

  #peerAck(memberId: number, joinerId: number): void {
    if (this.#joining.get(joinerId)?.awaiting.delete(memberId)) this.#admitMemberIfConfirmed(joinerId);
  }

  #admitMemberIfConfirmed(workerId: number): void {
    const join = this.#joining.get(workerId);
    if (!join || join.awaiting.size > 0) return;
    this.#joining.delete(workerId);
    this.#flush();
    const peers = [...this.#meshPaths].map(([id, path]) => ({ id, meshPath: path }));
    this.#send(workerId, {
      type: 'init',
      workerId,
      peers,
      directory: [...this.#directory.connections()],
      rooms: this.#rooms.snapshot(),
    });
    this.#meshPaths.set(workerId, join.meshPath);
    // Workers still joining must be confirmed by the new member too.
    for (const [joiner, other] of this.#joining) {
      other.awaiting.add(workerId);
      this.#send(workerId, { type: 'peer-up', id: joiner, meshPath: other.meshPath });
    }
  }

  #request(workerId: number, request: Extract<WorkerMessage, { type: 'request' }>): void {
    const { rid, op, clientId = '', room = '', ip = '', multi = false } = request;
    const roomChanges: RoomChange[] = [];
    let value: unknown = null;
    switch (op) {
      case 'stats':
        value = {
          clients: this.#directory.size,
          maxClients: this.#directory.maxClients,
          workers: [...this.#meshPaths.keys()].map((id) => ({
            id,
            pid: this.#pids.get(id) ?? 0,
            clients: this.#directory.countOn(id),
          })),
        };
        break;
      case 'admit':
        value = this.#directory.admit(clientId, workerId, ip, multi);
        if (value === 'admitted') this.#queue({ t: 'p', clientId, worker: workerId, add: true, crashed: false });
        break;
      case 'release':
        if (this.#directory.release(clientId, workerId) !== 'none') {
          this.#queue({ t: 'p', clientId, worker: workerId, add: false, crashed: false });
        }
        break;
      case 'locate':
        value = this.#directory.locate(clientId)[0] ?? null;
        break;
      case 'create-room':
        value = this.#rooms.create(room, clientId, roomChanges);
        break;
      case 'join-room':
        value = this.#rooms.join(room, clientId, roomChanges) === 'not-found' ? 'not-found' : 'joined';
        break;
      case 'leave-room':
        value = this.#rooms.leave(room, clientId, roomChanges);
        break;
      case 'delete-room':
        value = this.#rooms.delete(room, clientId, roomChanges);
        break;
    }
    const reply = () => {
      for (const change of roomChanges) {
        this.#queue({ t: 'r', change: change.kind === 'deleted' ? { ...change, members: [...change.members] } : change });
      }
      // Changes first, so the requester's replica already holds what the reply implies.
      this.#flush();
      this.#send(workerId, { type: 'reply', rid, value });
    };
    // Room changes are answered once saved (rooms survive a restart); the rest at once.
    this.#roomWriter.write(roomChanges, reply).catch(this.#onError);
  }

  #queue(change: StateChange): void {
    this.#changes.push(change);
    this.#flushTurn.schedule();
  }

  #flush(): void {
    // Also called directly (before a reply): a turn's task then finds nothing left.
    if (this.#changes.length === 0) return;
    const changes = this.#changes;
    this.#changes = [];
    for (const id of this.#meshPaths.keys()) this.#send(id, { type: 'changes', changes });
  }
}
