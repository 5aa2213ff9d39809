import type { AckFrame, ActionFrame, FileInfo, MessageFrame, MessageReceipts, ReceiptsFrame, ReplyRef } from '@chorus/protocol';
import { SvelteMap } from 'svelte/reactivity';
import type { OutboxEntry, StoredMessage } from '../store/chat-store.js';
import type { ChatMessage, ChatNote, TimelineItem } from './chat-message.js';
import { conversationIdOf, type ConversationId } from './conversation-id.js';

/** What {@link MessageLog.addOwn} needs to show a message of mine before the server acks it. */
export interface OwnMessage {
  readonly ref: string;
  readonly from: string;
  readonly to: string | null;
  readonly room: string | null;
  readonly text: string;
  readonly sentAt: number;
  /** The estimated server time of sending. */
  readonly serverAt: number;
  /** Why the server refused it (a refused message kept in the outbox); absent or null while waiting. */
  readonly failure?: string | null;
  /** The message it answers. */
  readonly replyTo?: ReplyRef | null;
  readonly files?: readonly FileInfo[] | undefined;
}

/** The fields of an ack that place my message. */
export type Placement = Pick<AckFrame, 'ref' | 'id' | 'serverAt' | 'recipients' | 'conversation' | 'seq'>;

type ReceiptCounts = ReceiptsFrame['updates'][number];

/** Receipt counts kept for ids not acked yet (a receipt may overtake its ack); oldest dropped past this. */
const EARLY_RECEIPTS = 500;
const NOTHING: readonly TimelineItem[] = [];

/**
 * One conversation: the messages held (one per seq, in seq order, which is the
 * server's commit order and the same for everyone), my messages still waiting
 * for their seq, and notes.
 */
class Thread {
  /** Held messages, ascending seq, one per seq. */
  held = $state<ChatMessage[]>([]);
  /** Mine without a seq yet (waiting for the ack, or refused), in the order written. */
  pending = $state<ChatMessage[]>([]);
  notes = $state<ChatNote[]>([]);
  /** Older messages are being loaded. */
  loadingOlder = $state(false);
  /** The floor (0: no messages) at which the server said nothing older exists. */
  exhaustedAt = $state<number | null>(null);
  readonly bySeq = new Map<number, ChatMessage>();

  /** Where in `held` the newest run without a gap starts: only that run is shown, so a gap never is. */
  readonly runStart = $derived.by(() => {
    const held = this.held;
    let i = held.length - 1;
    while (i > 0 && held[i - 1]!.seq === held[i]!.seq! - 1) i--;
    return Math.max(0, i);
  });
  /** The lowest seq shown (null: none held). */
  readonly floor = $derived(this.held[this.runStart]?.seq ?? null);
  /** Whether the start of the conversation is shown. */
  readonly complete = $derived(this.floor === 1 || (this.exhaustedAt !== null && (this.floor ?? 0) === this.exhaustedAt));
  readonly newestSeq = $derived(this.held.at(-1)?.seq ?? 0);
  /** The timeline: the newest run of held messages with the notes between them, then my pending ones. */
  readonly timeline = $derived.by((): TimelineItem[] => {
    const out: TimelineItem[] = [];
    const notes = this.notes;
    let n = 0;
    for (let i = this.runStart; i < this.held.length; i++) {
      const message = this.held[i]!;
      // An action's place keeps the seqs gap-free; what it did is on its message.
      if (message.filler) continue;
      while (n < notes.length && notes[n]!.afterSeq < message.seq!) out.push(notes[n++]!);
      out.push(message);
    }
    while (n < notes.length) out.push(notes[n++]!);
    out.push(...this.pending);
    return out;
  });

  /** Inserts `message` (with a seq not held yet) in seq order; returns its reactive proxy. */
  insert(message: ChatMessage): ChatMessage {
    const seq = message.seq!;
    const held = this.held;
    let at = held.length;
    if (at > 0 && held[at - 1]!.seq! > seq) {
      let lo = 0;
      let hi = at;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (held[mid]!.seq! < seq) lo = mid + 1;
        else hi = mid;
      }
      at = lo;
    }
    held.splice(at, 0, message);
    const proxy = held[at]!;
    this.bySeq.set(seq, proxy);
    return proxy;
  }
}

