import type { RoomSummary } from '@chorus/protocol';

/** One room: its owner and its members (online or not). */
export interface RoomState {
  readonly name: string;
  readonly owner: string;
  readonly members: ReadonlySet<string>;
}

/** A change to the rooms, as the owner of the state applied it (replicas apply the same list). */
export type RoomChange =
  | { readonly kind: 'created'; readonly room: string; readonly owner: string }
  | { readonly kind: 'joined'; readonly room: string; readonly clientId: string }
  | { readonly kind: 'left'; readonly room: string; readonly clientId: string }
  | { readonly kind: 'deleted'; readonly room: string; readonly by: string; readonly members: readonly string[] };

export type CreateResult = 'created' | 'exists';
export type JoinResult = RoomState | 'not-found';
export type LeaveResult = 'left' | 'not-member' | 'not-found';
export type DeleteResult = 'deleted' | 'not-owner' | 'not-found';

/**
 * Rooms and their membership. The owner of the shared state (memory bus,
 * cluster primary) decides every change here and hands out the resulting
 * RoomChange list; replicas (the workers) apply that same list with `apply`.
 * Membership outlives connections: a member who disconnects is still a member.
 */
export class RoomRegistry {
  readonly #rooms = new Map<string, { owner: string; members: Set<string> }>();

  create(room: string, owner: string, changes: RoomChange[]): CreateResult {
    if (this.#rooms.has(room)) return 'exists';
    this.#push(changes, { kind: 'created', room, owner });
    this.#push(changes, { kind: 'joined', room, clientId: owner });
    return 'created';
  }

  /** Joins `clientId` to `room`; joining a room you are in changes nothing. */
  join(room: string, clientId: string, changes: RoomChange[]): JoinResult {
    const state = this.#rooms.get(room);
    if (!state) return 'not-found';
    if (!state.members.has(clientId)) this.#push(changes, { kind: 'joined', room, clientId });
    return this.get(room)!;
  }

  leave(room: string, clientId: string, changes: RoomChange[]): LeaveResult {
    const state = this.#rooms.get(room);
    if (!state) return 'not-found';
    if (!state.members.has(clientId)) return 'not-member';
    this.#push(changes, { kind: 'left', room, clientId });
    return 'left';
  }

  delete(room: string, by: string, changes: RoomChange[]): DeleteResult {
    const state = this.#rooms.get(room);
    if (!state) return 'not-found';
    if (state.owner !== by) return 'not-owner';
    this.#push(changes, { kind: 'deleted', room, by, members: [...state.members] });
    return 'deleted';
  }

  /** Applies a change decided elsewhere (a replica following the owner of the state). */
  apply(change: RoomChange): void {
    switch (change.kind) {
      case 'created':
        this.#rooms.set(change.room, { owner: change.owner, members: new Set() });
        return;
      case 'joined':
        this.#rooms.get(change.room)?.members.add(change.clientId);
        return;
      case 'left':
        this.#rooms.get(change.room)?.members.delete(change.clientId);
        return;
      case 'deleted':
        this.#rooms.delete(change.room);
        return;
    }
  }

  get(room: string): RoomState | undefined {
    const state = this.#rooms.get(room);
    return state && { name: room, owner: state.owner, members: state.members };
  }

  isMember(room: string, clientId: string): boolean {
    return this.#rooms.get(room)?.members.has(clientId) ?? false;
  }

  summary(room: string): RoomSummary | undefined {
    const state = this.#rooms.get(room);
    return state && { name: room, owner: state.owner, members: state.members.size };
  }

  list(): RoomSummary[] {
    return [...this.#rooms].map(([name, s]) => ({ name, owner: s.owner, members: s.members.size }));
  }

  roomsOf(clientId: string): string[] {
    const out: string[] = [];
    for (const [name, s] of this.#rooms) if (s.members.has(clientId)) out.push(name);
    return out;
  }

  /** Every room with its members, for a replica's first snapshot. */
  snapshot(): { name: string; owner: string; members: string[] }[] {
    return [...this.#rooms].map(([name, s]) => ({ name, owner: s.owner, members: [...s.members] }));
  }

  restore(snapshot: readonly { name: string; owner: string; members: readonly string[] }[]): void {
    this.#rooms.clear();
    for (const room of snapshot) this.#rooms.set(room.name, { owner: room.owner, members: new Set(room.members) });
  }

  #push(changes: RoomChange[], change: RoomChange): void {
    this.apply(change);
    changes.push(change);
  }
}
