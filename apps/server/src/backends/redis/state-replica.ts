import type { RoomSummary } from '@chorus/protocol';
import type { StateView } from '../../hub/backend.js';
import type { PresenceChange } from '../../hub/events.js';
import { RoomRegistry, type RoomChange, type RoomState } from '../../hub/room-registry.js';

/** One change as the scripts publish it on the state channel (scripts.ts). */
export type StateChange =
  | { readonly v: number; readonly c: string; readonly n: number; readonly x: 0 | 1 }
  | { readonly v: number; readonly r: RoomChange };

/** The whole state at one version, as the SNAPSHOT script returns it. */
export interface StateSnapshot {
  readonly version: number;
  readonly clients: ReadonlyMap<string, number>;
  readonly rooms: readonly { name: string; owner: string; members: readonly string[] }[];
}

/** Where a replica reports what changed: the hub's sink, through the backend. */
export interface ReplicaListener {
  presence(change: PresenceChange): void;
  room(change: RoomChange): void;
}

/**
 * Validates one message of the state channel. Data from another process is
 * checked where it arrives: a malformed one is treated like a missed one (the
 * replica resynchronizes), never applied half-understood.
 */
export function parseStateChange(raw: string): StateChange | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = (value as { v?: unknown }).v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) return null;
  const { c, n, x, r } = value as { c?: unknown; n?: unknown; x?: unknown; r?: unknown };
  if (typeof c === 'string' && typeof n === 'number' && n >= 0) return { v, c, n, x: x === 1 ? 1 : 0 };
  const room = parseRoomChange(r);
  return room ? { v, r: room } : null;
}

function parseRoomChange(r: unknown): RoomChange | null {
  if (typeof r !== 'object' || r === null) return null;
  const { kind, room, owner, clientId, by, members } = r as Record<string, unknown>;
  if (typeof room !== 'string') return null;
  if (kind === 'created' && typeof owner === 'string') return { kind, room, owner };
  if ((kind === 'joined' || kind === 'left') && typeof clientId === 'string') return { kind, room, clientId };
  if (kind === 'deleted' && typeof by === 'string') {
    // cjson encodes an empty list as {}: anything but a list of strings is no members.
    const list = Array.isArray(members) ? members.filter((m): m is string => typeof m === 'string') : [];
    return { kind, room, by, members: list };
  }
  return null;
}

/**
 * This node's copy of the presence and the rooms, kept from the state
 * channel. Changes are numbered by Redis (one counter for all of them), so
 * the replica applies them in that one order and notices a gap (a dropped
 * subscription, a malformed message) or a restart (the counter went back):
 * then it asks for a snapshot and reports the difference as ordinary changes.
 * `reached(v)` lets a call wait until the replica includes the change it made.
 */
export class StateReplica {
  readonly view: StateView;
  readonly #clients = new Map<string, number>();
  readonly #rooms = new RoomRegistry();
  readonly #listener: ReplicaListener;
  #version = -1;
  /** Changes that arrived while no snapshot was applied yet (or while one is being taken). */
  #buffer: StateChange[] | null = [];
  readonly #waiters = new Map<number, (() => void)[]>();
  /** Called when the replica can no longer follow the channel and needs a snapshot. */
  readonly #onGap: () => void;

  constructor(listener: ReplicaListener, onGap: () => void) {
    this.#listener = listener;
    this.#onGap = onGap;
    const clients = this.#clients;
    const rooms = this.#rooms;
    this.view = {
      isOnline: (clientId) => clients.has(clientId),
      connections: (clientId) => clients.get(clientId) ?? 0,
      onlineCount: () => clients.size,
      online: () => [...clients.keys()],
      room: (room): RoomState | undefined => rooms.get(room),
      rooms: (): RoomSummary[] => rooms.list(),
      roomsOf: (clientId) => rooms.roomsOf(clientId),
    };
  }

  get version(): number {
    return this.#version;
  }

