import type { RoomSummary } from '@chorus/protocol';
import type { StateView } from './backend.js';
import type { PresenceChange, Receipt, RoomChange } from './events.js';
import { FrameCache } from './frame-cache.js';
import { presenceInterval } from './limits.js';
import type { LocalSessions } from './local-sessions.js';
import type { StoredReceiptCounts } from './message-log.js';
import type { ReceiptBook } from './receipt-book.js';
import { PerTurn } from '../util/per-turn.js';

export interface BatchedUpdatesOptions {
  readonly sessions: LocalSessions;
  readonly view: () => StateView;
  readonly receipts: ReceiptBook;
  readonly clock: () => number;
  /** Keeps receipt counts so that history and resume bring them back (one merged write per turn). */
  readonly saveReceiptCounts: (counts: StoredReceiptCounts[]) => void;
}

/**
 * The updates this node's clients get in batches rather than one frame per
 * change: presence (at most every presenceInterval), the room list and room
 * members, and receipt counts of the messages they sent (once per
 * event-loop turn). Text sessions get one line per presence event at once.
 * `flush` sends what is pending now: the hub calls it before every message it
 * delivers, so no update arrives after a message that depends on it.
 */
export class BatchedUpdates {
  readonly #sessions: LocalSessions;
  readonly #view: () => StateView;
  readonly #receipts: ReceiptBook;
  readonly #clock: () => number;
  readonly #saveReceiptCounts: BatchedUpdatesOptions['saveReceiptCounts'];
  readonly #presence = new Map<string, boolean>();
  #presenceTimer: NodeJS.Timeout | null = null;
  #lastPresenceFlush = 0;
  readonly #roomList = new Map<string, RoomSummary | null>();
  readonly #roomMembers = new Map<string, Map<string, boolean>>();
  /** Messages whose receipt counts changed since the last flush, by sender. */
  readonly #receiptUpdates = new Map<string, Set<string>>();
  readonly #flushTurn = new PerTurn(() => this.flush());

  constructor(options: BatchedUpdatesOptions) {
    this.#sessions = options.sessions;
    this.#view = options.view;
    this.#receipts = options.receipts;
    this.#clock = options.clock;
    this.#saveReceiptCounts = options.saveReceiptCounts;
  }

  presence(change: PresenceChange): void {
    const perEvent = this.#sessions.perEventPresence();
    if (perEvent.size > 0) {
      const frames = new FrameCache(
        change.online ? { kind: 'joined', clientId: change.clientId } : { kind: 'left', clientId: change.clientId },
      );
      for (const connection of perEvent) if (connection.clientId !== change.clientId) connection.emitCached(frames);
    }
    this.#presence.set(change.clientId, change.online);
    this.#schedulePresence();
  }

  room(change: RoomChange): void {
    const { room } = change;
    this.#roomList.set(room, change.kind === 'deleted' ? null : summaryOf(this.#view(), room));
    if (change.kind === 'deleted') {
      this.#roomMembers.delete(room);
      const frames = new FrameCache({ kind: 'room-deleted', reply: false, room, by: change.by });
      for (const member of change.members) {
        if (member === change.by) continue;
        for (const connection of this.#sessions.tabsOf(member)) connection.emitCached(frames);
      }
    } else if (change.kind === 'joined' || change.kind === 'left') {
      const joined = change.kind === 'joined';
      // The joiner learns the room from its answer; the others from this.
      this.#sessions.fanout(
        { kind: 'room', room },
        { kind: 'room-member', room, clientId: change.clientId, joined },
        { client: change.clientId },
      );
      let pending = this.#roomMembers.get(room);
      if (!pending) this.#roomMembers.set(room, (pending = new Map()));
      pending.set(change.clientId, joined);
    }
    this.#flushTurn.schedule();
  }

