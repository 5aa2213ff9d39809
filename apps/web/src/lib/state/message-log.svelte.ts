import type { MessageFrame } from '@chorus/protocol';
import type { ChatMessage } from './chat-message.js';
import { conversationIdOf, type ConversationId } from './conversation-id.js';

/** What {@link MessageLog.addOwn} needs to show a message before the server acks it. */
export interface OwnMessage {
  readonly ref: string;
  readonly from: string;
  readonly to: string | null;
  readonly text: string;
  readonly sentAt: number;
  /** The estimated server time of sending. */
  readonly serverAt: number;
}

/**
 * Every message this tab has seen, in the order it saw them (the server keeps
 * per-sender order, so arrival order is the order to show). Each message
 * carries its conversation id, ready for per-conversation views.
 */
export class MessageLog {
  /** The messages, oldest first. */
  items = $state<ChatMessage[]>([]);

  readonly #limit: number;
  /** Pending messages of mine by send ref; values are the reactive proxies. */
  readonly #byRef = new Map<string, ChatMessage>();
  /** Server ids already shown, so that a redelivery is not shown twice. */
  readonly #seen = new Set<string>();

  /** Keeps at most `limit` messages; older ones drop off the top. */
  constructor(limit = 1000) {
    this.#limit = limit;
  }

  /** Shows a message of mine at once, as pending. */
  addOwn(message: OwnMessage): void {
    this.#push({
      key: `r:${message.ref}`,
      id: null,
      failure: null,
      status: 'pending',
      mine: true,
      conversation: conversationIdOf(message.from, message.to),
      ...message,
    });
    const proxy = this.items[this.items.length - 1];
    if (proxy) this.#byRef.set(message.ref, proxy);
  }

  /** Shows a message someone sent; returns false when it was already shown. */
  addReceived(frame: MessageFrame): boolean {
    if (this.#seen.has(frame.id)) return false;
    this.#seen.add(frame.id);
    this.#push({
      key: `m:${frame.id}`,
      id: frame.id,
      ref: null,
      from: frame.from,
      to: frame.to,
      text: frame.text,
      conversation: conversationIdOf(frame.from, frame.to),
      sentAt: frame.sentAt,
      serverAt: frame.serverAt,
      mine: false,
      status: 'received',
      failure: null,
    });
    return true;
  }

  /**
   * A message I sent that comes back to me (a note to myself): it is the
   * pending one with the same recipient, text and `sentAt` (the server echoes
   * my clock), whichever of the delivery and the ack arrives first. Returns
   * false when no pending message matches.
   */
  confirmOwn(frame: MessageFrame): boolean {
    for (const message of this.#byRef.values()) {
      if (message.to !== frame.to || message.text !== frame.text || message.sentAt !== frame.sentAt) continue;
      message.id = frame.id;
      this.#seen.add(frame.id);
      return true;
    }
    return false;
  }

  /** The server accepted my send `ref` as message `id`. */
  ack(ref: string, id: string, serverAt: number): void {
    const message = this.#byRef.get(ref);
    if (!message) return;
    this.#byRef.delete(ref);
    this.#seen.add(id);
    message.id = id;
    message.serverAt = serverAt;
    message.status = 'sent';
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

  /** The messages of one conversation, oldest first. */
  in(conversation: ConversationId): ChatMessage[] {
    return this.items.filter((m) => m.conversation === conversation);
  }

  #push(message: ChatMessage): void {
    this.items.push(message);
    if (this.items.length > this.#limit) {
      for (const old of this.items.splice(0, this.items.length - this.#limit)) {
        if (old.id !== null) this.#seen.delete(old.id);
        if (old.ref !== null) this.#byRef.delete(old.ref);
      }
    }
  }
}
