import { roomConversation, type ErrorCode, type FileInfo } from '@chorus/protocol';
import type { FileCatalog, FileRecord } from './file-catalog.js';
import type { FileLinks } from './file-links.js';
import type { FileStore } from './file-store.js';
import type { MessageFiles, UploadGrant } from '../hub/message-files.js';

export interface AttachmentsOptions {
  readonly catalog: FileCatalog;
  readonly store: FileStore;
  readonly links: FileLinks;
  readonly maxBytes: number;
  readonly maxFilesPerMessage: number;
  /** How long an upload that no message shares is kept. */
  readonly uploadTtlMs: number;
  readonly clock: () => number;
  readonly onError: (what: string, err: unknown) => void;
}

/** The store keys of a file: its bytes and, for images, its thumbnail. */
export function storeKeys(file: Pick<FileRecord, 'id' | 'hasThumbnail'>): string[] {
  return file.hasThumbnail ? [file.id, `${file.id}.thumb`] : [file.id];
}

/**
 * Files in messages: the MessageFiles the hub calls, the deletions the
 * message actions and room deletion call, and the sweep of uploads never sent.
 */
export class Attachments implements MessageFiles {
  readonly #o: AttachmentsOptions;

  constructor(options: AttachmentsOptions) {
    this.#o = options;
  }

  get catalog(): FileCatalog {
    return this.#o.catalog;
  }
  get store(): FileStore {
    return this.#o.store;
  }
  get links(): FileLinks {
    return this.#o.links;
  }
  get maxBytes(): number {
    return this.#o.maxBytes;
  }

  grant(clientId: string): UploadGrant {
    const { ticket, expiresAt } = this.#o.links.ticket(clientId, this.#o.clock());
    return { ticket, expiresAt, maxBytes: this.#o.maxBytes, maxFilesPerMessage: this.#o.maxFilesPerMessage };
  }

  async check(from: string, ids: readonly string[], ref: string | undefined): Promise<{ code: ErrorCode; detail: string } | null> {
    if (ids.length > this.#o.maxFilesPerMessage) {
      return { code: 'TOO_MANY_FILES', detail: `at most ${this.#o.maxFilesPerMessage} files per message` };
    }
    if (new Set(ids).size !== ids.length) return { code: 'BAD_FRAME', detail: 'a file is listed twice' };
    const found = new Map((await this.#o.catalog.getMany(ids)).map((f) => [f.id, f]));
    for (const id of ids) {
      const file = found.get(id);
      // Someone else's upload is "not found": its id tells the sender nothing.
      if (!file || file.owner !== from) return { code: 'FILE_NOT_FOUND', detail: id };
      if (file.messageId !== null && (ref === undefined || file.messageRef !== ref)) return { code: 'FILE_ALREADY_SHARED', detail: id };
    }
    return null;
  }

  async attach(
    from: string,
    message: { id: string; ref: string | null; conversation: string },
    ids: readonly string[],
  ): Promise<FileInfo[]> {
    await this.#o.catalog.bind(ids, from, message);
    return (await this.ofMessages([message.id])).get(message.id) ?? [];
  }

  async ofMessages(messageIds: readonly string[]): Promise<Map<string, FileInfo[]>> {
    const out = new Map<string, FileInfo[]>();
    if (messageIds.length === 0) return out;
    const now = this.#o.clock();
    for (const file of await this.#o.catalog.ofMessages(messageIds)) {
      const list = out.get(file.messageId!) ?? [];
      list.push(this.info(file, now));
      out.set(file.messageId!, list);
    }
    return out;
  }

  /** What a client is told of a file, its links signed now. */
  info(file: FileRecord, now: number): FileInfo {
    return {
      id: file.id,
      name: file.name,
      size: file.size,
      type: file.type,
      ...(file.width !== null && file.height !== null ? { width: file.width, height: file.height } : {}),
      url: this.#o.links.url(file.id, now),
      ...(file.hasThumbnail ? { thumbnailUrl: this.#o.links.url(file.id, now, true) } : {}),
    };
  }

  roomDeleted(room: string): void {
    this.deleteConversationFiles(roomConversation(room)).catch((err) => this.#o.onError(`the files of room ${room}`, err));
  }

  messageDeleted(messageId: string): void {
    this.deleteMessageFiles([messageId]).catch((err) => this.#o.onError(`the files of message ${messageId}`, err));
  }

  /** Deletes every file shared in a conversation (a deleted room); resolves with how many. */
  async deleteConversationFiles(conversation: string): Promise<number> {
    return this.#drop(await this.#withKeys(() => this.#o.catalog.deleteWhere({ conversation })));
  }

  /**
   * Deletes the files of these messages, rows and bytes; for the message
   * actions (a deleted message takes its files with it). Resolves with how many.
   */
  async deleteMessageFiles(messageIds: readonly string[]): Promise<number> {
    return this.#drop(await this.#withKeys(() => this.#o.catalog.deleteWhere({ messageIds })));
  }

  /** Removes uploads older than the upload TTL that no message shares; resolves with how many. */
  async sweepUnsent(now: number = this.#o.clock()): Promise<number> {
    return this.#drop(await this.#withKeys(() => this.#o.catalog.deleteWhere({ unsharedBefore: now - this.#o.uploadTtlMs })));
  }

  /** Runs a catalog deletion and returns the store keys of what it removed (a thumbnail key is harmless when absent). */
  async #withKeys(deleteRows: () => Promise<string[]>): Promise<string[]> {
    const ids = await deleteRows();
    return ids.flatMap((id) => [id, `${id}.thumb`]);
  }

  /** The rows are gone first: a file half deleted is never served; bytes left by a crash here are only disk space. */
  async #drop(keys: string[]): Promise<number> {
    await this.#o.store.delete(keys);
    return keys.length / 2;
  }
}
