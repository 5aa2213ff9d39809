import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import t, { type Test } from 'tap';
import { migrationProvider } from '../../apps/server/src/storage/migrations.js';
import { openStorage } from '../../apps/server/src/storage/open-storage.js';
import { PostgresStorage } from '../../apps/server/src/storage/postgres-storage.js';
import type { Storage } from '../../apps/server/src/storage/storage.js';
import { storageContract, type MakeStorage } from '../helpers/storage-contract.js';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** A fresh temporary folder, removed at teardown. */
async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A connection for creating and dropping test schemas. Fails, never skips,
 * when PostgreSQL is unreachable: CI provides it, and an engine that is not
 * tested is not known to work.
 */
async function postgresAdmin(t: Test): Promise<pg.Pool> {
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  t.teardown(() => admin.end());
  try {
    await admin.query('select 1');
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${DATABASE_URL} (${(error as Error).message}). ` +
        'Start it, or point TEST_DATABASE_URL at one; this test does not skip.',
    );
  }
  return admin;
}

/** Creates a uniquely named schema; the returned function drops it. */
async function createSchema(admin: pg.Pool): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `chorus_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  return { schema, drop: async () => void (await admin.query(`drop schema ${schema} cascade`)) };
}

/** A fresh SQLite file per test, in a folder that openStorage has to create. */
const sqlite: MakeStorage = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-storage-'));
  const dataDir = join(dir, 'data', 'nested');
  return {
    open: () => openStorage({ dataDir }),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
};

/** A fresh PostgreSQL schema per test, dropped afterwards. */
const postgres =
  (admin: pg.Pool): MakeStorage =>
  async () => {
    const { schema, drop } = await createSchema(admin);
    return {
      async open() {
        const storage = new PostgresStorage({ url: DATABASE_URL, schema, poolSize: 4 });
        await storage.migrate();
        return storage;
      },
      destroy: drop,
    };
  };

t.test('sqlite', async (t) => storageContract(t, sqlite));

t.test('postgresql', async (t) => storageContract(t, postgres(await postgresAdmin(t))));

// One writer process: opens (and migrates) the storage named by STORAGE_WRITER,
// says "ready", waits for a line on stdin so that all writers start together,
// appends its batches and prints the seqs it was given. It imports the built
// server (the test command builds first), as a worker process would.
const WRITER = `
import { once } from 'node:events';
import { createInterface } from 'node:readline';
const { SqliteStorage, PostgresStorage } = await import(new URL('apps/server/dist/storage/index.js', process.env.ROOT_URL).href);
const w = JSON.parse(process.env.STORAGE_WRITER);
const storage = w.file ? new SqliteStorage({ file: w.file }) : new PostgresStorage({ url: w.url, schema: w.schema });
await storage.migrate();
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\\n');
await once(lines, 'line');
const seqs = [];
for (let i = 0; i < w.batches; i++) {
  const batch = Array.from({ length: w.batchSize }, (_, j) => ({
    id: w.name + '-' + i + '-' + j, conversation: 'everyone', from: w.name, to: null, room: null,
    text: 'x', sentAt: 1, serverAt: 2, ref: i + '-' + j,
  }));
  for (const r of await storage.append(batch)) seqs.push(r.message.seq);
  // A server commits once per event-loop turn; without this, SQLite's
  // synchronous driver would run all batches before the others start.
  await new Promise((resolve) => setImmediate(resolve));
}
await storage.close();
lines.close();
process.stdout.write(JSON.stringify(seqs) + '\\n');
`;

/** Runs `count` writer processes on one database at once; resolves with each one's seqs. */
async function runWriters(count: number, target: object): Promise<number[][]> {
  const procs = Array.from({ length: count }, (_, i) => {
    const proc = spawn(process.execPath, ['--input-type=module', '-e', WRITER], {
      env: {
        ...process.env,
        ROOT_URL: new URL('../../', import.meta.url).href,
        STORAGE_WRITER: JSON.stringify({ ...target, name: `w${i}`, batches: 100, batchSize: 20 }),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    createInterface({ input: proc.stdout }).on('line', (line) => {
      lines.push(line);
      for (const w of waiters.splice(0)) w();
    });
    const exited = new Promise<void>((resolve, reject) =>
      proc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${i} exited with ${code}: ${stderr}`)))),
    );
    const line = async (n: number) => {
      while (lines.length < n) await Promise.race([new Promise<void>((r) => waiters.push(r)), exited]);
      return lines[n - 1]!;
    };
    return { proc, exited, line };
  });
  await Promise.all(procs.map((p) => p.line(1)));
  for (const p of procs) p.proc.stdin.end('go\n');
  const results = await Promise.all(procs.map(async (p) => JSON.parse(await p.line(2)) as number[]));
  await Promise.all(procs.map((p) => p.exited));
  return results;
}

/** Checks that the writers' seqs are 1..total, each once, each writer's increasing. */
function checkSeqs(t: Test, results: number[][]): void {
  const all = results.flat().sort((a, b) => a - b);
  t.same(
    all,
    Array.from({ length: all.length }, (_, i) => i + 1),
    `seqs 1..${all.length}, each exactly once`,
  );
  results.forEach((seqs, i) => {
    t.ok(
      seqs.every((s, j) => j === 0 || s > seqs[j - 1]!),
      `writer ${i}'s seqs follow its order`,
    );
  });
}

t.test('several processes migrating and appending to one database at once', async (t) => {
  t.test('sqlite', async (t) => {
    const file = join(await tempDir(t), 'data', 'chorus.db');
    const results = await runWriters(3, { file });
    checkSeqs(t, results);
    const storage = await openStorage({ dataDir: join(file, '..') });
    t.teardown(() => storage.close());
    t.same(await storage.lastSeqs(['everyone']), new Map([['everyone', 6000]]));
  });

  t.test('postgresql', async (t) => {
    const admin = await postgresAdmin(t);
    const { schema, drop } = await createSchema(admin);
    t.teardown(drop);
    checkSeqs(t, await runWriters(3, { url: DATABASE_URL, schema }));
  });
});

t.test('sqlite: the file is in WAL mode and synchronous=full opens and writes', async (t) => {
  const dataDir = join(await tempDir(t), 'full');
  const storage = await openStorage({ dataDir, sqliteSynchronous: 'full' });
  t.teardown(() => storage.close());
  const [result] = await storage.append([
    { id: 'a', conversation: 'everyone', from: 'x', to: null, room: null, text: 't', sentAt: 1, serverAt: 2, ref: null },
  ]);
  t.equal(result!.message.seq, 1);
  const { default: Database } = await import('better-sqlite3');
  const raw = new Database(join(dataDir, 'chorus.db'), { readonly: true });
  t.teardown(() => raw.close());
  t.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
});

/**
 * A database at migration 0003 with three conversations (a private one, a
 * note to oneself, the lobby), as a server before text cursors left it.
 */
async function conversationsBeforeTextCursors(db: Kysely<any>, migrationTableSchema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider, ...(migrationTableSchema && { migrationTableSchema }) });
  const { error } = await migrator.migrateTo('0003_receipt_counts');
  if (error) throw error;
  await sql`insert into conversations (id, last_seq, peer_a, peer_b) values
    ('dm:alice,bob', 4, 'alice', 'bob'), ('dm:carol,carol', 2, 'carol', 'carol'), ('everyone', 9, null, null)`.execute(db);
  await db.destroy();
}

/** What migration 0004 must leave: text clients are not sent what was there before it. */
async function checkCursorsStartAtTheEnd(t: Test, storage: Storage): Promise<void> {
  t.same(await storage.textCursors('alice'), new Map([['dm:alice,bob', 4]]));
  t.same(await storage.textCursors('bob'), new Map([['dm:alice,bob', 4]]));
  t.same(await storage.textCursors('carol'), new Map([['dm:carol,carol', 2]]), 'a note to oneself: one cursor');
}

t.test('migration 0004 starts text cursors at the end of the private conversations it finds', async (t) => {
  t.test('sqlite', async (t) => {
    const dataDir = await tempDir(t);
    await conversationsBeforeTextCursors(
      new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(join(dataDir, 'chorus.db')) }) }),
    );
    const storage = await openStorage({ dataDir });
    t.teardown(() => storage.close());
    await checkCursorsStartAtTheEnd(t, storage);
  });

  t.test('postgresql', async (t) => {
    const admin = await postgresAdmin(t);
    const { schema, drop } = await createSchema(admin);
    t.teardown(drop);
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1, options: `-c search_path=${schema}` });
    await conversationsBeforeTextCursors(new Kysely<any>({ dialect: new PostgresDialect({ pool }) }), schema);
    const storage = new PostgresStorage({ url: DATABASE_URL, schema, poolSize: 2 });
    t.teardown(() => storage.close());
    await storage.migrate();
    await checkCursorsStartAtTheEnd(t, storage);
  });
});
