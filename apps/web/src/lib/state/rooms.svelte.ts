import type { RoomSummary } from '@chorus/protocol';
import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import type { StoredMeta } from '../store/chat-store.js';

/**
 * Every room the server knows (name, owner, member count), which of them I am
 * in, and the member lists of those. Fed by the welcome frame, the `rooms`
 * pushes, and the answers and notices about rooms I am in.
 */
export class RoomDirectory {
  readonly #rooms = new SvelteMap<string, RoomSummary>();
  readonly #joined = new SvelteSet<string>();
  /** Member ids of rooms I am in, once the server listed them. */
  readonly #members = new SvelteMap<string, readonly string[]>();

  /** The rooms I am in, by name. */
  readonly joined = $derived([...this.#joined].sort().map((name) => this.#rooms.get(name) ?? { name, owner: '', members: 0 }));
  /** The rooms I am not in, by name. */
  readonly others = $derived(
    [...this.#rooms.values()].filter((room) => !this.#joined.has(room.name)).sort((a, b) => (a.name < b.name ? -1 : 1)),
  );

  /** Starts over from a welcome frame: every room, and those I am in. */
  reset(rooms: readonly RoomSummary[], memberOf: readonly string[]): void {
    this.replace(rooms);
    this.#joined.clear();
    for (const name of memberOf) this.#joined.add(name);
    for (const name of [...this.#members.keys()]) if (!this.#joined.has(name)) this.#members.delete(name);
  }

  /** What to keep for the next visit (the rooms as last known, and mine), as plain data. */
  snapshot(): StoredMeta['rooms'] {
    return { rooms: [...this.#rooms.values()].map((room) => ({ ...room })), memberOf: [...this.#joined] };
  }

  /** Replaces the list of rooms (the answer to list-rooms names them all). */
  replace(rooms: readonly RoomSummary[]): void {
    this.#rooms.clear();
    for (const room of rooms) this.#rooms.set(room.name, room);
  }

  /** Applies pushed changes: rooms created or whose member count changed, and deleted names. */
  update(rooms: readonly RoomSummary[], deleted: readonly string[]): void {
    for (const room of rooms) this.#rooms.set(room.name, room);
    for (const name of deleted) this.deleted(name);
  }

  /** I am in `room` now (I created or joined it), with these members. */
  entered(room: { name: string; owner: string; members: readonly string[] }): void {
    this.#rooms.set(room.name, { name: room.name, owner: room.owner, members: room.members.length });
    this.#joined.add(room.name);
    this.#members.set(room.name, [...room.members].sort());
  }

  /** Members came and went in a room I am in. */
  membersChanged(name: string, joined: readonly string[], left: readonly string[]): void {
    const before = this.#members.get(name);
    if (!before) return;
    const members = new Set(before);
    for (const id of left) if (!joined.includes(id)) members.delete(id);
    for (const id of joined) members.add(id);
    this.#members.set(name, [...members].sort());
  }

  /** I left `name` (the room goes on without me). */
  left(name: string): void {
    this.#joined.delete(name);
    this.#members.delete(name);
  }

  /** `name` was deleted. */
  deleted(name: string): void {
    this.#rooms.delete(name);
    this.left(name);
  }

  /** Whether I am in `name`. */
  isMember(name: string): boolean {
    return this.#joined.has(name);
  }

  /** What the list says about `name`. */
  get(name: string): RoomSummary | undefined {
    return this.#rooms.get(name);
  }

  /** The members of a room I am in, once known. */
  members(name: string): readonly string[] | null {
    return this.#members.get(name) ?? null;
  }
}