  /** One message of the state channel. */
  receive(raw: string): void {
    const change = parseStateChange(raw);
    if (!change) return this.#lost();
    if (this.#buffer) {
      this.#buffer.push(change);
      return;
    }
    if (change.v !== this.#version + 1) return this.#lost();
    this.#apply(change);
  }

  /** From here until the next snapshot, changes are kept aside (the snapshot may already include them). */
  suspend(): void {
    this.#buffer ??= [];
  }

  /**
   * Replaces the state with a snapshot, tells the listener what differs from
   * what it knew, then applies the changes that came after the snapshot.
   */
  restore(snapshot: StateSnapshot): void {
    const buffered = this.#buffer ?? [];
    this.#buffer = null;
    for (const [clientId, n] of snapshot.clients) {
      const before = this.#clients.get(clientId);
      this.#clients.set(clientId, n);
      if (before === undefined) this.#listener.presence({ clientId, online: true });
    }
    for (const clientId of [...this.#clients.keys()]) {
      if (snapshot.clients.has(clientId)) continue;
      this.#clients.delete(clientId);
      this.#listener.presence({ clientId, online: false, crashed: true });
    }
    for (const change of diffRooms(this.#rooms, snapshot.rooms)) {
      this.#rooms.apply(change);
      this.#listener.room(change);
    }
    this.#version = snapshot.version;
    for (const change of buffered) {
      if (change.v <= this.#version) continue;
      if (change.v !== this.#version + 1) return this.#lost();
      this.#apply(change);
    }
    this.#wake(true);
  }

  /** Resolves once the replica includes change `v` (at once if it does). */
  reached(v: number): Promise<void> {
    if (this.#buffer === null && v <= this.#version) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.#waiters.get(v);
      if (list) list.push(resolve);
      else this.#waiters.set(v, [resolve]);
    });
  }

  #apply(change: StateChange): void {
    this.#version = change.v;
    if ('r' in change) {
      this.#rooms.apply(change.r);
      this.#listener.room(change.r);
    } else {
      const before = this.#clients.get(change.c);
      if (change.n > 0) this.#clients.set(change.c, change.n);
      else this.#clients.delete(change.c);
      // The hub hears of a client's first and last connection only.
      if (before === undefined && change.n > 0) this.#listener.presence({ clientId: change.c, online: true });
      else if (before !== undefined && change.n === 0) {
        this.#listener.presence({ clientId: change.c, online: false, ...(change.x === 1 ? { crashed: true } : {}) });
      }
    }
    this.#wake();
  }

  /**
   * Wakes the calls waiting for a version up to the replica's; `all` after a
   * snapshot, which replaces everything (after a Redis restart the counter
   * starts again, below what some calls were waiting for).
   */
  #wake(all = false): void {
    if (this.#waiters.size === 0) return;
    for (const [version, resolves] of this.#waiters) {
      if (!all && version > this.#version) continue;
      this.#waiters.delete(version);
      for (const resolve of resolves) resolve();
    }
  }

  #lost(): void {
    if (this.#buffer) return;
    this.#buffer = [];
    this.#onGap();
  }
}

/** The changes that turn `registry` into `rooms`, as RoomRegistry.apply takes them. */
function diffRooms(registry: RoomRegistry, rooms: StateSnapshot['rooms']): RoomChange[] {
  const changes: RoomChange[] = [];
  const next = new Map(rooms.map((r) => [r.name, r]));
  for (const { name, owner, members } of registry.snapshot()) {
    const wanted = next.get(name);
    if (!wanted || wanted.owner !== owner) {
      changes.push({ kind: 'deleted', room: name, by: owner, members });
      continue;
    }
    const want = new Set(wanted.members);
    for (const member of members) if (!want.has(member)) changes.push({ kind: 'left', room: name, clientId: member });
    const have = new Set(members);
    for (const member of wanted.members) if (!have.has(member)) changes.push({ kind: 'joined', room: name, clientId: member });
  }
  for (const { name, owner, members } of rooms) {
    if (registry.get(name)?.owner === owner) continue;
    changes.push({ kind: 'created', room: name, owner });
    for (const member of members) changes.push({ kind: 'joined', room: name, clientId: member });
  }
  return changes;
}
