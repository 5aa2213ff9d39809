import type { RoomSummary } from '@chorus/protocol';
import type { Delivery, PresenceChange } from './events.js';
import type { CreateResult, DeleteResult, JoinResult, LeaveResult, RoomChange, RoomState } from './room-registry.js';

/**
 * What the hub needs of the shared state and of the routes between nodes,
 * as four small interfaces, each with its contract, and a lifecycle. Three
 * implementations (backends/memory: one process; backends/cluster: the
 * workers of one machine and their primary; backends/redis: any number of
 * nodes) pass one contract suite, test/helpers/backend-contract.ts, whose
 * groups follow these interfaces.
 *
 * Every method returns a Promise, even in memory. The synchronous reads
 * (`view`) are this node's replica, for the hot paths (fanout, membership
 * checks), because routing must not ask a remote store per message.
 */

/** The outcome of asking for admission. */
export type Admission = 'admitted' | 'full' | 'taken' | 'too-many';

/**
 * Admission: the global semaphore of connections.
 * - `admit` is atomic across the whole service: at most `maxClients`
 *   connections at once, exactly, under any concurrency; an address holds at
 *   most `maxPerIp`; an id has one connection, unless every connection of it
 *   is `multi` (a registered user in several tabs).
 * - `release` frees one permit of this node's at once (a node cannot release
 *   another's); releasing what is not held does nothing.
 * - A node that dies without releasing has all of its permits returned by
 *   the service: at once (memory, cluster: the primary sees the worker exit)
 *   or when its lease runs out (Redis).
 * - When the shared state cannot be reached, calls reject with
 *   BackendUnavailableError (retryable) rather than wait.
 */
export interface AdmissionService {
  admit(clientId: string, ip: string, multi?: boolean): Promise<Admission>;
  release(clientId: string): Promise<void>;
}

/**
 * Presence: who is online anywhere, and with how many connections. The
 * change feed (BackendSink.presence) reports a client's first and last
 * connection only, in one order on every node; when `admit` or `release`
 * resolves, this node's view already includes its effect. A dead node's
 * clients are announced as gone (`crashed`) within the bound its backend
 * states.
 */
export interface PresenceView {
  isOnline(clientId: string): boolean;
  /** How many connections `clientId` has in the service (several: a registered user in several tabs). */
  connections(clientId: string): number;
  onlineCount(): number;
  online(): string[];
}

/**
 * Rooms: owner and members; membership outlives connections. Every change
 * reaches every node (BackendSink.room) in one order, the same order as
 * presence changes; when a room call resolves, this node's view includes its
 * effect. A room's changes survive a restart of the whole service (storage
 * is their record).
 */
export interface RoomService {
  createRoom(room: string, owner: string): Promise<CreateResult>;
  joinRoom(room: string, clientId: string): Promise<JoinResult>;
  leaveRoom(room: string, clientId: string): Promise<LeaveResult>;
  deleteRoom(room: string, by: string): Promise<DeleteResult>;
}

export interface RoomView {
  room(room: string): RoomState | undefined;
  rooms(): RoomSummary[];
  roomsOf(clientId: string): string[];
}

/**
 * Broker: publishes deliveries to one client (every connection of it,
 * wherever it is), to a room's members, or to everyone.
 * - Per publisher order: deliveries routed by one node in order are delivered
 *   in that order, whatever their target.
 * - A client admitted anywhere is reachable once its admission has resolved
 *   (no window in which a fresh client is unknown).
 * - `route` to a client resolves false when that client is not online; a
 *   node receives at least what is for its own clients (the Redis backend:
 *   only that; memory and cluster also give room deliveries to nodes
 *   without members, and each hub picks its local members).
 * - Nothing is retained for a node that is not connected: what must not be
 *   lost is in storage before it is published, and clients resume from there
 *   (BackendSink.interrupted tells a node it may have missed some).
 */
export interface Broker {
  route(delivery: Delivery): Promise<boolean>;
}

/** This node's replica of presence and rooms, read synchronously. */
export type StateView = PresenceView & RoomView;

/** What a backend calls on its node's hub. Every call is synchronous and must not throw. */
export interface BackendSink {
  /**
   * Something for this node's sessions: for one client here, for the members
   * of a room who are here, or for everyone here.
   */
  deliver(delivery: Delivery): void;
  /** A client came or went anywhere in the service. */
  presence(change: PresenceChange): void;
  /** A room changed anywhere in the service. */
  room(change: RoomChange): void;
  /**
   * The backend may have missed deliveries for this node, or the service has
   * released this node's clients (a Redis restart, a lease lost in a
   * partition): every local connection must reconnect and resume.
   */
  interrupted?(): void;
}

/**
 * The shared state cannot be reached right now (Redis away): the call did
 * nothing, and the same call may succeed in a moment. The hub answers it with
 * a retryable error, never a hang.
 */
export class BackendUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

/** Per-process figures for /ready. */
export interface BackendStats {
  readonly clients: number;
  readonly maxClients: number;
  readonly workers: readonly { readonly id: number; readonly pid: number; readonly clients: number }[];
}

/** The four parts as one node's hub uses them, with their lifecycle. */
export interface HubBackend extends AdmissionService, RoomService, Broker {
  /**
   * The replica. It already includes a change when the change reaches the sink,
   * and already includes the effect of a call (admit, room calls) when the call
   * resolves.
   */
  readonly view: StateView;
  /** Connects to the shared state; `sink` receives this node's deliveries and all changes. */
  start(sink: BackendSink): Promise<void>;
  stats(): Promise<BackendStats>;
  /** Leaves the service: this node's connections are released. */
  close(): Promise<void>;
}
