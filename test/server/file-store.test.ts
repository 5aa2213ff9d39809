import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DiskFileStore } from '../../apps/server/src/files/disk-file-store.js';
import { openFilesDatabase } from '../../apps/server/src/files/files-database.js';
import { PostgresFileStore } from '../../apps/server/src/files/postgres-file-store.js';
import { openStorage } from '../../apps/server/src/storage/index.js';
import { fileStoreContract } from '../helpers/file-store-contract.js';
import { createDatabase } from '../helpers/postgres-database.js';

t.test('disk (DATA_DIR/files)', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'chorus-files-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  fileStoreContract(t, async () => new DiskFileStore(root));
  t.test('a failed write leaves no temporary file behind', async (t) => {
    const store = new DiskFileStore(root);
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(1000);
      throw new Error('cut');
    }
    await t.rejects(store.write('AAAAAAAAAAAAAAAAAAAAAA', failing()), /cut/);
    t.same(readdirSync(join(root, 'AA')), []);
  });
});

t.test('PostgreSQL (bytea chunks)', async (t) => {
  const database = await createDatabase();
  t.teardown(() => database.drop());
  // The storage migrates the schema (0007_attachments) as the server does.
  const storage = await openStorage({ databaseUrl: database.url, dataDir: '/nonexistent' });
  await storage.close();
  fileStoreContract(
    t,
    async () => new PostgresFileStore(await openFilesDatabase({ url: database.url, sqliteFile: '' }), { closeDb: true }),
  );
});

t.test('the same chunked store on SQLite (the code is written once with Kysely)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-files-sqlite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const storage = await openStorage({ dataDir: dir });
  await storage.close();
  fileStoreContract(
    t,
    async () => new PostgresFileStore(await openFilesDatabase({ sqliteFile: join(dir, 'chorus.db') }), { closeDb: true }),
  );
});
