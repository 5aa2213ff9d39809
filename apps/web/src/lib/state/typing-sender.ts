import { TYPING_REFRESH_MS } from '@chorus/protocol';
import type { ConversationId } from './conversation-id.js';

/** Sends one typing frame; false when it could not be sent (offline). */
export type SendTyping = (conversation: ConversationId, active: boolean) => boolean;

/**
 * Tells the others that I am typing, throttled: `active: true` when typing
 * starts in a conversation and again at most every `refreshMs` while it goes
 * on; `active: false` when the text is sent or emptied, or the conversation
 * changes.
 */
export class TypingSender {
  readonly #send: SendTyping;
  readonly #now: () => number;
  readonly #refreshMs: number;
  #active: { readonly conversation: ConversationId; readonly sentAt: number } | null = null;

  constructor(send: SendTyping, now: () => number = Date.now, refreshMs = TYPING_REFRESH_MS) {
    this.#send = send;
    this.#now = now;
    this.#refreshMs = refreshMs;
  }

  /** The composer of `conversation` now holds `text`. */
  input(conversation: ConversationId, text: string): void {
    if (text.trim() === '') return this.stop();
    const active = this.#active;
    if (active && active.conversation !== conversation) this.stop();
    else if (active && this.#now() - active.sentAt < this.#refreshMs) return;
    const now = this.#now();
    if (this.#send(conversation, true)) this.#active = { conversation, sentAt: now };
  }

  /** Typing ended (the message was sent, the text emptied, or another conversation opened). */
  stop(): void {
    const active = this.#active;
    if (!active) return;
    this.#active = null;
    this.#send(active.conversation, false);
  }

  /** Forgets the state without sending (the connection is gone, and the server forgot it too). */
  reset(): void {
    this.#active = null;
  }
}
