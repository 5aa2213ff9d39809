import { SvelteMap } from 'svelte/reactivity';
import type { StoredMeta } from '../store/chat-store.js';
import { LOBBY, directConversation, parseConversation, type ConversationId } from './conversation-id.js';

/**
 * The conversations of the sidebar that are not rooms: which one is open, the
 * direct conversations (one per person I exchanged private messages with, most
 * recent first), and the unread count of every conversation: messages from
 * others that arrived while it was not open. Rooms themselves are listed by the
 * {@link RoomDirectory}; their unread counts live here too.
 */
export class Conversations {
  /** The conversation on screen. */
  active = $state<ConversationId>(LOBBY);

  readonly #me: string;
  readonly #unread = new SvelteMap<ConversationId, number>();
  /** Peer -> recency (a counter: bigger is more recent). */
  readonly #direct = new SvelteMap<string, number>();
  #recency = 0;
  /** Unsent drafts by conversation (not reactive: read when a conversation opens). */
  readonly #drafts = new Map<ConversationId, string>();

  /** The peers of my direct conversations, most recent first. */
  readonly direct = $derived([...this.#direct].sort((a, b) => b[1] - a[1]).map(([peer]) => peer));
  /** Unread messages over every conversation. */
  readonly totalUnread = $derived([...this.#unread.values()].reduce((sum, n) => sum + n, 0));

  constructor(me: string) {
    this.#me = me;
  }

  /** How many messages arrived in `id` while it was not open. */
  unread(id: ConversationId): number {
    return this.#unread.get(id) ?? 0;
  }

  /** Opens `id` (its unread count goes to zero); a direct one joins the list. */
  open(id: ConversationId): void {
    this.#touch(id, false);
    this.active = id;
    this.#unread.delete(id);
  }

  /** Opens (and lists) the direct conversation with `peer`. */
  openDirect(peer: string): ConversationId {
    const id = directConversation(this.#me, peer);
    this.open(id);
    return id;
  }

  /** A message arrived in (or, `mine`, was sent to) `id`: counts it unread unless it is open or mine. */
  arrived(id: ConversationId, mine: boolean): void {
    this.#touch(id, true);
    if (mine || id === this.active) return;
    this.#unread.set(id, this.unread(id) + 1);
  }

  /** `id` is gone (a room I left or that was deleted): forgets its count and, if it was open, opens the lobby. */
  forget(id: ConversationId): void {
    this.#unread.delete(id);
    this.#drafts.delete(id);
    if (this.active === id) this.active = LOBBY;
  }

  /** The unsent text of `id`. */
  draft(id: ConversationId): string {
    return this.#drafts.get(id) ?? '';
  }

  /** Keeps the unsent text of `id` for when it is opened again. */
  keepDraft(id: ConversationId, text: string): void {
    if (text === '') this.#drafts.delete(id);
    else this.#drafts.set(id, text);
  }

  /** What to keep for the next visit: the open conversation, the direct conversations and unread counts. */
  snapshot(): StoredMeta['conversations'] {
    return { active: this.active, direct: [...this.#direct], unread: [...this.#unread] };
  }

  /** Takes back what {@link snapshot} kept (before connecting). */
  restore(saved: StoredMeta['conversations']): void {
    for (const [peer, recency] of saved.direct) this.#direct.set(peer, recency);
    this.#recency = Math.max(this.#recency, ...saved.direct.map(([, recency]) => recency));
    for (const [id, count] of saved.unread) if (count > 0) this.#unread.set(id as ConversationId, count);
    this.open(saved.active as ConversationId);
  }

  /** Lists a direct conversation's peer, moving it to the top when `activity` is new. */
  #touch(id: ConversationId, activity: boolean): void {
    const ref = parseConversation(id, this.#me);
    if (ref.kind !== 'dm') return;
    if (activity || !this.#direct.has(ref.peer)) this.#direct.set(ref.peer, ++this.#recency);
  }
}
