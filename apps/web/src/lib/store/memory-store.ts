import type { ChatStore, OutboxEntry, StoredMessage, StoredMeta, StoredState } from './chat-store.js';

/**
 * A {@link ChatStore} in memory: for tests, and the fallback when the browser
 * has no usable IndexedDB (nothing survives a reload then). Records are cloned
 * in and out, as IndexedDB does.
 */
export class MemoryStore implements ChatStore {
  readonly #messages = new Map<string, Map<number, StoredMessage>>();
  readonly #outbox = new Map<string, OutboxEntry>();
  readonly #meta: Partial<StoredMeta> = {};

  async load(recent: number): Promise<StoredState> {
    const messages: StoredMessage[] = [];
    for (const byConversation of this.#messages.values()) {
      const newest = [...byConversation.values()].sort((a, b) => a.seq - b.seq).slice(-recent);
      messages.push(...newest.map((m) => structuredClone(m)));
    }
    const outbox = [...this.#outbox.values()].sort((a, b) => a.order - b.order).map((e) => structuredClone(e));
    return { messages, outbox, meta: structuredClone(this.#meta) };
  }

  async older(conversation: string, before: number, limit: number): Promise<StoredMessage[]> {
    const all = [...(this.#messages.get(conversation)?.values() ?? [])];
    return all
      .filter((m) => m.seq < before)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit)
      .map((m) => structuredClone(m));
  }

  async putMessages(messages: readonly StoredMessage[]): Promise<void> {
    for (const message of messages) {
      let byConversation = this.#messages.get(message.conversation);
      if (!byConversation) this.#messages.set(message.conversation, (byConversation = new Map()));
      byConversation.set(message.seq, structuredClone(message));
    }
  }

  async deleteConversation(conversation: string): Promise<void> {
    this.#messages.delete(conversation);
  }

  async putOutbox(entry: OutboxEntry): Promise<void> {
    this.#outbox.set(entry.ref, structuredClone(entry));
  }

  async deleteOutbox(ref: string): Promise<void> {
    this.#outbox.delete(ref);
  }

  async putMeta<K extends keyof StoredMeta>(key: K, value: StoredMeta[K]): Promise<void> {
    this.#meta[key] = structuredClone(value);
  }

  close(): void {}
}
