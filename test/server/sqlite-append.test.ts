import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { SqliteAppender } from '../../apps/server/src/storage/sqlite-append.js';
import { SqliteStorage } from '../../apps/server/src/storage/sqlite-storage.js';
import { message } from '../helpers/storage-contract.js';

// The appender remembers each conversation's last seq between batches; these
// check that what it remembers never outlives what is in the file.

/** A migrated SQLite file in a fresh folder (removed at teardown). */
async function migratedFile(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-sqlite-append-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'chorus.db');
  const storage = new SqliteStorage({ file });
  await storage.migrate();
  await storage.close();
  return file;
}

/** A connection to `file`, closed at teardown. */
function connect(t: Test, file: string): Database.Database {
  const db = new Database(file, { timeout: 5000 });
  t.teardown(() => db.close());
  return db;
}

const dm = (fields: Parameters<typeof message>[0] = {}) => message({ conversation: 'dm:alice,bob', to: 'bob', ...fields });
const seqsOf = (appender: SqliteAppender, messages: Parameters<SqliteAppender['append']>[0]) =>
  appender.append(messages).map((r) => [r.message.seq, r.duplicate]);
const lastSeq = (db: Database.Database, conversation: string) =>
  db.prepare<[string], number>('select last_seq from conversations where id = ?').pluck().get(conversation);

t.test('a batch that throws midway advances no remembered counter', async (t) => {
  const db = connect(t, await migratedFile(t));
  const appender = new SqliteAppender(db);
  const [taken] = appender.append([dm(), dm(), message()]);
  t.throws(() => appender.append([dm(), message(), message({ conversation: 'room:new', room: 'new' }), dm({ id: taken!.message.id })]));
  t.same(seqsOf(appender, [dm(), message(), message({ conversation: 'room:new', room: 'new' })]), [
    [3, false],
    [2, false],
    [1, false],
  ]);
  t.equal(lastSeq(db, 'dm:alice,bob'), 3);
  t.equal(lastSeq(db, 'room:new'), 1, 'a counter row made by the rolled-back batch is made again');
});

t.test('a commit by another connection is seen, whatever it changed', async (t) => {
  const file = await migratedFile(t);
  const appender = new SqliteAppender(connect(t, file));
  const other = new SqliteAppender(connect(t, file));
  t.same(seqsOf(appender, [dm(), dm()]), [
    [1, false],
    [2, false],
  ]);
  t.same(seqsOf(other, [dm()]), [[3, false]]);
  t.same(seqsOf(appender, [dm()]), [[4, false]], 'the first appender goes on after the other one');
  // Not through an appender at all: a counter moved by hand.
  connect(t, file).prepare("update conversations set last_seq = 10 where id = 'dm:alice,bob'").run();
  t.same(seqsOf(appender, [dm()]), [[11, false]]);
});

t.test('a write on the same connection outside the appender is seen', async (t) => {
  const db = connect(t, await migratedFile(t));
  const appender = new SqliteAppender(db);
  t.same(seqsOf(appender, [dm()]), [[1, false]]);
  db.prepare("update conversations set last_seq = 7 where id = 'dm:alice,bob'").run();
  t.same(seqsOf(appender, [dm()]), [[8, false]]);
});

t.test('a conversation whose messages were all duplicates gets no counter row, and later its first seq', async (t) => {
  const db = connect(t, await migratedFile(t));
  const appender = new SqliteAppender(db);
  const sent = message({ ref: 'r1' });
  t.same(seqsOf(appender, [sent]), [[1, false]]);
  t.same(seqsOf(appender, [dm({ from: sent.from, ref: 'r1' })]), [[1, true]], 'the stored one, from "everyone"');
  t.equal(lastSeq(db, 'dm:alice,bob'), undefined);
  t.same(seqsOf(appender, [dm()]), [[1, false]]);
  t.same(db.prepare("select peer_a, peer_b from conversations where id = 'dm:alice,bob'").get(), { peer_a: 'alice', peer_b: 'bob' });
});

t.test("a batch inside a caller's transaction that the caller rolls back is not remembered", async (t) => {
  const db = connect(t, await migratedFile(t));
  const appender = new SqliteAppender(db);
  t.same(seqsOf(appender, [dm()]), [[1, false]]);
  db.exec('begin');
  t.same(seqsOf(appender, [dm()]), [[2, false]]);
  db.exec('rollback');
  t.same(seqsOf(appender, [dm()]), [[2, false]], 'no gap');
});
