import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Test } from 'tap';
import type { FileStore } from '../../apps/server/src/files/file-store.js';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const key = () => randomBytes(16).toString('base64url');

/**
 * The FileStore contract (apps/server/src/files/file-store.ts), run against
 * every store: `make` gives a fresh store, closed by the suite.
 */
export function fileStoreContract(t: Test, make: () => Promise<FileStore>): void {
  t.test('bytes come back exactly as written, as a stream; the count is the size', async (t) => {
    const store = await make();
    t.teardown(() => store.close());
    // Over several of the PostgreSQL store's 256 KiB chunks, and not a multiple of any.
    const data = randomBytes(3 * 256 * 1024 + 12_345);
    const k = key();
    t.equal(await store.write(k, chunked(data, 10_000)), data.length);
    const read = await store.read(k);
    t.ok(read, 'found');
    t.ok((await bytesOf(read!)).equals(data), 'same bytes');
    // Read twice: nothing is consumed.
    t.ok((await bytesOf((await store.read(k))!)).equals(data), 'same bytes again');
  });

  t.test('an empty file is a file of zero bytes, not a missing one', async (t) => {
    const store = await make();
    t.teardown(() => store.close());
    const k = key();
    t.equal(await store.write(k, chunked(Buffer.alloc(0), 1)), 0);
    const read = await store.read(k);
    t.ok(read, 'present');
    t.equal((await bytesOf(read!)).length, 0);
  });

  t.test('a key never written reads as null; thumbnails are keys of their own', async (t) => {
    const store = await make();
    t.teardown(() => store.close());
    const k = key();
    t.equal(await store.read(k), null);
    await store.write(k, chunked(Buffer.from('original'), 3));
    t.equal(await store.read(`${k}.thumb`), null, 'no thumbnail yet');
    await store.write(`${k}.thumb`, chunked(Buffer.from('thumb'), 3));
    t.equal((await bytesOf((await store.read(`${k}.thumb`))!)).toString(), 'thumb');
    t.equal((await bytesOf((await store.read(k))!)).toString(), 'original');
  });

  t.test('a source that fails halfway leaves nothing under the key, and the write rejects with its error', async (t) => {
    const store = await make();
    t.teardown(() => store.close());
    const k = key();
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(300 * 1024);
      throw new Error('client went away');
    }
    await t.rejects(store.write(k, failing()), /client went away/);
    t.equal(await store.read(k), null, 'nothing kept');
  });

  t.test('delete removes the keys; missing keys are no error; other keys stay', async (t) => {
    const store = await make();
    t.teardown(() => store.close());
    const [a, b] = [key(), key()];
    await store.write(a, chunked(Buffer.from('a'), 1));
    await store.write(b, chunked(Buffer.from('b'), 1));
    await store.delete([a, `${a}.thumb`, key()]);
    t.equal(await store.read(a), null, 'deleted');
    t.equal((await bytesOf((await store.read(b))!)).toString(), 'b', 'the other stays');
    await store.delete([]);
  });

  t.test('keys that could leave the store are refused', async (t) => {
    const store = await make();
    t.teardown(() => store.close());
    await t.rejects(store.write('../escape', chunked(Buffer.from('x'), 1)), /invalid file store key/);
    await t.rejects(store.read('a/b'), /invalid file store key/);
  });

  t.test('several writes at once do not mix', async (t) => {
    const store = await make();
    t.teardown(() => store.close());
    const files = Array.from({ length: 5 }, () => ({ k: key(), data: randomBytes(200_000 + Math.floor(Math.random() * 100_000)) }));
    await Promise.all(files.map((f) => store.write(f.k, chunked(f.data, 7_000))));
    for (const f of files) t.ok((await bytesOf((await store.read(f.k))!)).equals(f.data), 'own bytes');
  });
}
