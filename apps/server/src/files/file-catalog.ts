import type { Kysely } from 'kysely';
import type { FilesDatabase } from './files-database.js';

/** An upload's metadata, as the catalog keeps it. */
export interface FileRecord {
  readonly id: string;
  /** The client id that uploaded it. */
  readonly owner: string;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly width: number | null;
  readonly height: number | null;
  readonly hasThumbnail: boolean;
  readonly createdAt: number;
  /** Set once a message shares it; null while it is an upload. */
  readonly messageId: string | null;
  /** That message's ref (the sender's id for it), when it had one. */
  readonly messageRef: string | null;
  readonly conversation: string | null;
}

type Row = FilesDatabase['files'];

function toRecord(r: Row): FileRecord {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    type: r.type,
    size: Number(r.size),
    width: r.width,
    height: r.height,
    hasThumbnail: Boolean(r.has_thumbnail),
    createdAt: Number(r.created_at),
    messageId: r.message_id,
    messageRef: r.message_ref,
    conversation: r.conversation,
  };
}

/**
 * The files table (migration 0007_attachments) on SQLite or PostgreSQL: which
 * uploads exist, whose they are and which message shares them. The bytes are
 * in a FileStore, keyed by the id.
 */
export class FileCatalog {
  readonly #db: Kysely<FilesDatabase>;

  constructor(db: Kysely<FilesDatabase>) {
    this.#db = db;
  }

  async insert(file: Omit<FileRecord, 'messageId' | 'messageRef' | 'conversation'>): Promise<void> {
    await this.#db
      .insertInto('files')
      .values({
        id: file.id,
        owner: file.owner,
        name: file.name,
        type: file.type,
        size: file.size,
        width: file.width,
        height: file.height,
        has_thumbnail: file.hasThumbnail ? 1 : 0,
        created_at: file.createdAt,
        message_id: null,
        message_ref: null,
        conversation: null,
      })
      .execute();
  }

  async get(id: string): Promise<FileRecord | undefined> {
    const row = await this.#db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  }

  async getMany(ids: readonly string[]): Promise<FileRecord[]> {
    if (ids.length === 0) return [];
    return (await this.#db.selectFrom('files').selectAll().where('id', 'in', ids).execute()).map(toRecord);
  }

  /**
   * Shares uploads of `owner` with a stored message; a file already shared with
   * this same message stays (a retried send). Returns how many rows now belong
   * to the message among `ids`.
   */
  async bind(ids: readonly string[], owner: string, message: { id: string; ref: string | null; conversation: string }): Promise<number> {
    if (ids.length === 0) return 0;
    const messageId = message.id;
    await this.#db
      .updateTable('files')
      .set({ message_id: messageId, message_ref: message.ref, conversation: message.conversation })
      .where('id', 'in', ids)
      .where('owner', '=', owner)
      .where('message_id', 'is', null)
      .execute();
    const rows = await this.#db.selectFrom('files').select('id').where('id', 'in', ids).where('message_id', '=', messageId).execute();
    return rows.length;
  }

  /** The files of these messages, in upload order (then by id) per message. */
  async ofMessages(messageIds: readonly string[]): Promise<FileRecord[]> {
    if (messageIds.length === 0) return [];
    const rows = await this.#db
      .selectFrom('files')
      .selectAll()
      .where('message_id', 'in', messageIds)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  /** Removes the rows and returns their ids (for the store to drop the bytes). */
  async deleteWhere(which: { conversation: string } | { messageIds: readonly string[] } | { unsharedBefore: number }): Promise<string[]> {
    let query = this.#db.selectFrom('files').select('id');
    if ('conversation' in which) query = query.where('conversation', '=', which.conversation);
    else if ('messageIds' in which) {
      if (which.messageIds.length === 0) return [];
      query = query.where('message_id', 'in', which.messageIds);
    } else query = query.where('message_id', 'is', null).where('created_at', '<', which.unsharedBefore);
    const ids = (await query.execute()).map((r) => r.id);
    if (ids.length > 0) await this.#db.deleteFrom('files').where('id', 'in', ids).execute();
    return ids;
  }
}
