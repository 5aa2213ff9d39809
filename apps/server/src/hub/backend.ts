import type { Envelope, PresenceChange } from './events.js';

/** The outcome of asking for admission. */
export type Admission = 'admitted' | 'full' | 'taken';

/** What a backend calls on its node's hub. Both calls are synchronous and must not throw. */
export interface BackendSink {
  /**
   * Delivers an envelope to this node's sessions: its recipient when `to` is
   * set, else every session but the sender's.
   */
  deliver(envelope: Envelope): void;
  /**
   * A client came or went anywhere in the service. Changes arrive in the order
   * the shared state applied them, on every node.
   */
  presence(change: PresenceChange): void;
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
 * machine) and later over Redis (many machines).
 *
 * Guarantees every implementation keeps (test/server/backend-contract.ts):
 * - admit is atomic across the whole service: at most `maxClients` ids are
 *   admitted at once, and an id is admitted at most once.
 * - release frees the permit and the presence at once; it is idempotent, and
 *   a node that dies has all of its ids released by the service.
 * - Calls made by one node in order are applied in that order: a recipient
 *   sees one sender's messages in the order that sender's node routed them,
 *   whether they went to it alone (sendTo) or to everyone (broadcast).
 * - online() includes every id admitted before the call, this node's own
 *   included, and is consistent with the presence changes already delivered.
 */
export interface HubBackend {
  /** Connects to the shared state; `sink` receives this node's deliveries and all presence changes. */
  start(sink: BackendSink): Promise<void>;
  /** Takes a permit for `clientId` on this node and records it as online. */
  admit(clientId: string): Promise<Admission>;
  /** Returns the permit of `clientId`, if this node holds it. */
  release(clientId: string): Promise<void>;
  /** Routes `envelope` to `envelope.to`; resolves false when that client is not online. */
  sendTo(envelope: Envelope): Promise<boolean>;
  /** Routes `envelope` to every node, this one included. */
  broadcast(envelope: Envelope): Promise<void>;
  /** Every client online in the service. */
  online(): Promise<string[]>;
  stats(): Promise<BackendStats>;
  /** Releases everything this node holds and disconnects from the shared state. */
  close(): Promise<void>;
}
