import type { StateView } from './backend.js';
import type { Connection, MessageKey } from './connection.js';
import type { OutEvent, Target } from './events.js';
import { FrameCache } from './frame-cache.js';
import type { OutFrame } from './session.js';

/** Which local connections a fanout leaves out. */
export interface FanoutSkip {
  /** The connection it came from (the sender's other tabs still get it). */
  readonly origin?: string | undefined;
  /** Every connection of this client. */
  readonly client?: string;
  /** The stored message it carries (a resumed connection drops what its replay carried). */
  readonly key?: MessageKey;
}

/**
 * The admitted connections of this node, by client id (several for a
 * registered user in several tabs), and the fanout to them: an event is
 * rendered once per protocol and the same frame goes to every connection.
 */
export class LocalSessions {
  readonly #clients = new Map<string, Connection[]>();
  readonly #connections = new Set<Connection>();
  /** The connections whose protocol shows presence as one line per event. */
  readonly #perEventPresence = new Set<Connection>();
  readonly #view: () => StateView;

  /** `view`: the backend's replica, for room members. */
  constructor(view: () => StateView) {
    this.#view = view;
  }

  /** Admitted connections. */
  get size(): number {
    return this.#connections.size;
  }

  /** Distinct clients with a connection here. */
  get clientCount(): number {
    return this.#clients.size;
  }

  add(connection: Connection): void {
    this.#connections.add(connection);
    if (connection.codec.presence === 'per-event') this.#perEventPresence.add(connection);
    const tabs = this.#clients.get(connection.clientId);
    if (tabs) tabs.push(connection);
    else this.#clients.set(connection.clientId, [connection]);
  }

  /** Forgets `connection`; false if it was not here. */
  remove(connection: Connection): boolean {
    if (!this.#connections.delete(connection)) return false;
    this.#perEventPresence.delete(connection);
    const tabs = this.#clients.get(connection.clientId)!.filter((c) => c !== connection);
    if (tabs.length > 0) this.#clients.set(connection.clientId, tabs);
    else this.#clients.delete(connection.clientId);
    return true;
  }

  has(clientId: string): boolean {
    return this.#clients.has(clientId);
  }

  /** The connections of `clientId` here (none: empty). */
  tabsOf(clientId: string): readonly Connection[] {
    return this.#clients.get(clientId) ?? NONE;
  }

  all(): Iterable<Connection> {
    return this.#connections;
  }

  /** The connections that get a line per presence event. */
  perEventPresence(): ReadonlySet<Connection> {
    return this.#perEventPresence;
  }

  /**
   * Sends one event to the local connections `target` names, rendered once per
   * protocol; returns how many connections it was given to.
   */
  fanout(target: Target, event: OutEvent, skip: FanoutSkip = {}, json?: OutFrame): number {
    const frames = new FrameCache(event, json);
    let given = 0;
    if (target.kind === 'client') {
      // The hot one (a private message, receipts, typing): no closure.
      const tabs = this.#clients.get(target.clientId);
      if (!tabs) return 0;
      for (const connection of tabs) {
        if (connection.id !== skip.origin && connection.clientId !== skip.client) {
          connection.emitCached(frames, skip.key);
          given++;
        }
      }
      return given;
    }
    const send = (connection: Connection) => {
      if (connection.id !== skip.origin && connection.clientId !== skip.client) {
        connection.emitCached(frames, skip.key);
        given++;
      }
    };
    if (target.kind === 'all') {
      for (const connection of this.#connections) send(connection);
      return given;
    }
    const members = this.#view().room(target.room)?.members;
    if (!members) return 0;
    if (members.size < this.#clients.size) {
      for (const member of members) for (const connection of this.#clients.get(member) ?? NONE) send(connection);
    } else {
      for (const connection of this.#connections) if (members.has(connection.clientId)) send(connection);
    }
    return given;
  }

  /** Like `fanout` to everyone or to a room, leaving out several clients (the ones that just joined). */
  fanoutExcept(target: Target, event: OutEvent, except: ReadonlySet<string>): void {
    if (except.size === 0) {
      this.fanout(target, event);
      return;
    }
    const frames = new FrameCache(event);
    const members = target.kind === 'room' ? this.#view().room(target.room)?.members : undefined;
    for (const connection of this.#connections) {
      if (except.has(connection.clientId)) continue;
      if (members && !members.has(connection.clientId)) continue;
      connection.emitCached(frames);
    }
  }
}

const NONE: readonly Connection[] = [];
