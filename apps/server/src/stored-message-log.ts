import type { MessageLog } from './hub/message-log.js';
import type { GroupCommitWriter } from './storage/group-commit.js';
import type { AppendResult, ConversationId, NewMessage, Storage, StoredMessage } from './storage/storage.js';

/**
 * The hub's MessageLog on a Storage: appends go through the group-commit writer;
 * "seen" marks are batched per event-loop turn; ids known to be seen are
 * remembered (an id never becomes unseen), so repeated checks cost nothing.
 */
export class StoredMessageLog implements MessageLog {
  readonly #storage: Storage;
  readonly #writer: GroupCommitWriter;
  readonly #seen = new Set<string>();
  #pendingSeen: { ids: string[]; done: Promise<void> } | null = null;

  constructor(storage: Storage, writer: GroupCommitWriter) {
    this.#storage = storage;
    this.#writer = writer;
  }

  append(message: NewMessage): Promise<AppendResult> {
    return this.#writer.append(message);
  }

  history(conversation: ConversationId, limit: number, before?: number): Promise<StoredMessage[]> {
    return this.#storage.history(conversation, limit, before);
  }

  since(conversation: ConversationId, after: number, limit: number): Promise<StoredMessage[]> {
    return this.#storage.since(conversation, after, limit);
  }

  directConversationsOf(clientId: string): Promise<ConversationId[]> {
    return this.#storage.directConversationsOf(clientId);
  }

  markSeen(clientId: string): Promise<void> {
    if (this.#seen.has(clientId)) return Promise.resolve();
    if (!this.#pendingSeen) {
      const ids: string[] = [];
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.#pendingSeen = null;
        await this.#storage.markSeen(ids);
        for (const id of ids) this.#seen.add(id);
      });
      this.#pendingSeen = { ids, done };
    }
    this.#pendingSeen.ids.push(clientId);
    return this.#pendingSeen.done;
  }

  async hasBeenSeen(clientId: string): Promise<boolean> {
    if (this.#seen.has(clientId)) return true;
    const seen = await this.#storage.hasBeenSeen(clientId);
    if (seen) this.#seen.add(clientId);
    return seen;
  }

  /** Writes what is pending; the storage itself is closed by its owner. */
  async flush(): Promise<void> {
    await this.#pendingSeen?.done;
    await this.#writer.flush();
  }
}
