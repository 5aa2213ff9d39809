import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Attachments } from '../../apps/server/src/files/attachments.js';
import { DiskFileStore } from '../../apps/server/src/files/disk-file-store.js';
import { FileCatalog } from '../../apps/server/src/files/file-catalog.js';
import { FileLinks } from '../../apps/server/src/files/file-links.js';
import { openFilesDatabase } from '../../apps/server/src/files/files-database.js';
import { openStorage } from '../../apps/server/src/storage/index.js';

const HOUR = 3600_000;

async function* bytes(text: string): AsyncGenerator<Buffer> {
  yield Buffer.from(text);
}

t.test('unsent uploads are swept after the TTL; shared ones stay until their message or room goes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-attachments-'));
  const storage = await openStorage({ dataDir: dir });
  await storage.close();
  const db = await openFilesDatabase({ sqliteFile: join(dir, 'chorus.db') });
  const store = new DiskFileStore(join(dir, 'files'));
  t.teardown(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  let now = 1_800_000_000_000;
  const attachments = new Attachments({
    catalog: new FileCatalog(db),
    store,
    links: new FileLinks('x'.repeat(32), { urlTtlMs: HOUR, ticketTtlMs: HOUR }),
    maxBytes: 1000,
    maxFilesPerMessage: 3,
    uploadTtlMs: 24 * HOUR,
    clock: () => now,
    onError: (what, err) => t.fail(`${what}: ${err}`),
  });
  const add = async (id: string, owner = 'alice') => {
    await store.write(id, bytes(id));
    await attachments.catalog.insert({
      id,
      owner,
      name: `${id}.txt`,
      type: 'application/octet-stream',
      size: id.length,
      width: null,
      height: null,
      hasThumbnail: false,
      createdAt: now,
    });
  };
  const [unsent, inMessage, inRoom] = ['U'.repeat(22), 'M'.repeat(22), 'R'.repeat(22)];
  await add(unsent);
  await add(inMessage);
  await add(inRoom);
  await attachments.attach('alice', { id: 'm1', ref: 'r1', conversation: 'dm:alice,bob' }, [inMessage]);
  await attachments.attach('alice', { id: 'm2', ref: 'r2', conversation: 'room:pics' }, [inRoom]);

  now += 24 * HOUR - 1;
  t.equal(await attachments.sweepUnsent(), 0, 'not yet');
  now += 2;
  t.equal(await attachments.sweepUnsent(), 1, 'the unsent one, a day later');
  t.equal(await attachments.catalog.get(unsent), undefined);
  t.equal(await store.read(unsent), null, 'its bytes too');
  t.ok(await attachments.catalog.get(inMessage), 'shared files stay');

  t.match(await attachments.check('alice', [inMessage], 'r1'), null, 'a retry of the same send may name it again');
  t.match(await attachments.check('alice', [inMessage], 'other'), { code: 'FILE_ALREADY_SHARED' });
  t.match(await attachments.check('bob', [inRoom], undefined), { code: 'FILE_NOT_FOUND' }, "someone else's upload");

  const infos = await attachments.ofMessages(['m1', 'm2', 'none']);
  t.same([...infos.keys()].sort(), ['m1', 'm2']);
  t.match(infos.get('m1'), [{ id: inMessage, name: `${inMessage}.txt`, url: new RegExp(`^/files/${inMessage}\\?e=${now + HOUR}&s=`) }]);

  t.equal(await attachments.deleteMessageFiles(['m1']), 1, 'a deleted message takes its files');
  t.equal(await store.read(inMessage), null);
  t.equal(await attachments.deleteConversationFiles('room:pics'), 1, 'a deleted room takes its files');
  t.equal(await attachments.catalog.get(inRoom), undefined);
  t.equal(await attachments.deleteMessageFiles([]), 0);
});

t.test('signed links and tickets: exact, bound to their path, expiring', async (t) => {
  const links = new FileLinks('y'.repeat(32), { urlTtlMs: 1000, ticketTtlMs: 5000 });
  const url = new URL(`http://x${links.url('A'.repeat(22), 10_000)}`);
  const [e, s] = [url.searchParams.get('e')!, url.searchParams.get('s')!];
  t.ok(links.urlValid(url.pathname, e, s, 10_500));
  t.notOk(links.urlValid(url.pathname, e, s, 11_001), 'expired');
  t.notOk(links.urlValid(`${url.pathname}/thumbnail`, e, s, 10_500), 'another path');
  t.notOk(new FileLinks('z'.repeat(32), { urlTtlMs: 1000, ticketTtlMs: 5000 }).urlValid(url.pathname, e, s, 10_500), 'another secret');
  const { ticket } = links.ticket('bob.smith@home', 0);
  t.equal(links.openTicket(ticket, 4000), 'bob.smith@home', 'an id with dots');
  t.equal(links.openTicket(ticket, 5001), undefined, 'expired');
  t.equal(links.openTicket(ticket.replace('bob.smith', 'eve.smith'), 0), undefined, 'another id');
});
