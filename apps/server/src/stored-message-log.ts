import type { MessageLog } from './hub/message-log.js';
import type { AppendResult, ConversationId, NewMessage, Storage, StoredMessage } from './storage/storage.js';

/**
 * Where appends and "seen" marks go: a GroupCommitWriter on this process's
 * storage (with `markSeen` from the storage), or the primary's single writer
 * (cluster/writer-client.ts).
 */
export interface MessageWriter {
  /** Resolves once the message is committed. */
  append(message: NewMessage): Promise<AppendResult>;
  /** Resolves once every append so far has settled. */
  flush(): Promise<void>;
}

/**
 * The hub's MessageLog on a Storage: appends go through the writer; "seen"
 * marks are batched per event-loop turn; ids known to be seen are remembered
 * (an id never becomes unseen), so repeated checks cost nothing. Reads go to
 * the storage itself.
 */
export class StoredMessageLog implements MessageLog {
  readonly #storage: Storage;
  readonly #writer: MessageWriter;
  readonly #seenWriter: Pick<Storage, 'markSeen'>;
  readonly #seen = new Set<string>();
  #pendingSeen: { ids: string[]; done: Promise<void> } | null = null;

  /** `seenWriter` records seen ids; default the storage. */
  constructor(storage: Storage, writer: MessageWriter, seenWriter: Pick<Storage, 'markSeen'> = storage) {
    this.#storage = storage;
    this.#writer = writer;
    this.#seenWriter = seenWriter;
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
        await this.#seenWriter.markSeen(ids);
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
