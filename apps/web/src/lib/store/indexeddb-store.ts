import type { ChatStore, OutboxEntry, StoredMessage, StoredMeta, StoredState } from './chat-store.js';
import { MemoryStore } from './memory-store.js';

/**
 * IndexedDB layout, one database per client id, so that two people using one
 * browser never see each other's conversations: `chorus:<id>` for a guest,
 * `chorus:account:<id>` for an account (opened only with its token in hand, so
 * a guest who types a registered name into the URL never sees its messages):
 *
 * - `messages`: key [conversation, seq]; one record per message held. The
 *   compound key orders a conversation by seq, so "the newest N" and "older
 *   than seq S" are key-range cursors, and conversations are found by jumping
 *   from one to the next.
 * - `outbox`: key `ref`; messages of mine not acknowledged yet (and refused ones).
 * - `meta`: out-of-line keys `cursors`, `rooms`, `conversations` (see StoredMeta).
 */
const VERSION = 1;
const MESSAGES = 'messages';
const OUTBOX = 'outbox';
const META = 'meta';
const ALL = [MESSAGES, OUTBOX, META];
/** Sorts after every seq of a conversation (in IndexedDB, any array key sorts after any number). */
const AFTER_ALL_SEQS: IDBValidKey = [];

/** Whose conversations a store keeps: a guest's or a signed-in account's. */
export type StoreOwner = 'guest' | 'account';

/** The database name for `clientId`. */
export function databaseName(clientId: string, owner: StoreOwner = 'guest'): string {
  return owner === 'account' ? `chorus:account:${clientId}` : `chorus:${clientId}`;
}

/**
 * Opens the store of `clientId`: IndexedDB when the browser allows it, else
 * (private modes of some browsers, storage disabled) a {@link MemoryStore},
 * with a warning: the chat works, it just does not survive a reload.
 */
export async function openChatStore(clientId: string, owner: StoreOwner = 'guest'): Promise<ChatStore> {
  try {
    return await IndexedDbStore.open(databaseName(clientId, owner));
  } catch (err) {
    console.warn('chorus: IndexedDB is unavailable; conversations will not survive a reload', err);
    return new MemoryStore();
  }
}

/**
 * Deletes the store of `clientId` (an account signing out on a shared
 * machine). Tabs that have it open close it on the `versionchange` this
 * causes, so the deletion is never blocked for long; resolves once it is done
 * (or failed: the caller has nothing better to do than carry on).
 */
export function deleteChatStore(clientId: string, owner: StoreOwner): Promise<void> {
  return new Promise((resolve) => {
    if (typeof indexedDB === 'undefined') return resolve();
    const request = indexedDB.deleteDatabase(databaseName(clientId, owner));
    request.onsuccess = () => resolve();
    request.onerror = () => {
      console.warn('chorus: could not delete the local store', request.error);
      resolve();
    };
  });
}

type Write =
  | { readonly kind: 'put'; readonly store: typeof MESSAGES | typeof OUTBOX; readonly value: StoredMessage | OutboxEntry }
  | { readonly kind: 'delete-outbox'; readonly ref: string }
  | { readonly kind: 'delete-conversation'; readonly conversation: string }
  | { readonly kind: 'meta'; readonly key: keyof StoredMeta; readonly value: unknown };

interface Batch {
  readonly writes: Write[];
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

/** A {@link ChatStore} on IndexedDB. Writes of one task are batched into one transaction. */
export class IndexedDbStore implements ChatStore {
  readonly #db: IDBDatabase;
  #batch: Batch | null = null;
  /** Another tab deleted or upgraded the database: writes from here on are dropped. */
  #gone = false;

  private constructor(db: IDBDatabase) {
    this.#db = db;
    // Another tab upgrading the schema, or deleting it (its account signed out): step aside rather than block it.
    db.onversionchange = () => {
      this.#gone = true;
      this.#batch = null;
      db.close();
    };
  }

