import { TYPING_TTL_MS } from '@chorus/protocol';
import { SvelteMap } from 'svelte/reactivity';
import type { ConversationId } from './conversation-id.js';
import { realTimers, type Timers } from './timers.js';

interface Indicator {
  readonly conversation: ConversationId;
  readonly from: string;
  /** Server clock time after which the indicator goes away unless refreshed. */
  readonly until: number;
}

/**
 * Who is typing where. An indicator lasts until its `expiresAt` (server clock)
 * unless refreshed, and ends at once on `active: false` or when a message from
 * that person arrives in that conversation. One timer, set for the earliest
 * expiry, sweeps them; `now` is the estimated server clock (injected, so that a
 * test can drive time).
 */
export class TypingIndicators {
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #entries = new SvelteMap<string, Indicator>();
  #timer: unknown = null;
  #timerAt = Infinity;

  constructor(now: () => number, timers: Timers = realTimers) {
    this.#now = now;
    this.#timers = timers;
  }

  /** Applies a typing event from `from` in `conversation`. */
  apply(conversation: ConversationId, from: string, active: boolean, expiresAt: number): void {
    const key = keyOf(conversation, from);
    if (!active) {
      this.#entries.delete(key);
    } else {
      // Never longer than one TTL from now: a wrong clock estimate must not pin an indicator.
      const until = Math.min(expiresAt, this.#now() + TYPING_TTL_MS);
      if (until <= this.#now()) this.#entries.delete(key);
      else this.#entries.set(key, { conversation, from, until });
    }
    this.#schedule();
  }

  /** `from` sent a message in `conversation`: they stopped typing there. */
  stopped(conversation: ConversationId, from: string): void {
    if (this.#entries.delete(keyOf(conversation, from))) this.#schedule();
  }

  /** Drops every indicator (the connection was lost: none of them will be refreshed or ended). */
  clear(): void {
    this.#entries.clear();
    this.#schedule();
  }

  /** Who is typing in `conversation`, by name. */
  in(conversation: ConversationId): string[] {
    const names: string[] = [];
    for (const entry of this.#entries.values()) if (entry.conversation === conversation) names.push(entry.from);
    return names.sort((a, b) => a.localeCompare(b));
  }

  /** Removes the indicators whose time is up and sets the timer for the next. */
  #sweep(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (entry.until <= now) this.#entries.delete(key);
    this.#schedule();
  }

  #schedule(): void {
    let next = Infinity;
    for (const entry of this.#entries.values()) next = Math.min(next, entry.until);
    if (next === this.#timerAt) return;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = next;
    if (next === Infinity) return;
    this.#timer = this.#timers.setTimeout(() => this.#sweep(), Math.max(0, next - this.#now()));
  }
}

function keyOf(conversation: ConversationId, from: string): string {
  return `${conversation}\n${from}`;
}
