import type { MessageFrame, ReceiptsFrame } from '@chorus/protocol';
import type { ChatMessage, ChatNote, TimelineItem } from './chat-message.js';
import { conversationIdOf, type ConversationId } from './conversation-id.js';

/** What {@link MessageLog.addOwn} needs to show a message before the server acks it. */
export interface OwnMessage {
  readonly ref: string;
  readonly from: string;
  readonly to: string | null;
  readonly room: string | null;
  readonly text: string;
  readonly sentAt: number;
  /** The estimated server time of sending. */
  readonly serverAt: number;
}

type ReceiptCounts = ReceiptsFrame['updates'][number];

/** Receipt counts kept for ids not acked yet (a receipt may overtake its ack); oldest dropped past this. */
const EARLY_RECEIPTS = 500;

/**
 * Every message (and note) this tab has seen, in the order it saw them (the
 * server keeps per-sender order, so arrival order is the order to show). Each
 * carries its conversation id; {@link MessageLog.in} is one conversation's
 * timeline. Mine carry their receipt counts.
 */
export class MessageLog {
  /** The timeline of every conversation, oldest first. */
  items = $state<TimelineItem[]>([]);

  readonly #limit: number;
  /** Pending messages of mine by send ref; values are the reactive proxies. */
  readonly #byRef = new Map<string, ChatMessage>();
  /** Acked messages of mine by server id, for receipts. */
  readonly #mine = new Map<string, ChatMessage>();
  /** Receipt counts that arrived before the ack of their message. */
  readonly #early = new Map<string, ReceiptCounts>();
  /** Server ids already shown, so that a redelivery is not shown twice. */
  readonly #seen = new Set<string>();
  #notes = 0;

  /** Keeps at most `limit` items; older ones drop off the top. */
  constructor(limit = 1000) {
    this.#limit = limit;
  }

  /** Shows a message of mine at once, as pending. */
  addOwn(message: OwnMessage): void {
    const proxy = this.#push({
      kind: 'message',
      key: `r:${message.ref}`,
      id: null,
      failure: null,
      status: 'pending',
      mine: true,
      conversation: conversationIdOf(message.from, message.to, message.room),
      recipients: null,
      delivered: 0,
      read: 0,
      seen: true,
      ...message,
    });
    this.#byRef.set(message.ref, proxy);
  }

  /** Shows a message someone sent; returns it, or null when it was already shown. */
  addReceived(frame: MessageFrame): ChatMessage | null {
    if (this.#seen.has(frame.id)) return null;
    this.#seen.add(frame.id);
    return this.#push({
      kind: 'message',
      key: `m:${frame.id}`,
      id: frame.id,
      ref: null,
      from: frame.from,
      to: frame.to,
      room: frame.room,
      text: frame.text,
      conversation: conversationIdOf(frame.from, frame.to, frame.room),
      sentAt: frame.sentAt,
      serverAt: frame.serverAt,
      mine: false,
      status: 'received',
      failure: null,
      recipients: null,
      delivered: 0,
      read: 0,
      seen: false,
    });
  }

  /** Adds a line about a conversation ("bob joined the room"). */
  addNote(conversation: ConversationId, text: string, serverAt: number): void {
    const note: ChatNote = { kind: 'note', key: `n:${++this.#notes}`, conversation, text, serverAt };
    this.#push(note);
  }

  /**
   * A message I sent that comes back to me (a note to myself): it is the
   * pending one with the same recipient, text and `sentAt` (the server echoes
   * my clock), whichever of the delivery and the ack arrives first. Returns
   * false when no message of mine matches.
   */
  confirmOwn(frame: MessageFrame): boolean {
    const known = this.#mine.get(frame.id);
    if (known) return true; // acked first (the server's order for a note to oneself)
    for (const message of this.#byRef.values()) {
      if (message.to !== frame.to || message.text !== frame.text || message.sentAt !== frame.sentAt) continue;
      message.id = frame.id;
      this.#seen.add(frame.id);
      return true;
    }
    return false;
  }

  /** The server accepted my send `ref` as message `id`, meant for `recipients` clients. */
  ack(ref: string, id: string, serverAt: number, recipients: number): void {
    const message = this.#byRef.get(ref);
    if (!message) return;
    this.#byRef.delete(ref);
    this.#seen.add(id);
    this.#mine.set(id, message);
    message.id = id;
    message.serverAt = serverAt;
    message.recipients = recipients;
    message.status = 'sent';
    const early = this.#early.get(id);
    if (early) {
      this.#early.delete(id);
      this.#count(message, early);
    }
  }

  /** Applies cumulative receipt counts for messages of mine. */
  applyReceipts(updates: readonly ReceiptCounts[]): void {
    for (const update of updates) {
      const message = this.#mine.get(update.id);
      if (message) {
        this.#count(message, update);
        continue;
      }
      const before = this.#early.get(update.id);
      this.#early.set(update.id, before ? maxCounts(before, update) : update);
      if (this.#early.size > EARLY_RECEIPTS) this.#early.delete(this.#early.keys().next().value!);
    }
  }

  /** Marks someone else's message as seen; returns false when it already was (or is mine). */
  markSeen(message: ChatMessage): boolean {
    if (message.mine || message.seen || message.id === null) return false;
    message.seen = true;
    return true;
  }

  /** My message with send ref `ref`, while it waits for the server's ack. */
  pending(ref: string): ChatMessage | undefined {
    return this.#byRef.get(ref);
  }

  /** The server refused my send `ref`; `reason` is shown next to it. */
  fail(ref: string, reason: string): boolean {
    const message = this.#byRef.get(ref);
    if (!message) return false;
    this.#byRef.delete(ref);
    message.status = 'failed';
    message.failure = reason;
    return true;
  }

  /** Marks every message still waiting for an ack as failed (the connection dropped). */
  failPending(reason: string): void {
    for (const ref of [...this.#byRef.keys()]) this.fail(ref, reason);
  }

  /** The timeline of one conversation, oldest first. */
  in(conversation: ConversationId): TimelineItem[] {
    return this.items.filter((m) => m.conversation === conversation);
  }

  #count(message: ChatMessage, counts: ReceiptCounts): void {
    // Counts only grow; a stale batch must not take a tick back.
    if (counts.delivered > message.delivered) message.delivered = counts.delivered;
    if (counts.read > message.read) message.read = counts.read;
  }

  /** Appends `item` and returns its reactive proxy. */
  #push<T extends TimelineItem>(item: T): T {
    this.items.push(item);
    const proxy = this.items[this.items.length - 1] as T;
    if (this.items.length > this.#limit) {
      for (const old of this.items.splice(0, this.items.length - this.#limit)) {
        if (old.kind !== 'message') continue;
        if (old.id !== null) (this.#seen.delete(old.id), this.#mine.delete(old.id));
        if (old.ref !== null) this.#byRef.delete(old.ref);
      }
    }
    return proxy;
  }
}

function maxCounts(a: ReceiptCounts, b: ReceiptCounts): ReceiptCounts {
  return { id: a.id, delivered: Math.max(a.delivered, b.delivered), read: Math.max(a.read, b.read) };
}