  /** Receipts for the messages of `to` (a sender here): its counts are sent with the next flush. */
  receipts(to: string, receipts: readonly Receipt[]): void {
    let pending: Set<string> | undefined;
    for (const receipt of receipts) {
      for (const id of receipt.ids) {
        if (!this.#receipts.record(id, to, receipt.by, receipt.status)) continue;
        if (!pending) {
          pending = this.#receiptUpdates.get(to);
          if (!pending) this.#receiptUpdates.set(to, (pending = new Set()));
        }
        pending.add(id);
      }
    }
    if (pending) this.#flushTurn.schedule();
  }

  /** Sends every batched room and receipt update now (presence keeps its own pace). */
  flush(): void {
    this.#flushTurn.cancel();
    // Called before every message delivered: most of the time there is nothing to send.
    if (this.#roomList.size === 0 && this.#roomMembers.size === 0 && this.#receiptUpdates.size === 0) return;
    const serverAt = this.#clock();
    if (this.#roomList.size > 0) {
      const rooms: RoomSummary[] = [];
      const deleted: string[] = [];
      for (const [name, summary] of this.#roomList) summary ? rooms.push(summary) : deleted.push(name);
      this.#roomList.clear();
      this.#sessions.fanout({ kind: 'all' }, { kind: 'rooms', reply: false, rooms, deleted });
    }
    for (const [room, changes] of this.#roomMembers) {
      const joined: string[] = [];
      const left: string[] = [];
      for (const [clientId, isIn] of changes) (isIn ? joined : left).push(clientId);
      // A joiner learned the room from its answer: it gets the batch without itself.
      const joiners = new Set(joined.filter((id) => this.#sessions.has(id)));
      this.#sessions.fanoutExcept({ kind: 'room', room }, { kind: 'room-members', room, joined, left, serverAt }, joiners);
      for (const joiner of joiners) {
        const others = joined.filter((id) => id !== joiner);
        if (others.length + left.length === 0) continue;
        for (const connection of this.#sessions.tabsOf(joiner))
          connection.emit({ kind: 'room-members', room, joined: others, left, serverAt });
      }
    }
    this.#roomMembers.clear();
    if (this.#receiptUpdates.size > 0) this.#flushReceipts();
  }

  /** Stops the presence timer (shutdown). */
  stop(): void {
    if (this.#presenceTimer) clearTimeout(this.#presenceTimer);
    this.#presenceTimer = null;
    this.#flushTurn.cancel();
  }

  /**
   * Presence reaches batched sessions at most every presenceInterval (100 ms,
   * up to 1 s on a node with 10,000 clients; at once when it has been quiet):
   * a storm of connects costs a few frames per client, not one per connect
   * per client.
   */
  #schedulePresence(): void {
    if (this.#presenceTimer) return;
    const wait = Math.max(0, this.#lastPresenceFlush + presenceInterval(this.#sessions.clientCount) - this.#clock());
    this.#presenceTimer = setTimeout(() => this.#flushPresence(), wait);
  }

  #flushPresence(): void {
    this.#presenceTimer = null;
    if (this.#presence.size === 0) return;
    this.#lastPresenceFlush = this.#clock();
    const joined: string[] = [];
    const left: string[] = [];
    for (const [clientId, online] of this.#presence) (online ? joined : left).push(clientId);
    this.#presence.clear();
    const serverAt = this.#lastPresenceFlush;
    // A client that joined in this batch learned the rest from its welcome: it gets the batch without itself.
    const joiners = new Set(joined.filter((id) => this.#sessions.has(id)));
    this.#sessions.fanoutExcept({ kind: 'all' }, { kind: 'presence', joined, left, serverAt }, joiners);
    for (const joiner of joiners) {
      const others = joined.filter((id) => id !== joiner);
      if (others.length + left.length === 0) continue;
      for (const connection of this.#sessions.tabsOf(joiner)) connection.emit({ kind: 'presence', joined: others, left, serverAt });
    }
  }

  /**
   * Sends each sender the counts that changed, and stores them (whether the
   * sender is here or not), so that history and resume bring them back: one
   * merged write per turn, never one per receipt.
   */
  #flushReceipts(): void {
    const changed: StoredReceiptCounts[] = [];
    for (const [sender, ids] of this.#receiptUpdates) {
      const connections = this.#sessions.tabsOf(sender);
      const updates: { id: string; delivered: number; read: number }[] = [];
      for (const id of ids) {
        const counts = this.#receipts.counts(id);
        if (!counts) continue;
        changed.push({ id, ...counts });
        if (connections.length > 0) updates.push({ id, delivered: counts.delivered, read: counts.read });
      }
      if (updates.length === 0) continue;
      for (const connection of connections) connection.emit({ kind: 'receipts', updates });
    }
    this.#receiptUpdates.clear();
    if (changed.length > 0) this.#saveReceiptCounts(changed);
  }
}

function summaryOf(view: StateView, room: string): RoomSummary | null {
  const state = view.room(room);
  return state ? { name: room, owner: state.owner, members: state.members.size } : null;
}
