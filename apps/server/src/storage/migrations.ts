import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * The schema's history, written once with Kysely's schema builder for both
 * SQLite and PostgreSQL. Migrations live in code rather than in a folder so
 * that the compiled server carries them (no file lookup at run time). Names
 * sort in the order they apply; never edit one that has shipped, add the next.
 */
const migrations: Record<string, Migration> = {
  '0001_initial': {
    // `any`: a migration sees the database as it was then, not as schema.ts
    // describes it today.
    async up(db: Kysely<any>): Promise<void> {
      // Timestamps and seqs are bigint: a busy lobby passes 2^31 messages, and
      // milliseconds since the epoch already exceed 2^31. In SQLite the type
      // name only selects INTEGER affinity (64-bit either way).
      await db.schema
        .createTable('messages')
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('conversation', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('sender', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text')
        .addColumn('room', 'text')
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'bigint', (c) => c.notNull())
        .addColumn('server_at', 'bigint', (c) => c.notNull())
        .addColumn('ref', 'text')
        // The primary key is the index that history and since walk.
        .addPrimaryKeyConstraint('messages_pkey', ['conversation', 'seq'])
        .addUniqueConstraint('messages_id_key', ['id'])
        .execute();
      // Idempotent sends: one message per (sender, ref); messages without a
      // ref (text protocol) are not constrained.
      await db.schema
        .createIndex('messages_sender_ref_key')
        .on('messages')
        .columns(['sender', 'ref'])
        .unique()
        .where(sql.ref('ref'), 'is not', null)
        .execute();

      await db.schema
        .createTable('conversations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .addColumn('peer_a', 'text')
        .addColumn('peer_b', 'text')
        .execute();
      await db.schema.createIndex('conversations_peer_a_idx').on('conversations').column('peer_a').execute();
      await db.schema.createIndex('conversations_peer_b_idx').on('conversations').column('peer_b').execute();

      await db.schema
        .createTable('rooms')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('room_members')
        .addColumn('room', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('room_members_pkey', ['room', 'client_id'])
        .execute();

      await db.schema
        .createTable('seen_clients')
        .addColumn('client_id', 'text', (c) => c.primaryKey())
        .execute();
    },

    async down(db: Kysely<any>): Promise<void> {
      for (const table of ['seen_clients', 'room_members', 'rooms', 'conversations', 'messages']) {
        await db.schema.dropTable(table).execute();
      }
    },
  },

  '0002_accounts': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('username', 'text', (c) => c.primaryKey())
        .addColumn('username_key', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('first_names', 'text')
        .addColumn('last_names', 'text')
        .addColumn('age', 'integer')
        .addColumn('gender', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('users_username_key_key', ['username_key'])
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().references('users.username').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      // A user's sessions, newest first (revoking all, keeping the newest few).
      await db.schema.createIndex('sessions_username_idx').on('sessions').columns(['username', 'created_at']).execute();
      // Pruning expired sessions.
      await db.schema.createIndex('sessions_expires_at_idx').on('sessions').column('expires_at').execute();
    },

    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('sessions').execute();
      await db.schema.dropTable('users').execute();
    },
  },

  '0003_receipt_counts': {
    // Receipt counts of a message, as its sender's node computed them (delivered to
    // N, read by N, of M recipients), so that history and resume can show them
    // after a reload or in a later session. A table of its own, not columns of
    // messages: counts change after the message is stored (PostgreSQL rewrites a
    // whole row on update), and most messages never get a row here.
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('receipt_counts')
        .addColumn('message_id', 'text', (c) => c.primaryKey())
        .addColumn('recipients', 'integer', (c) => c.notNull())
        .addColumn('delivered', 'integer', (c) => c.notNull())
        .addColumn('read', 'integer', (c) => c.notNull())
        .execute();
    },

    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('receipt_counts').execute();
    },
  },

  '0004_text_cursors': {
    // A text-protocol client has no resume cursor of its own: the server keeps one
    // per client and private conversation, so that messages kept for it while it
    // was away reach it when it is back, once.
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('text_cursors')
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('conversation', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('text_cursors_pkey', ['client_id', 'conversation'])
        .execute();
      // Private conversations from before this migration start at their end: what
      // was in them is not replayed to text clients (some of it they were given
      // live, and nothing says which). Newer conversations start at 0. UNION,
      // not UNION ALL: a note to oneself has one participant twice.
      await sql`
        insert into text_cursors (client_id, conversation, seq)
        select peer_a, id, last_seq from conversations where peer_a is not null
        union
        select peer_b, id, last_seq from conversations where peer_b is not null
      `.execute(db);
    },

    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('text_cursors').execute();
    },
  },

  '0005_display_names': {
    // A name people see, in any script and with spaces, beside the username
    // (the id in the URL, which stays ASCII). Null: the person chose none.
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('users').addColumn('display_name', 'text').execute();
    },

    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('users').dropColumn('display_name').execute();
    },
  },

  '0006_message_actions': {
    // Edits, deletes and reactions are entries of the conversation's log, rows of
    // `messages` with a kind other than 'message' and the id of the message they
    // act on (`target`): each takes the conversation's next seq, so a resume
    // replays them in order with the messages, gap-free, through the same
    // queries. The message row itself keeps the current state (text, edited_at,
    // deleted_at) so that history reads it in one place; reactions are a table
    // of their own (a set per message), written in the same transaction.
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .alterTable('messages')
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('message'))
        .execute();
      await db.schema.alterTable('messages').addColumn('target', 'text').execute();
      await db.schema.alterTable('messages').addColumn('reply_to', 'text').execute();
      await db.schema.alterTable('messages').addColumn('edited_at', 'bigint').execute();
      await db.schema.alterTable('messages').addColumn('deleted_at', 'bigint').execute();
      await db.schema
        .createTable('reactions')
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('emoji', 'text', (c) => c.notNull())
        // Who reacted first is listed first.
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('reactions_pkey', ['message_id', 'emoji', 'client_id'])
        .execute();
    },

    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('reactions').execute();
      for (const column of ['deleted_at', 'edited_at', 'reply_to', 'target', 'kind']) {
        await db.schema.alterTable('messages').dropColumn(column).execute();
      }
    },
  },
  '0007_attachments': {
    // Uploads and what they were shared with. A file is an upload until a
    // message takes it (message_id and conversation set in the same update);
    // unshared uploads older than UPLOAD_TTL_SECONDS are swept. The bytes are
    // in the configured FileStore: on disk, or in file_chunks below (several
    // nodes), rows of at most 256 KiB so that neither side holds a whole file.
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('files')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('width', 'integer')
        .addColumn('height', 'integer')
        .addColumn('has_thumbnail', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('message_id', 'text')
        // The sender's ref of that message: a retried send (same ref) may name the file again.
        .addColumn('message_ref', 'text')
        .addColumn('conversation', 'text')
        .execute();
      await db.schema.createIndex('files_message_id_idx').on('files').column('message_id').execute();
      await db.schema.createIndex('files_conversation_idx').on('files').column('conversation').execute();
      // The sweep of unshared uploads walks this one.
      await db.schema.createIndex('files_created_at_idx').on('files').column('created_at').execute();
      await db.schema
        .createTable('file_chunks')
        .addColumn('file_key', 'text', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('data', sql`bytea`, (c) => c.notNull())
        .addPrimaryKeyConstraint('file_chunks_pkey', ['file_key', 'n'])
        .execute();
    },

    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('file_chunks').execute();
      await db.schema.dropTable('files').execute();
    },
  },
};

/** Hands the in-code migrations to Kysely's Migrator. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
