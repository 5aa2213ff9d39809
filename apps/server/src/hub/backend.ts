import type { RoomSummary } from '@chorus/protocol';
import type { Delivery, PresenceChange } from './events.js';
import type { CreateResult, DeleteResult, JoinResult, LeaveResult, RoomChange, RoomState } from './room-registry.js';

/** The outcome of asking for admission. */
export type Admission = 'admitted' | 'full' | 'taken' | 'too-many';

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

/**
 * The shared state and the routes between nodes, as one hub (one node) sees
 * them. Implemented in memory (one process), over cluster IPC (workers of one
 * machine) and over Redis (many machines: backends/redis).
 *
 * Guarantees every implementation keeps (test/server/backend-contract.ts):
 * - admit is atomic across the whole service: at most `maxClients` ids are
 *   admitted at once, an id is admitted at most once, and an address holds at
 *   most `maxPerIp` of them.
 * - release frees the permit at once, and the presence with the client's last
 *   connection; a node that dies has all of its connections released by the
 *   service. A client's presence changes only with its first and last
 *   connection.
 * - Presence and room changes reach every node in one order (the order the
 *   shared state applied them), and before the answer to the call that caused
 *   them: when `admit` or a room call resolves, this node's `view` already
 *   includes its effect.
 * - Deliveries routed by one node in order are delivered in that order: a
 *   recipient sees one sender's messages in the order its node routed them,
 *   whatever their target.
 */
/**
 * This node's replica of the shared state, read synchronously on hot paths
 * (fanout, membership checks). Every backend keeps one, because routing must
 * not ask a remote store per message.
 */
export interface StateView {
  isOnline(clientId: string): boolean;
  /** How many connections `clientId` has in the service (several: a registered user in several tabs). */
  connections(clientId: string): number;
  onlineCount(): number;
  online(): string[];
  room(room: string): RoomState | undefined;
  rooms(): RoomSummary[];
  roomsOf(clientId: string): string[];
}

export interface HubBackend {
  /**
   * The replica. It already includes a change when the change reaches the sink,
   * and already includes the effect of a call (admit, room calls) when the call
   * resolves.
   */
  readonly view: StateView;
  /** Connects to the shared state; `sink` receives this node's deliveries and all changes. */
  start(sink: BackendSink): Promise<void>;
  /**
   * Takes a permit for one connection of `clientId` on this node and records it
   * as online; `too-many` when its address (`ip`) already holds the most
   * connections allowed. With `multi` (a registered, authenticated user), the id
   * may hold several connections at once if all of them are `multi`.
   */
  admit(clientId: string, ip: string, multi?: boolean): Promise<Admission>;
  /** Returns the permit of one connection of `clientId` on this node. */
  release(clientId: string): Promise<void>;
  /** Routes a delivery (to every connection of a target client); resolves false when that client is not online. */
  route(delivery: Delivery): Promise<boolean>;

  createRoom(room: string, owner: string): Promise<CreateResult>;
  joinRoom(room: string, clientId: string): Promise<JoinResult>;
  leaveRoom(room: string, clientId: string): Promise<LeaveResult>;
  deleteRoom(room: string, by: string): Promise<DeleteResult>;

  stats(): Promise<BackendStats>;
  /** Disconnects from the shared state. */
  close(): Promise<void>;
}