  /** Opens (creating if need be) the database called `name` (see {@link databaseName}). */
  static open(name: string): Promise<IndexedDbStore> {
    return new Promise((resolve, reject) => {
      if (typeof indexedDB === 'undefined') throw new Error('no indexedDB');
      const request = indexedDB.open(name, VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(MESSAGES)) db.createObjectStore(MESSAGES, { keyPath: ['conversation', 'seq'] });
        if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: 'ref' });
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
      };
      let gaveUp = false;
      request.onsuccess = () => {
        if (gaveUp)
          request.result.close(); // too late: the session went on without it
        else resolve(new IndexedDbStore(request.result));
      };
      request.onerror = () => reject(request.error);
      // Never wait on another tab: the chat must start (in memory, if need be).
      request.onblocked = () => {
        gaveUp = true;
        reject(new Error('the database is blocked by another tab'));
      };
    });
  }

  load(recent: number): Promise<StoredState> {
    if (this.#gone) return Promise.resolve({ messages: [], outbox: [], meta: {} });
    this.#commitPending();
    const tx = this.#db.transaction(ALL, 'readonly');
    const messages: StoredMessage[] = [];
    let outbox: OutboxEntry[] = [];
    const meta: Partial<StoredMeta> = {};
    const messageStore = tx.objectStore(MESSAGES);

    // Find each conversation by jumping past the last seq of the one before, then read its newest messages.
    const walk = messageStore.openKeyCursor();
    walk.onsuccess = () => {
      const cursor = walk.result;
      if (!cursor) return;
      const [conversation] = cursor.key as [string, number];
      const newest: StoredMessage[] = [];
      const read = messageStore.openCursor(rangeOf(conversation), 'prev');
      read.onsuccess = () => {
        const c = read.result;
        if (c && newest.length < recent) {
          newest.push(c.value as StoredMessage);
          c.continue();
        } else {
          messages.push(...newest.reverse());
        }
      };
      cursor.continue([conversation, AFTER_ALL_SEQS]);
    };
    const entries = tx.objectStore(OUTBOX).getAll();
    entries.onsuccess = () => (outbox = (entries.result as OutboxEntry[]).sort((a, b) => a.order - b.order));
    const metaCursor = tx.objectStore(META).openCursor();
    metaCursor.onsuccess = () => {
      const c = metaCursor.result;
      if (!c) return;
      (meta as Record<string, unknown>)[c.key as string] = c.value;
      c.continue();
    };
    return completion(tx).then(() => ({ messages, outbox, meta }));
  }

  older(conversation: string, before: number, limit: number): Promise<StoredMessage[]> {
    if (this.#gone) return Promise.resolve([]);
    this.#commitPending();
    const tx = this.#db.transaction(MESSAGES, 'readonly');
    const found: StoredMessage[] = [];
    if (before <= 1 || limit <= 0) return completion(tx).then(() => found);
    const request = tx.objectStore(MESSAGES).openCursor(IDBKeyRange.bound([conversation, 0], [conversation, before], false, true), 'prev');
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor || found.length >= limit) return;
      found.push(cursor.value as StoredMessage);
      cursor.continue();
    };
    return completion(tx).then(() => found);
  }

  putMessages(messages: readonly StoredMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return this.#write(...messages.map((value) => ({ kind: 'put', store: MESSAGES, value }) as const));
  }

  deleteConversation(conversation: string): Promise<void> {
    return this.#write({ kind: 'delete-conversation', conversation });
  }

  putOutbox(entry: OutboxEntry): Promise<void> {
    return this.#write({ kind: 'put', store: OUTBOX, value: entry });
  }

  deleteOutbox(ref: string): Promise<void> {
    return this.#write({ kind: 'delete-outbox', ref });
  }

  putMeta<K extends keyof StoredMeta>(key: K, value: StoredMeta[K]): Promise<void> {
    return this.#write({ kind: 'meta', key, value });
  }

  close(): void {
    if (this.#gone) return;
    this.#commitPending();
    // Closing waits for the transactions already created.
    this.#db.close();
  }

  /** Queues writes for the transaction of this task. */
  #write(...writes: Write[]): Promise<void> {
    if (this.#gone) return Promise.resolve();
    let batch = this.#batch;
    if (!batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = this.#batch = { writes: [], done, resolve, reject };
      const scheduled = batch;
      queueMicrotask(() => this.#commit(scheduled));
    }
    batch.writes.push(...writes);
    return batch.done;
  }

  /** A read must see the writes called before it: commit them first (transactions run in creation order). */
  #commitPending(): void {
    if (this.#batch) this.#commit(this.#batch);
  }

  #commit(batch: Batch): void {
    if (this.#batch !== batch) {
      // Committed early by a read, or dropped because the database went away.
      if (this.#gone) batch.resolve();
      return;
    }
    this.#batch = null;
    let tx: IDBTransaction;
    try {
      tx = this.#db.transaction(ALL, 'readwrite');
    } catch (err) {
      batch.reject(err);
      return;
    }
    const messages = tx.objectStore(MESSAGES);
    const outbox = tx.objectStore(OUTBOX);
    const meta = tx.objectStore(META);
    for (const write of batch.writes) {
      switch (write.kind) {
        case 'put':
          (write.store === MESSAGES ? messages : outbox).put(write.value);
          break;
        case 'delete-outbox':
          outbox.delete(write.ref);
          break;
        case 'delete-conversation':
          messages.delete(rangeOf(write.conversation));
          break;
        case 'meta':
          meta.put(write.value, write.key);
          break;
      }
    }
    completion(tx).then(batch.resolve, batch.reject);
  }
}

function rangeOf(conversation: string): IDBKeyRange {
  return IDBKeyRange.bound([conversation, 0], [conversation, Infinity]);
}

function completion(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}
