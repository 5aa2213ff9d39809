import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FileInfo, ServerFrame, UploadedFile } from '@chorus/protocol';
import sharp from 'sharp';
import t from 'tap';
import { sanitizeFileName } from '../../apps/server/src/files/file-names.js';
import { formatSize } from '@chorus/protocol';
import { bombPng, httpBase, ticketOf, upload } from '../helpers/files.js';
import { startInProcess } from '../helpers/in-process-server.js';
import { createDatabase } from '../helpers/postgres-database.js';
import { jsonClient, textClient } from '../helpers/ws-client.js';

const is =
  <T extends ServerFrame['type']>(type: T) =>
  (f: ServerFrame): f is Extract<ServerFrame, { type: T }> =>
    f.type === type;

const ENV = { MAX_UPLOAD_BYTES: String(1024 * 1024), UPLOADS_PER_MINUTE: '20', MAX_FILES_PER_MESSAGE: '3' };

async function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .png()
    .toBuffer();
}

async function uploaded(response: Response): Promise<UploadedFile> {
  if (response.status !== 201) throw new Error(`upload: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as UploadedFile;
}

function filesDir(dataDir: string): string[] {
  const root = join(dataDir, 'files');
  try {
    return readdirSync(root).flatMap((d) => readdirSync(join(root, d)));
  } catch {
    return [];
  }
}

const STORES: Record<string, () => Promise<{ env: Record<string, string>; drop: () => Promise<void> }>> = {
  'SQLite, files on disk': async () => ({ env: {}, drop: async () => {} }),
  'PostgreSQL, files in PostgreSQL': async () => {
    const database = await createDatabase();
    return { env: { DATABASE_URL: database.url, FILE_STORE: 'postgres' }, drop: () => database.drop() };
  },
};

for (const [name, setUp] of Object.entries(STORES)) {
  t.test(name, async (t) => {
    const store = await setUp();
    const server = await startInProcess({ ...ENV, ...store.env });
    t.teardown(async () => {
      await server.stop();
      await store.drop();
    });
    const http = httpBase(server.base);
    const alice = await jsonClient(server.base, 'alice');
    const bob = await jsonClient(server.base, 'bob');
    const eve = await jsonClient(server.base, 'eve');
    t.teardown(() => Promise.all([alice.close(), bob.close(), eve.close()]));
    const image = await png(64, 48);

    await t.test('the welcome offers uploads: a ticket and the limits', async (t) => {
      const welcome = JSON.parse(alice.frames[0]!);
      t.match(welcome.uploads, { ticket: /^f1\.alice\.\d+\.[A-Za-z0-9_-]{43}$/, maxBytes: 1024 * 1024, maxFilesPerMessage: 3 });
    });

    await t.test('no credentials: 401 AUTH_REQUIRED; a forged or foreign ticket: 401 AUTH_FAILED', async (t) => {
      const none = await upload(server.base, { data: image, name: 'a.png' });
      t.equal(none.status, 401);
      t.equal(none.headers.get('www-authenticate'), 'Bearer');
      t.match(await none.json(), { code: 'AUTH_REQUIRED' });
      const ticket = ticketOf(alice);
      const forged = ticket.replace('f1.alice.', 'f1.mallory.');
      const refused = await upload(server.base, { data: image, name: 'a.png' }, forged);
      t.equal(refused.status, 401);
      t.match(await refused.json(), { code: 'AUTH_FAILED' });
      const garbage = await upload(server.base, { data: image, name: 'a.png' }, 'v1.not-a-token');
      t.equal(garbage.status, 401);
    });

    await t.test('a ticket of a client that is no longer connected is refused', async (t) => {
      const gone = await jsonClient(server.base, 'gone');
      const ticket = ticketOf(gone);
      await gone.close();
      await alice.nextJson((f) => f.type === 'presence' && f.left.includes('gone'));
      const response = await upload(server.base, { data: image, name: 'a.png' }, ticket);
      t.equal(response.status, 401);
      t.match(await response.json(), { code: 'AUTH_FAILED' });
    });

    let photo: UploadedFile;
    await t.test('an image: type from the bytes, its size in pixels, a thumbnail, served inline', async (t) => {
      photo = await uploaded(await upload(server.base, { data: image, name: 'photo.png', type: 'text/html' }, ticketOf(alice)));
      t.match(photo, { name: 'photo.png', size: image.length, type: 'image/png', width: 64, height: 48 });
      t.match(photo.url, new RegExp(`^/files/${photo.id}\\?e=\\d+&s=[A-Za-z0-9_-]{43}$`));
      t.match(photo.thumbnailUrl, new RegExp(`^/files/${photo.id}/thumbnail\\?e=\\d+&s=`));
      const got = await fetch(`${http}${photo.url}`);
      t.equal(got.status, 200);
      t.equal(got.headers.get('content-type'), 'image/png');
      t.equal(got.headers.get('content-disposition'), `inline; filename="photo.png"; filename*=UTF-8''photo.png`);
      t.equal(got.headers.get('x-content-type-options'), 'nosniff');
      t.match(got.headers.get('content-security-policy'), /sandbox/);
      t.equal(got.headers.get('content-length'), String(image.length));
      t.ok(Buffer.from(await got.arrayBuffer()).equals(image), 'the same bytes');
      const thumb = await fetch(`${http}${photo.thumbnailUrl}`);
      t.equal(thumb.status, 200);
      t.equal(thumb.headers.get('content-type'), 'image/webp');
      const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
      t.same([meta.format, meta.width, meta.height], ['webp', 64, 48], 'no larger than the image');
    });

    await t.test('a big image gets a thumbnail of at most 320 pixels', async (t) => {
      const big = await uploaded(await upload(server.base, { data: await png(1600, 900), name: 'wide.png' }, ticketOf(eve)));
      const meta = await sharp(Buffer.from(await (await fetch(`${http}${big.thumbnailUrl}`)).arrayBuffer())).metadata();
      t.same([meta.width, meta.height], [320, 180]);
    });

    await t.test('HTML named .png and claimed image/png is bytes to download, never a page', async (t) => {
      const html = Buffer.from('<html><body><script>alert(document.cookie)</script></body></html>');
      const file = await uploaded(await upload(server.base, { data: html, name: 'photo.png', type: 'image/png' }, ticketOf(alice)));
      t.equal(file.type, 'application/octet-stream');
      t.equal(file.width, undefined);
      t.equal(file.thumbnailUrl, undefined);
      const got = await fetch(`${http}${file.url}`);
      t.equal(got.headers.get('content-type'), 'application/octet-stream');
      t.equal(got.headers.get('content-disposition'), `attachment; filename="photo.png"; filename*=UTF-8''photo.png`);
      t.equal(got.headers.get('x-content-type-options'), 'nosniff');
    });

    await t.test('SVG (it can carry script) is never inline', async (t) => {
      const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>');
      const file = await uploaded(await upload(server.base, { data: svg, name: 'logo.svg', type: 'image/svg+xml' }, ticketOf(alice)));
      t.equal(file.type, 'application/octet-stream');
      const got = await fetch(`${http}${file.url}`);
      t.match(got.headers.get('content-disposition'), /^attachment; /);
    });

    await t.test('names: no path, no markup, RFC 5987 for the rest', async (t) => {
      const cases: [string, string, string][] = [
        ['../../etc/passwd', 'passwd', `attachment; filename="passwd"; filename*=UTF-8''passwd`],
        [
          '..\\..\\<script>alert(1)<',
          '_script_alert(1)_',
          `attachment; filename="_script_alert(1)_"; filename*=UTF-8''_script_alert%281%29_`,
        ],
        ['../..', 'file', `attachment; filename="file"; filename*=UTF-8''file`],
        [
          '<img src=x onerror=alert(1)>.txt',
          '_img src=x onerror=alert(1)_.txt',
          `attachment; filename="_img src=x onerror=alert(1)_.txt"; filename*=UTF-8''_img%20src%3Dx%20onerror%3Dalert%281%29_.txt`,
        ],
        [
          'résumé (final).pdf',
          'résumé (final).pdf',
          `attachment; filename="r_sum_ (final).pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%28final%29.pdf`,
        ],
      ];
      for (const [raw, stored, header] of cases) {
        const file = await uploaded(await upload(server.base, { data: Buffer.from('x'), name: raw }, ticketOf(bob)));
        t.equal(file.name, stored, `${raw} is stored as ${stored}`);
        t.equal((await fetch(`${http}${file.url}`)).headers.get('content-disposition'), header);
      }
      // What a browser's form would percent-encode, straight to the function.
      t.equal(sanitizeFileName('a "quoted"\u202e\u0000name?.txt'), 'a _quoted___name_.txt');
      t.equal(sanitizeFileName(`${'x'.repeat(300)}.jpeg`), `${'x'.repeat(115)}.jpeg`);
    });

    await t.test('too large: 413 with the limit, nothing kept, whether the length says so or the stream does', async (t) => {
      const before = filesDir(server.dataDir).length;
      const data = Buffer.alloc(1024 * 1024 + 10, 7);
      const declared = await upload(server.base, { data, name: 'big.bin' }, ticketOf(eve));
      t.equal(declared.status, 413);
      t.same(await declared.json(), {
        code: 'FILE_TOO_LARGE',
        message: 'the file is larger than the limit of 1 MiB (MAX_UPLOAD_BYTES=1048576 bytes)',
      });
      // Chunked (no Content-Length): cut at the limit while streaming.
      const boundary = 'chorus-boundary';
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(Buffer.from(head));
          for (let i = 0; i < 20; i++) controller.enqueue(Buffer.alloc(64 * 1024, i));
          controller.enqueue(Buffer.from(`\r\n--${boundary}--\r\n`));
          controller.close();
        },
      });
      const streamed = await fetch(`${http}/files`, {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { authorization: `Bearer ${ticketOf(eve)}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      } as RequestInit);
      t.equal(streamed.status, 413);
      t.match(await streamed.json(), { code: 'FILE_TOO_LARGE', message: /1 MiB/ });
      if (!store.env.FILE_STORE) t.equal(filesDir(server.dataDir).length, before, 'no file and no .part left on disk');
    });

    await t.test('a decompression bomb (100000 x 100000 declared) is refused with 422, and the server stays up', async (t) => {
      const response = await upload(server.base, { data: bombPng(100_000, 100_000), name: 'bomb.png' }, ticketOf(eve));
      t.equal(response.status, 422);
      t.same(await response.json(), {
        code: 'IMAGE_TOO_LARGE',
        message: 'the image is 100000 x 100000 pixels; the limit is 50000000 (MAX_IMAGE_PIXELS)',
      });
      t.equal((await fetch(`${http}/health`)).status, 200);
    });

    let shared: FileInfo;
    await t.test('a private message with a file: bob gets its metadata and links, the ack comes', async (t) => {
      alice.send({ type: 'send', id: 'f1', to: 'bob', text: 'look', sentAt: 1, files: [photo.id] });
      const message = await bob.nextJson(is('message'));
      if (message.type !== 'message') throw new Error('no message');
      t.equal(message.text, 'look');
      t.equal(message.files?.length, 1);
      shared = message.files![0]!;
      t.match(shared, { id: photo.id, name: 'photo.png', size: image.length, type: 'image/png', width: 64, height: 48 });
      t.match(await alice.nextJson(is('ack')), { ref: 'f1', conversation: 'dm:alice,bob' });
      t.equal((await fetch(`${http}${shared.url}`)).status, 200, 'the link works');
    });

    await t.test('with a header: the two of a private conversation may read it, a third may not', async (t) => {
      const path = `${http}/files/${photo.id}`;
      t.equal((await fetch(path, { headers: { authorization: `Bearer ${ticketOf(bob)}` } })).status, 200, 'bob');
      t.equal((await fetch(path, { headers: { authorization: `Bearer ${ticketOf(alice)}` } })).status, 200, 'alice');
      const denied = await fetch(path, { headers: { authorization: `Bearer ${ticketOf(eve)}` } });
      t.equal(denied.status, 403);
      t.match(await denied.json(), { code: 'FILE_ACCESS_DENIED' });
      t.equal((await fetch(path)).status, 401, 'no link, no header');
    });

    await t.test('a tampered or expired link is refused', async (t) => {
      const url = new URL(`${http}${shared.url}`);
      const tampered = new URL(url);
      tampered.searchParams.set('e', String(Number(url.searchParams.get('e')) + 1000));
      t.equal((await fetch(tampered)).status, 403, 'a later expiry');
      const expired = new URL(url);
      expired.searchParams.set('e', '1000');
      t.equal((await fetch(expired)).status, 403, 'expired');
      const other = await fetch(`${http}/files/${'A'.repeat(22)}?e=${url.searchParams.get('e')}&s=${url.searchParams.get('s')}`);
      t.equal(other.status, 403, 'the signature of another file');
    });

    await t.test("sharing someone else's upload, an unknown id, a file twice or too many files is refused", async (t) => {
      eve.send({ type: 'send', id: 'steal', to: 'eve', text: 'mine now', sentAt: 1, files: [photo.id] });
      t.match(await eve.nextJson(is('error')), { code: 'FILE_NOT_FOUND', ref: 'steal' });
      eve.send({ type: 'send', id: 'unknown', text: 'x', sentAt: 1, files: ['B'.repeat(22)] });
      t.match(await eve.nextJson(is('error')), { code: 'FILE_NOT_FOUND', ref: 'unknown' });
      alice.send({ type: 'send', id: 'again', to: 'eve', text: 'again', sentAt: 1, files: [photo.id] });
      t.match(await alice.nextJson(is('error')), { code: 'FILE_ALREADY_SHARED', ref: 'again' });
      eve.send({ type: 'send', id: 'many', text: 'x', sentAt: 1, files: ['C'.repeat(22), 'D'.repeat(22), 'E'.repeat(22), 'F'.repeat(22)] });
      t.match(await eve.nextJson(is('error')), { code: 'TOO_MANY_FILES', ref: 'many' });
      eve.send({ type: 'send', id: 'bad', text: 'x', sentAt: 1, files: ['../../etc/passwd'] });
      t.match(await eve.nextJson(is('error')), { code: 'BAD_FRAME' });
      eve.send({ type: 'send', id: 'empty', text: '', sentAt: 1 });
      t.match(await eve.nextJson(is('error')), { code: 'BAD_FRAME' });
    });

    await t.test('a retried send (same id) names the same files and is acknowledged again', async (t) => {
      const file = await uploaded(await upload(server.base, { data: image, name: 'retry.png' }, ticketOf(alice)));
      const frame = { type: 'send', id: 'retry-1', to: 'bob', text: 'once', sentAt: 1, files: [file.id] };
      alice.send(frame);
      const ack = await alice.nextJson(is('ack'));
      alice.send(frame);
      t.same(await alice.nextJson(is('ack')), ack, 'the same ack: the same message');
      t.match(await bob.nextJson(is('message')), { text: 'once', files: [{ id: file.id }] });
    });

    await t.test('history and resume bring the files back, links signed again', async (t) => {
      bob.send({ type: 'history', id: 'h', conversation: 'dm:alice,bob' });
      const page = await bob.nextJson(is('history'));
      if (page.type !== 'history') throw new Error('no history');
      const withFile = page.messages.find((m) => m.text === 'look');
      t.match(withFile?.files, [{ id: photo.id, name: 'photo.png', type: 'image/png', width: 64, height: 48 }]);
      const again = await jsonClient(server.base, 'alice2', { resume: true });
      t.teardown(() => again.close());
      again.send({ type: 'resume', cursors: {} });
      // alice2 has no private conversations: resume the lobby instead, after a lobby message with a file.
      await again.nextJson(is('resumed'));
      const lobbyFile = await uploaded(
        await upload(server.base, { data: Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n'), name: 'notes.pdf' }, ticketOf(bob)),
      );
      bob.send({ type: 'send', id: 'lobby1', text: '', sentAt: 1, files: [lobbyFile.id] });
      await bob.nextJson(is('ack'));
      const late = await jsonClient(server.base, 'late', { resume: true });
      t.teardown(() => late.close());
      late.send({ type: 'resume', cursors: { everyone: 0 } });
      const replayed = await late.nextJson((f) => f.type === 'message' && f.from === 'bob' && (f.files?.length ?? 0) > 0);
      t.match(replayed, { text: '', files: [{ id: lobbyFile.id, name: 'notes.pdf', type: 'application/pdf' }] });
    });

    await t.test('text clients read one line per file, in the words of the text protocol', async (t) => {
      const carl = await textClient(server.base, 'carl');
      t.teardown(() => carl.close());
      const file = await uploaded(await upload(server.base, { data: image, name: 'photo.png' }, ticketOf(bob)));
      bob.send({ type: 'send', id: 'all-photo', text: 'hi all', sentAt: 1, files: [file.id] });
      const alicesCopy = await alice.nextJson((f) => f.type === 'message' && f.text === 'hi all');
      const url = (alicesCopy as { files: FileInfo[] }).files[0]!.url;
      t.equal(await carl.next(), `Client #bob says: hi all\nClient #bob shared photo.png (${formatSize(image.length)}): ${url}`);
      const secret = await uploaded(await upload(server.base, { data: image, name: 'secret.png' }, ticketOf(bob)));
      bob.send({ type: 'send', id: 'to-carl', to: 'carl', text: '', sentAt: 1, files: [secret.id] });
      t.match(
        await carl.next(),
        new RegExp(`^bob send a private file: secret\\.png \\(${formatSize(image.length)}\\): /files/${secret.id}\\?e=\\d+&s=`),
      );
      t.equal(formatSize(120_000), '120 KB');
      t.equal(formatSize(1_500_000), '1.5 MB');
      t.equal(formatSize(999), '999 B');
    });

    await t.test('a room: its members may read its files; deleting the room deletes them', async (t) => {
      alice.send({ type: 'create-room', id: 'r', room: 'pics' });
      await alice.nextJson(is('room'));
      const file = await uploaded(await upload(server.base, { data: image, name: 'room.png' }, ticketOf(alice)));
      alice.send({ type: 'send', id: 'room-photo', room: 'pics', text: 'in the room', sentAt: 1, files: [file.id] });
      await alice.nextJson(is('ack'));
      const path = `${http}/files/${file.id}`;
      t.equal((await fetch(path, { headers: { authorization: `Bearer ${ticketOf(bob)}` } })).status, 403, 'bob is not a member');
      bob.send({ type: 'join-room', id: 'j', room: 'pics' });
      await bob.nextJson(is('room'));
      t.equal((await fetch(path, { headers: { authorization: `Bearer ${ticketOf(bob)}` } })).status, 200, 'now he is');
      alice.send({ type: 'delete-room', id: 'd', room: 'pics' });
      await alice.nextJson(is('room-deleted'));
      // Deleted in the background: wait for the row to go (the answer turns 404), never for a duration.
      for (;;) {
        const status = (await fetch(path, { headers: { authorization: `Bearer ${ticketOf(alice)}` } })).status;
        if (status === 404) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      t.pass('the file is gone with its room');
    });

    await t.test('deleting a message deletes its files', async (t) => {
      const file = await uploaded(await upload(server.base, { data: image, name: 'oops.png' }, ticketOf(bob)));
      bob.send({ type: 'send', id: 'oops', to: 'alice', text: 'wrong picture', sentAt: 1, files: [file.id] });
      const ack = await bob.nextJson(is('ack'));
      if (ack.type !== 'ack') throw new Error('no ack');
      const path = `${http}/files/${file.id}`;
      t.equal((await fetch(path, { headers: { authorization: `Bearer ${ticketOf(alice)}` } })).status, 200, 'shared');
      bob.send({ type: 'delete', id: 'oops-delete', message: ack.id });
      t.match(await bob.nextJson(is('action')), { action: 'delete', message: ack.id });
      // Deleted in the background: wait for the row to go (the answer turns 404), never for a duration.
      for (;;) {
        const status = (await fetch(path, { headers: { authorization: `Bearer ${ticketOf(alice)}` } })).status;
        if (status === 404) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      t.pass('the file is gone with its message');
      const history = (id: string) => ({ type: 'history', id, conversation: 'dm:alice,bob', limit: 50 }) as const;
      alice.send(history('after-delete'));
      const page = await alice.nextJson(is('history'));
      const deleted = page.type === 'history' ? page.messages.find((m) => m.id === ack.id) : undefined;
      t.match(deleted, { deleted: true, text: '' });
      t.notOk(deleted?.files, 'history shows no files for the deleted message');
    });

    await t.test('uploads per minute per client: 429 with Retry-After past the limit', async (t) => {
      const dave = await jsonClient(server.base, 'dave');
      t.teardown(() => dave.close());
      for (let i = 0; i < 20; i++)
        await uploaded(await upload(server.base, { data: Buffer.from(`n${i}`), name: `${i}.txt` }, ticketOf(dave)));
      const limited = await upload(server.base, { data: Buffer.from('one more'), name: 'x.txt' }, ticketOf(dave));
      t.equal(limited.status, 429);
      t.match(Number(limited.headers.get('retry-after')), /\d/);
      t.ok(Number(limited.headers.get('retry-after')) >= 1 && Number(limited.headers.get('retry-after')) <= 60);
      t.match(await limited.json(), { code: 'UPLOADS_LIMITED', message: 'at most 20 uploads a minute: try again in ' });
    });
  });
}
