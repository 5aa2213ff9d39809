import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { GroupCommitWriter, WriterClosedError } from '../../apps/server/src/storage/group-commit.js';
import { openStorage } from '../../apps/server/src/storage/open-storage.js';
import type { AppendResult, NewMessage, Storage } from '../../apps/server/src/storage/storage.js';
import { message } from '../helpers/storage-contract.js';

/** A promise with its resolve and reject outside. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A storage whose append() records each batch and waits until the test
 * settles it (`commit` or `fail`), so that a test controls when a commit is
 * in flight. `called` resolves at the next call.
 */
class ManualStorage implements Pick<Storage, 'append'> {
  readonly batches: NewMessage[][] = [];
  readonly #pending: ReturnType<typeof deferred<AppendResult[]>>[] = [];
  #nextCall = deferred<void>();
  #seq = 0;

  append(messages: readonly NewMessage[]): Promise<AppendResult[]> {
    this.batches.push([...messages]);
    const d = deferred<AppendResult[]>();
    this.#pending.push(d);
    this.#nextCall.resolve();
    this.#nextCall = deferred<void>();
    return d.promise;
  }

  /** Resolves at the next append() call (at once if `count` calls have been made already). */
  async called(count: number): Promise<void> {
    while (this.batches.length < count) await this.#nextCall.promise;
  }

  /** Commits the oldest pending batch, numbering its messages on. */
  commit(): void {
    const batch = this.batches[this.batches.length - this.#pending.length]!;
    this.#pending.shift()!.resolve(batch.map((m) => ({ message: { ...m, seq: ++this.#seq }, duplicate: false })));
  }

  /** Fails the oldest pending batch. */
  fail(error: Error): void {
    this.#pending.shift()!.reject(error);
  }
}

/** A storage that commits every batch at once, counting calls. */
class InstantStorage implements Pick<Storage, 'append'> {
  readonly sizes: number[] = [];
  #seq = 0;
  async append(messages: readonly NewMessage[]): Promise<AppendResult[]> {
    this.sizes.push(messages.length);
    return messages.map((m) => ({ message: { ...m, seq: ++this.#seq }, duplicate: false }));
  }
}

t.test('the appends of one turn go in one commit, each resolved with its own result', async (t) => {
  const storage = new InstantStorage();
  const writer = new GroupCommitWriter(storage);
  const sent = Array.from({ length: 100 }, () => message());
  const results = await Promise.all(sent.map((m) => writer.append(m)));
  t.same(storage.sizes, [100]);
  t.same(
    results.map((r) => [r.message.id, r.message.seq]),
    sent.map((m, i) => [m.id, i + 1]),
  );
});

t.test('appends made while a commit is in flight go together in the next commit, right after it', async (t) => {
  const storage = new ManualStorage();
  const writer = new GroupCommitWriter(storage);
  const [a, b, c, d] = [message(), message(), message(), message()];
  const first = writer.append(a);
  await storage.called(1);
  t.same(storage.batches, [[a]], 'an idle writer commits the first message on the next turn');

  const rest = [writer.append(b), writer.append(c)];
  // A later turn, still in flight: it joins the same queue.
  await new Promise((resolve) => setImmediate(resolve));
  rest.push(writer.append(d));
  t.equal(storage.batches.length, 1, 'nothing more is sent while a commit is in flight');

  storage.commit();
  t.equal((await first).message.seq, 1);
  await storage.called(2);
  t.same(storage.batches[1], [b, c, d], 'everything queued meanwhile, in order');
  storage.commit();
  t.same(
    (await Promise.all(rest)).map((r) => r.message.seq),
    [2, 3, 4],
  );
});

t.test('batches are bounded by maxBatch and keep the order of the appends', async (t) => {
  const storage = new InstantStorage();
  const writer = new GroupCommitWriter(storage, { maxBatch: 500 });
  const sent = Array.from({ length: 1200 }, () => message());
  const results = await Promise.all(sent.map((m) => writer.append(m)));
  t.same(storage.sizes, [500, 500, 200]);
  t.same(
    results.map((r) => r.message.id),
    sent.map((m) => m.id),
  );
  t.same(
    results.map((r) => r.message.seq),
    sent.map((_, i) => i + 1),
  );
});

t.test('a failed commit rejects the messages of its batch only; later ones are stored', async (t) => {
  const storage = new ManualStorage();
  const writer = new GroupCommitWriter(storage);
  const doomed = [writer.append(message()), writer.append(message())];
  await storage.called(1);
  const later = writer.append(message());
  const failure = new Error('disk full');
  storage.fail(failure);
  await Promise.all(doomed.map((p) => t.rejects(p, failure)));
  await storage.called(2);
  storage.commit();
  t.equal((await later).message.seq, 1);
  const afterwards = writer.append(message());
  await storage.called(3);
  storage.commit();
  t.equal((await afterwards).message.seq, 2, 'the writer keeps working');
});

t.test('a message that cannot be stored is rejected alone, before it can fail a batch', async (t) => {
  const storage = new InstantStorage();
  const writer = new GroupCommitWriter(storage);
  const good = writer.append(message());
  const bad = writer.append(message({ text: 'nul\0' }));
  const alsoGood = writer.append(message());
  await t.rejects(bad, { name: 'UnstorableMessageError' });
  t.same(
    (await Promise.all([good, alsoGood])).map((r) => r.message.seq),
    [1, 2],
  );
  t.same(storage.sizes, [2]);
});

t.test('flush waits for everything appended so far; close refuses more', async (t) => {
  const storage = new ManualStorage();
  const writer = new GroupCommitWriter(storage);
  await writer.flush();
  t.pass('an idle writer flushes at once');

  const settled: string[] = [];
  void writer.append(message()).then(() => settled.push('first'));
  await storage.called(1);
  void writer.append(message()).then(() => settled.push('second'));
  const flushed = writer.close().then(() => settled.push('flushed'));
  await t.rejects(writer.append(message()), WriterClosedError);
  storage.commit();
  await storage.called(2);
  storage.commit();
  await flushed;
  t.same(settled, ['first', 'second', 'flushed']);
});

t.test('over a real SQLite storage: concurrent appends are numbered in append order, with few commits', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-group-commit-'));
  const storage = await openStorage({ dataDir: dir });
  t.teardown(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });
  let calls = 0;
  const counting: Pick<Storage, 'append'> = {
    append: (messages) => {
      calls++;
      return storage.append(messages);
    },
  };
  const writer = new GroupCommitWriter(counting);
  const sent = Array.from({ length: 1000 }, (_, i) => message({ ref: `r${i % 900}` }));
  const results = await Promise.all(sent.map((m) => writer.append(m)));
  t.equal(calls, 2, '1000 appends in one turn: two commits of at most 500');
  t.same(
    results.slice(0, 900).map((r) => r.message.seq),
    Array.from({ length: 900 }, (_, i) => i + 1),
  );
  t.ok(
    results.slice(900).every((r, i) => r.duplicate && r.message.seq === i + 1),
    'retries across batches are answered with the original',
  );
  t.same(await storage.lastSeqs(['everyone']), new Map([['everyone', 900]]));
});