/**
 * Every conversation's messages, kept as the server numbers them: one copy per
 * (conversation, seq), whether it came live, in a resume replay, in a history
 * page or from the store. My messages show at once as pending and take their
 * place when the ack names their seq (or when the replay brings them first).
 * Changes to held messages go to `persist` (the store).
 */
export class MessageLog {
  readonly #me: string;
  readonly #persist: (messages: StoredMessage[]) => void;
  readonly #threads = new SvelteMap<ConversationId, Thread>();
  /** My messages by send ref (pending, refused, or sent from this browser). */
  readonly #byRef = new Map<string, ChatMessage>();
  /** My held messages by server id, for receipts. */
  readonly #mine = new Map<string, ChatMessage>();
  /** Every held message by server id, for actions on it. */
  readonly #byId = new Map<string, ChatMessage>();
  /** Receipt counts that arrived before the ack of their message. */
  readonly #early = new Map<string, ReceiptCounts>();
  #notes = 0;

  /** `me` is my client id; `persist` receives held messages that are new or changed. */
  constructor(me: string, persist: (messages: StoredMessage[]) => void = () => {}) {
    this.#me = me;
    this.#persist = persist;
  }

  /** Shows what the store kept (before connecting): held messages, and my unacknowledged or refused ones. */
  restore(messages: readonly StoredMessage[], outbox: readonly OutboxEntry[]): void {
    this.#addStored(messages);
    for (const entry of outbox) {
      if (this.#byRef.has(entry.ref)) continue; // already held: its ack made it
      this.addOwn({ ...entry, from: this.#me });
    }
  }

  /** Adds messages read back from the store (older pages); returns how many were new. */
  addStored(messages: readonly StoredMessage[]): number {
    return this.#addStored(messages);
  }

  /** Shows a message of mine at once, as pending (or refused, for one restored as such). */
  addOwn(message: OwnMessage): ChatMessage {
    const conversation = conversationIdOf(message.from, message.to, message.room);
    const thread = this.#thread(conversation);
    const failure = message.failure ?? null;
    thread.pending.push({
      kind: 'message',
      key: `r:${message.ref}`,
      id: null,
      seq: null,
      ref: message.ref,
      from: message.from,
      to: message.to,
      room: message.room,
      text: message.text,
      conversation,
      editedAt: null,
      deleted: false,
      reactions: [],
      replyTo: message.replyTo ?? null,
      filler: false,
      sentAt: message.sentAt,
      serverAt: message.serverAt,
      mine: true,
      status: failure === null ? 'pending' : 'failed',
      failure,
      recipients: null,
      delivered: 0,
      read: 0,
      seen: true,
      files: message.files ?? [],
    });
    const proxy = thread.pending.at(-1)!;
    this.#byRef.set(message.ref, proxy);
    return proxy;
  }

  /**
   * A message from the server, live, replayed or from a history page. Returns
   * it when it is new to the screen; null when its (conversation, seq) is held
   * already, or when it is my pending message coming back (it then takes its
   * place as sent).
   */
  add(frame: MessageFrame): ChatMessage | null {
    const conversation = frame.conversation as ConversationId;
    const thread = this.#thread(conversation);
    const mine = frame.from === this.#me;
    const held = thread.bySeq.get(frame.seq);
    if (held) {
      // Held already (from the store, say), but a history page or a replay knows its ticks, and its state, better,
      // and brings its files' links signed again (the kept ones expire).
      const counted = mine && frame.receipts !== undefined && this.#countsFrom(held, frame.receipts);
      const relinked = frame.files !== undefined && frame.files.length > 0;
      if (relinked) held.files = frame.files!;
      if (this.#stateFrom(held, frame) || counted || relinked) this.#persist([toStored(held)]);
      return null;
    }
    if (mine) {
      // My message whose ack is still to come (lost with a connection, or behind this replay), or a note to myself.
      const own = thread.pending.find(
        (m) => m.status === 'pending' && m.text === frame.text && m.sentAt === frame.sentAt && m.to === frame.to && m.room === frame.room,
      );
      if (own) {
        this.#settle(thread, own, frame.id, frame.seq, frame.serverAt);
        if (frame.receipts) this.#countsFrom(own, frame.receipts);
        this.#persist([toStored(own)]);
        return null;
      }
    }
    const message = thread.insert({
      kind: 'message',
      key: `m:${frame.id}`,
      id: frame.id,
      seq: frame.seq,
      ref: null,
      from: frame.from,
      to: frame.to,
      room: frame.room,
      text: frame.text,
      conversation,
      editedAt: frame.editedAt ?? null,
      deleted: frame.deleted === true,
      reactions: frame.reactions ?? [],
      replyTo: frame.replyTo ?? null,
      filler: false,
      sentAt: frame.sentAt,
      serverAt: frame.serverAt,
      mine,
      status: mine ? 'sent' : 'received',
      failure: null,
      recipients: null,
      delivered: 0,
      read: 0,
      seen: mine,
      files: frame.files ?? [],
    });
    this.#byId.set(frame.id, message);
    if (mine) {
      this.#mine.set(frame.id, message);
      // From history or a resume: the counts it had, so a reload shows the same ticks.
      if (frame.receipts) this.#countsFrom(message, frame.receipts);
    }
    this.#persist([toStored(message)]);
    return message;
  }

  /**
   * An edit, delete or reaction: its seq is held (as a filler, never shown) and
   * it is applied to its message when that is held (otherwise the message
   * comes later in its current state). Applying one twice changes nothing.
   * Returns the message it changed, or null.
   */
  applyAction(frame: ActionFrame): ChatMessage | null {
    const conversation = frame.conversation as ConversationId;
    this.addFiller(conversation, frame.seq, frame.id, frame.serverAt);
    const message = this.#byId.get(frame.message);
    if (!message) return null;
    switch (frame.action) {
      case 'edit':
        if (message.deleted) return null;
        message.text = frame.text;
        message.editedAt = frame.serverAt;
        break;
      case 'delete':
        message.deleted = true;
        message.text = '';
        message.reactions = [];
        break;
      case 'react': {
        const reaction = message.reactions.find((r) => r.emoji === frame.text);
        if (!reaction) message.reactions.push({ emoji: frame.text, by: [frame.from] });
        else if (!reaction.by.includes(frame.from)) reaction.by.push(frame.from);
        break;
      }
      case 'unreact':
        message.reactions = message.reactions
          .map((r) => (r.emoji === frame.text ? { emoji: r.emoji, by: r.by.filter((id) => id !== frame.from) } : r))
          .filter((r) => r.by.length > 0);
        break;
    }
    if (message.seq !== null) this.#persist([toStored(message)]);
    return message;
  }

  /** Holds seq `seq` of `conversation` as an action's place (a live action, or one a history page names). */
  addFiller(conversation: ConversationId, seq: number, id = `a:${conversation}:${seq}`, serverAt = 0): void {
    const thread = this.#thread(conversation);
    if (thread.bySeq.has(seq)) return;
    const filler = thread.insert({
      kind: 'message',
      key: `a:${seq}`,
      id,
      seq,
      ref: null,
      from: '',
      to: null,
      room: null,
      text: '',
      conversation,
      editedAt: null,
      deleted: false,
      reactions: [],
      replyTo: null,
      filler: true,
      sentAt: serverAt,
      serverAt,
      mine: false,
      status: 'received',
      failure: null,
      recipients: null,
      delivered: 0,
      read: 0,
      seen: true,
    });
    this.#persist([toStored(filler)]);
  }

  /** The held message with server id `id`. */
  byId(id: string): ChatMessage | undefined {
    return this.#byId.get(id);
  }

  /** Takes a message's state from a frame of history or a replay (the server's is the current one). */
  #stateFrom(message: ChatMessage, frame: MessageFrame): boolean {
    const editedAt = frame.editedAt ?? null;
    const deleted = frame.deleted === true;
    const reactions = frame.reactions ?? [];
    if (
      message.text === frame.text &&
      message.editedAt === editedAt &&
      message.deleted === deleted &&
      sameReactions(message.reactions, reactions)
    ) {
      return false;
    }
    message.text = frame.text;
    message.editedAt = editedAt;
    message.deleted = deleted;
    // Live frames carry no reactions: keep the ones held.
    if (frame.reactions !== undefined || deleted) message.reactions = reactions;
    return true;
  }

  /** Adds a line about a conversation ("bob joined the room"), after its newest message. */
  addNote(conversation: ConversationId, text: string, serverAt: number): void {
    const thread = this.#thread(conversation);
    thread.notes.push({ kind: 'note', key: `n:${++this.#notes}`, conversation, text, serverAt, afterSeq: thread.newestSeq });
  }

  /**
   * The server stored my send `ref` as (conversation, seq): the message takes
   * its place, as sent to `recipients`. Returns it; null for an ack of nothing
   * pending here (a repeated ack).
   */
  ack(ack: Placement): ChatMessage | null {
    let message = this.#byRef.get(ack.ref);
    if (!message) return null;
    if (message.seq === null) {
      const thread = this.#thread(message.conversation);
      const copy = thread.bySeq.get(ack.seq);
      if (copy) {
        // Its copy came first (a replay I did not match): keep that one, drop the pending one.
        thread.pending = thread.pending.filter((m) => m !== message);
        this.#byRef.set(ack.ref, copy);
        message = copy;
      } else {
        this.#settle(thread, message, ack.id, ack.seq, ack.serverAt);
      }
    }
    message.recipients = ack.recipients;
    message.status = 'sent';
    message.failure = null;
    this.#mine.set(ack.id, message);
    const early = this.#early.get(ack.id);
    if (early) {
      this.#early.delete(ack.id);
      this.#count(message, early);
    }
    this.#persist([toStored(message)]);
    return message;
  }

  /** Applies cumulative receipt counts for messages of mine. */
  applyReceipts(updates: readonly ReceiptCounts[]): void {
    const changed: StoredMessage[] = [];
    for (const update of updates) {
      const message = this.#mine.get(update.id);
      if (message) {
        if (this.#count(message, update) && message.seq !== null) changed.push(toStored(message));
        continue;
      }
      const before = this.#early.get(update.id);
      this.#early.set(update.id, before ? maxCounts(before, update) : update);
      if (this.#early.size > EARLY_RECEIPTS) this.#early.delete(this.#early.keys().next().value!);
    }
    if (changed.length > 0) this.#persist(changed);
  }

  /** Marks someone else's message as seen; returns false when it already was (or is mine). */
  markSeen(message: ChatMessage): boolean {
    if (message.mine || message.seen || message.id === null) return false;
    message.seen = true;
    if (message.seq !== null) this.#persist([toStored(message)]);
    return true;
  }

  /** My message with send ref `ref`, while it waits for the server's ack. */
  pending(ref: string): ChatMessage | undefined {
    const message = this.#byRef.get(ref);
    return message?.status === 'pending' ? message : undefined;
  }

  /** The server refused my send `ref`; `reason` is shown next to it. */
  fail(ref: string, reason: string): boolean {
    const message = this.pending(ref);
    if (!message) return false;
    message.status = 'failed';
    message.failure = reason;
    return true;
  }

  /** The timeline of one conversation, oldest first. */
  in(conversation: ConversationId): readonly TimelineItem[] {
    return this.#threads.get(conversation)?.timeline ?? NOTHING;
  }

  /** The lowest seq shown in `conversation` (null: none). */
  floor(conversation: ConversationId): number | null {
    return this.#threads.get(conversation)?.floor ?? null;
  }

  /** How many messages of `conversation` are shown (the newest run without a gap). */
  shown(conversation: ConversationId): number {
    const thread = this.#threads.get(conversation);
    return thread ? thread.held.length - thread.runStart : 0;
  }

  /** Whether messages are held below a gap under the newest ones (they show again once it is filled). */
  gapBelow(conversation: ConversationId): boolean {
    return (this.#threads.get(conversation)?.runStart ?? 0) > 0;
  }

  /** Whether the start of `conversation` is shown (nothing older to load). */
  complete(conversation: ConversationId): boolean {
    return this.#threads.get(conversation)?.complete ?? false;
  }

  /** Whether older messages of `conversation` are being loaded. */
  loadingOlder(conversation: ConversationId): boolean {
    return this.#threads.get(conversation)?.loadingOlder ?? false;
  }

  setLoadingOlder(conversation: ConversationId, loading: boolean): void {
    this.#thread(conversation).loadingOlder = loading;
  }

  /** The server said nothing is older than what is shown now. */
  exhausted(conversation: ConversationId): void {
    const thread = this.#thread(conversation);
    thread.exhaustedAt = thread.floor ?? 0;
  }

  /** Whether seq `seq` of `conversation` is held. */
  holds(conversation: ConversationId, seq: number): boolean {
    return this.#threads.get(conversation)?.bySeq.has(seq) ?? false;
  }

  /** Drops a conversation (a room that was deleted). */
  forget(conversation: ConversationId): void {
    const thread = this.#threads.get(conversation);
    if (!thread) return;
    for (const message of [...thread.held, ...thread.pending]) {
      if (message.id !== null) {
        this.#mine.delete(message.id);
        this.#byId.delete(message.id);
      }
      if (message.ref !== null) this.#byRef.delete(message.ref);
    }
    this.#threads.delete(conversation);
  }

  #addStored(records: readonly StoredMessage[]): number {
    let added = 0;
    for (const record of records) {
      const conversation = record.conversation as ConversationId;
      const thread = this.#thread(conversation);
      if (thread.bySeq.has(record.seq)) continue;
      const mine = record.from === this.#me;
      const message = thread.insert({
        kind: 'message',
        key: record.ref !== null ? `r:${record.ref}` : `m:${record.id}`,
        ...record,
        conversation,
        editedAt: record.editedAt ?? null,
        deleted: record.deleted ?? false,
        reactions: (record.reactions ?? []).map((r) => ({ emoji: r.emoji, by: [...r.by] })),
        replyTo: record.replyTo ?? null,
        filler: record.filler ?? false,
        mine,
        status: mine ? 'sent' : 'received',
        failure: null,
        files: record.files ?? [],
      });
      if (!message.filler) this.#byId.set(record.id, message);
      if (mine) this.#mine.set(record.id, message);
      if (record.ref !== null) this.#byRef.set(record.ref, message);
      added++;
    }
    return added;
  }

  /** My pending `message` is stored as (seq, id): it moves from the pending list into place. */
  #settle(thread: Thread, message: ChatMessage, id: string, seq: number, serverAt: number): void {
    thread.pending = thread.pending.filter((m) => m !== message);
    message.id = id;
    message.seq = seq;
    message.serverAt = serverAt;
    message.status = 'sent';
    thread.insert(message);
    this.#mine.set(id, message);
    this.#byId.set(id, message);
  }

  #thread(conversation: ConversationId): Thread {
    let thread = this.#threads.get(conversation);
    if (!thread) this.#threads.set(conversation, (thread = new Thread()));
    return thread;
  }

  /** Takes the counts a message frame carries (history, resume): whom it was for, and the counts, never lower. */
  #countsFrom(message: ChatMessage, receipts: MessageReceipts): boolean {
    let changed = false;
    if (message.recipients === null || receipts.recipients > message.recipients) {
      message.recipients = receipts.recipients;
      changed = true;
    }
    return this.#count(message, { id: message.id!, delivered: receipts.delivered, read: receipts.read }) || changed;
  }

  /** Counts only grow: a stale batch must not take a tick back. Returns whether anything changed. */
  #count(message: ChatMessage, counts: ReceiptCounts): boolean {
    let changed = false;
    if (counts.delivered > message.delivered) {
      message.delivered = counts.delivered;
      changed = true;
    }
    if (counts.read > message.read) {
      message.read = counts.read;
      changed = true;
    }
    return changed;
  }
}

/** A held message as the store keeps it (plain data). */
export function toStored(m: ChatMessage): StoredMessage {
  return {
    conversation: m.conversation,
    seq: m.seq!,
    id: m.id!,
    from: m.from,
    to: m.to,
    room: m.room,
    text: m.text,
    sentAt: m.sentAt,
    serverAt: m.serverAt,
    ref: m.ref,
    recipients: m.recipients,
    delivered: m.delivered,
    read: m.read,
    seen: m.seen,
    editedAt: m.editedAt,
    deleted: m.deleted,
    reactions: m.reactions.map((r) => ({ emoji: r.emoji, by: [...r.by] })),
    // Plain copies: a reactive proxy cannot be stored (structured clone).
    replyTo: m.replyTo ? { id: m.replyTo.id, seq: m.replyTo.seq, from: m.replyTo.from, text: m.replyTo.text } : null,
    filler: m.filler,
    // Plain copies: the on-screen ones are reactive proxies, which IndexedDB cannot clone.
    ...(m.files && m.files.length > 0 ? { files: m.files.map((f) => ({ ...f })) } : {}),
  };
}

function sameReactions(
  a: readonly { emoji: string; by: readonly string[] }[],
  b: readonly { emoji: string; by: readonly string[] }[],
): boolean {
  return a.length === b.length && a.every((r, i) => r.emoji === b[i]!.emoji && r.by.join() === b[i]!.by.join());
}

function maxCounts(a: ReceiptCounts, b: ReceiptCounts): ReceiptCounts {
  return { id: a.id, delivered: Math.max(a.delivered, b.delivered), read: Math.max(a.read, b.read) };
}
