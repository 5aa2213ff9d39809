import type { Test } from 'tap';
import type { NewMessage, NewSession, NewUser, Storage, StoredMessage } from '../../apps/server/src/storage/storage.js';

/** One empty database (a fresh SQLite file, a fresh PostgreSQL schema). */
export interface StorageFixture {
  /** Connects a new Storage to this database and brings its schema up to date (migrate()). */
  open(): Promise<Storage>;
  /** Removes the database; called after every storage opened on it is closed. */
  destroy(): Promise<void>;
}

export type MakeStorage = () => Promise<StorageFixture>;

let counter = 0;

/** A new message with a unique id; override any field. */
export function message(fields: Partial<NewMessage> = {}): NewMessage {
  const n = ++counter;
  return {
    id: `m${n}`,
    conversation: 'everyone',
    from: 'alice',
    to: null,
    room: null,
    text: `text ${n}`,
    sentAt: 1_700_000_000_000 + n,
    serverAt: 1_700_000_000_500 + n,
    ref: null,
    ...fields,
  };
}

/** An account without a profile; override any field. */
export function user(username: string, fields: Partial<NewUser> = {}): NewUser {
  return {
    username,
    passwordHash: `$scrypt$ln=15,r=8,p=1$salt-of-${username}$key`,
    profile: { firstNames: null, lastNames: null, age: null, gender: null, displayName: null },
    createdAt: 1_700_000_000_000,
    ...fields,
  };
}

/** A session of `username` created at `createdAt`, expiring an hour later; override any field. */
export function session(id: string, username: string, createdAt = 1_700_000_000_000, fields: Partial<NewSession> = {}): NewSession {
  return { id, username, createdAt, expiresAt: createdAt + 3_600_000, ...fields };
}

/** `count` messages of one conversation. */
function messages(count: number, fields: Partial<NewMessage> = {}): NewMessage[] {
  return Array.from({ length: count }, () => message(fields));
}

const seqs = (list: readonly StoredMessage[]) => list.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The guarantees written on Storage (apps/server/src/storage/storage.ts), checked against one implementation. */
export function storageContract(t: Test, makeStorage: MakeStorage): void {
  /** A fresh database for test `t`; `open` connects (and migrates) a new storage; all closed and removed at teardown. */
  async function database(t: Test): Promise<{ open(): Promise<Storage> }> {
    const fixture = await makeStorage();
    const opened: Storage[] = [];
    t.teardown(async () => {
      await Promise.all(opened.map((s) => s.close()));
      await fixture.destroy();
    });
    return {
      async open() {
        const storage = await fixture.open();
        opened.push(storage);
        return storage;
      },
    };
  }

  async function storage(t: Test): Promise<Storage> {
    return (await database(t)).open();
  }

  t.test('append assigns 1..n per conversation, in the order given, and stores every field', async (t) => {
    const s = await storage(t);
    const first = messages(3, { from: 'bob', to: null, room: 'general', conversation: 'room:general', ref: null });
    const results = await s.append(first);
    t.same(
      results,
      first.map((m, i) => ({ message: { ...m, seq: i + 1 }, duplicate: false })),
    );
    const more = await s.append(messages(2, { conversation: 'room:general' }));
    t.same(seqs(more.map((r) => r.message)), [4, 5]);
    t.same(
      await s.history('room:general', 10),
      [...more.map((r) => r.message)].reverse().concat([...results.map((r) => r.message)].reverse()),
    );
    t.same(await s.append([]), [], 'an empty batch is a no-op');
  });

  t.test('actions: log entries with the next seq, applied to their message in the same transaction', async (t) => {
    const s = await storage(t);
    const [a, b] = (await s.append([message({ text: 'helo' }), message({ from: 'bob', text: 'hi' })])).map((r) => r.message);
    const base = { from: 'alice', serverAt: 1_800_000_000_000, ref: null };
    const edit = await s.act({ ...base, id: 'act1', kind: 'edit', target: a!.id, text: 'hello', ref: 'e1' });
    if (!edit.ok) throw new Error('edit refused');
    t.same(edit.action, {
      id: 'act1',
      conversation: 'everyone',
      seq: 3,
      from: 'alice',
      to: null,
      room: null,
      text: 'hello',
      sentAt: 1_800_000_000_000,
      serverAt: 1_800_000_000_000,
      ref: 'e1',
      kind: 'edit',
      target: a!.id,
    });
    t.same(edit.message, { ...a, text: 'hello', editedAt: 1_800_000_000_000 });
    t.equal(edit.duplicate, false);
    const retry = await s.act({ ...base, id: 'act1b', kind: 'edit', target: a!.id, text: 'hello', ref: 'e1' });
    t.match(retry, { ok: true, duplicate: true, action: { id: 'act1', seq: 3 } }, 'a retry (same from, ref) is stored once');
    await s.act({ ...base, id: 'act2', kind: 'react', target: b!.id, text: '👍' });
    await s.act({ ...base, from: 'bob', id: 'act3', kind: 'react', target: b!.id, text: '👍' });
    await s.act({ ...base, from: 'bob', id: 'act4', kind: 'react', target: b!.id, text: '🎉' });
    await s.act({ ...base, from: 'bob', id: 'act5', kind: 'unreact', target: b!.id, text: '🎉' });
    t.same(await s.reactions([a!.id, b!.id]), new Map([[b!.id, [{ emoji: '👍', by: ['alice', 'bob'] }]]]));
    t.same(
      (await s.since('everyone', 0, 10)).map((m) => [m.seq, m.kind ?? 'message']),
      [
        [1, 'message'],
        [2, 'message'],
        [3, 'edit'],
        [4, 'react'],
        [5, 'react'],
        [6, 'react'],
        [7, 'unreact'],
      ],
      'since: messages and actions in one gap-free order',
    );
    const del = await s.act({ ...base, from: 'bob', id: 'act6', kind: 'delete', target: b!.id, text: '' });
    t.match(del, { ok: true, action: { seq: 8, kind: 'delete' }, message: { text: '', deletedAt: 1_800_000_000_000 } });
    t.same(await s.reactions([b!.id]), new Map(), 'a deleted message loses its reactions');
    t.same(
      (await s.history('everyone', 10)).map((m) => [m.seq, m.text, m.deletedAt !== undefined]),
      [
        [2, '', true],
        [1, 'hello', false],
      ],
      'history: messages only, in their current state',
    );
    t.same(await s.act({ ...base, id: 'act7', kind: 'edit', target: b!.id, text: 'x' }), { ok: false, reason: 'deleted' });
    t.same(await s.act({ ...base, id: 'act8', kind: 'edit', target: 'nope', text: 'x' }), { ok: false, reason: 'unknown' });
    t.same(
      await s.act({ ...base, id: 'act9', kind: 'edit', target: 'act1', text: 'x' }),
      { ok: false, reason: 'unknown' },
      'an action is no target',
    );
    t.same((await s.lastSeqs(['everyone'])).get('everyone'), 8, 'refused actions take no seq');
    t.match(await s.messageById(a!.id), { id: a!.id, text: 'hello' });
    t.equal(await s.messageById('act1'), null);
    t.match(await s.entryAt('everyone', 3), { id: 'act1', kind: 'edit' });
    t.equal(await s.entryAt('everyone', 99), null);
  });

  t.test('a reply is stored with the id it answers; a private action is to the other participant', async (t) => {
    const s = await storage(t);
    const [first] = (await s.append([message({ conversation: 'dm:alice,bob', to: 'bob' })])).map((r) => r.message);
    const [reply] = (await s.append([message({ conversation: 'dm:alice,bob', from: 'bob', to: 'alice', replyTo: first!.id })])).map(
      (r) => r.message,
    );
    t.equal(reply!.replyTo, first!.id);
    t.equal((await s.history('dm:alice,bob', 1))[0]!.replyTo, first!.id);
    const act = await s.act({ id: 'x1', kind: 'react', from: 'bob', target: first!.id, text: '❤️', serverAt: 1, ref: null });
    t.match(act, { ok: true, action: { to: 'alice', conversation: 'dm:alice,bob', seq: 3 } });
  });

  t.test("a deleted room's messages take their reactions with them", async (t) => {
    const s = await storage(t);
    await s.saveRoomChanges([{ kind: 'created', room: 'den', owner: 'alice' }]);
    const [m] = (await s.append([message({ conversation: 'room:den', room: 'den' })])).map((r) => r.message);
    await s.act({ id: 'y1', kind: 'react', from: 'alice', target: m!.id, text: '👍', serverAt: 1, ref: null });
    t.equal((await s.reactions([m!.id])).size, 1);
    await s.saveRoomChanges([{ kind: 'deleted', room: 'den', by: 'alice', members: [] }]);
    t.same(await s.reactions([m!.id]), new Map());
    t.equal(await s.messageById(m!.id), null);
  });

  t.test('conversations are numbered independently, also within one batch', async (t) => {
    const s = await storage(t);
    const batch = [
      message({ conversation: 'everyone' }),
      message({ conversation: 'dm:alice,bob', to: 'bob' }),
      message({ conversation: 'everyone' }),
      message({ conversation: 'room:a', room: 'a' }),
      message({ conversation: 'dm:alice,bob', to: 'bob' }),
    ];
    t.same(seqs((await s.append(batch)).map((r) => r.message)), [1, 1, 2, 1, 2]);
    t.same(seqs((await s.append([message({ conversation: 'room:a', room: 'a' })])).map((r) => r.message)), [2]);
    t.same(seqs(await s.since('everyone', 0, 10)), [1, 2]);
    t.same(seqs(await s.since('dm:alice,bob', 0, 10)), [1, 2]);
    t.same(seqs(await s.since('room:a', 0, 10)), [1, 2]);
  });

  t.test('a retried send (same from and ref) is stored once and answered with the original', async (t) => {
    const s = await storage(t);
    const original = message({ ref: 'r1' });
    const [first] = await s.append([original]);
    t.same(first, { message: { ...original, seq: 1 }, duplicate: false });

    // The retry gets a new server id and time, as the hub would give it.
    const retry = { ...original, id: 'retry-id', serverAt: original.serverAt + 1000, text: 'changed' };
    t.same(await s.append([retry]), [{ message: { ...original, seq: 1 }, duplicate: true }], 'in a later call');

    const other = message();
    const results = await s.append([other, { ...retry, id: 'retry-2' }]);
    t.same(results, [
      { message: { ...other, seq: 2 }, duplicate: false },
      { message: { ...original, seq: 1 }, duplicate: true },
    ]);

    const twice = message({ ref: 'r2' });
    const inBatch = await s.append([twice, message(), { ...twice, id: 'twice-again', text: 'again' }]);
    t.same(
      inBatch.map((r) => [r.message.id, r.message.seq, r.duplicate]),
      [
        [twice.id, 3, false],
        [inBatch[1]!.message.id, 4, false],
        [twice.id, 3, true],
      ],
      'within one batch the first one wins',
    );
    const fresh = message({ ref: 'r3' });
    t.same(
      await s.append([{ ...original, id: 'again-1' }, fresh, { ...original, id: 'again-2' }]),
      [
        { message: { ...original, seq: 1 }, duplicate: true },
        { message: { ...fresh, seq: 5 }, duplicate: false },
        { message: { ...original, seq: 1 }, duplicate: true },
      ],
      'a stored send repeated within a batch, around a new one',
    );
    t.same(seqs(await s.since('everyone', 0, 100)), [1, 2, 3, 4, 5], 'each stored once, no gap');
  });

  t.test('dedupe is per (from, ref): other senders, null refs and other conversations', async (t) => {
    const s = await storage(t);
    const results = await s.append([
      message({ from: 'alice', ref: 'same' }),
      message({ from: 'bob', ref: 'same' }),
      message({ from: 'alice', ref: null }),
      message({ from: 'alice', ref: null }),
    ]);
    t.same(
      results.map((r) => r.duplicate),
      [false, false, false, false],
      'the same ref from another sender, and messages without a ref, are distinct',
    );
    const elsewhere = await s.append([message({ from: 'alice', ref: 'same', conversation: 'dm:alice,bob', to: 'bob' })]);
    t.equal(elsewhere[0]!.duplicate, true, '(from, ref) identifies a send whatever its conversation');
    t.equal(elsewhere[0]!.message.id, results[0]!.message.id);
    t.same(await s.lastSeqs(['everyone', 'dm:alice,bob']), new Map([['everyone', 4]]));
  });

  t.test('history pages back newest first without gap or overlap', async (t) => {
    const s = await storage(t);
    t.same(await s.history('everyone', 10), [], 'an empty conversation');
    t.same(await s.history('everyone', 10, 5), []);

    await s.append(messages(3, { conversation: 'small' }));
    t.same(seqs(await s.history('small', 10)), [3, 2, 1], 'fewer than one page');

    await s.append(messages(5, { conversation: 'exact' }));
    const exact = await s.history('exact', 5);
    t.same(seqs(exact), [5, 4, 3, 2, 1], 'exactly one page');
    t.same(await s.history('exact', 5, exact.at(-1)!.seq), [], 'the page after an exact page is empty');

    await s.append(messages(25, { conversation: 'long' }));
    const pages: number[][] = [];
    let before: number | undefined;
    for (;;) {
      const page = await s.history('long', 10, before);
      if (page.length === 0) break;
      pages.push(seqs(page));
      before = page.at(-1)!.seq;
    }
    t.same(pages, [range(16, 25).reverse(), range(6, 15).reverse(), range(1, 5).reverse()], 'several pages');

    t.same(seqs(await s.history('long', 3, 1000)), [25, 24, 23], 'beforeSeq past the end gives the newest');
    t.same(seqs(await s.history('long', 3, 2)), [1]);
    t.same(await s.history('long', 3, 1), [], 'nothing before the first');
    t.same(await s.history('long', 0), [], 'a limit of 0 gives nothing');
    t.same(await s.history('long', -1), [], 'a negative limit gives nothing');
  });

  t.test('since returns what follows a seq, oldest first', async (t) => {
    const s = await storage(t);
    t.same(await s.since('everyone', 0, 10), [], 'an empty conversation');
    await s.append(messages(7));
    t.same(seqs(await s.since('everyone', 0, 100)), range(1, 7), 'from the start');
    t.same(seqs(await s.since('everyone', 0, 3)), [1, 2, 3], 'bounded by limit');
    t.same(seqs(await s.since('everyone', 3, 3)), [4, 5, 6], 'the next page');
    t.same(seqs(await s.since('everyone', 6, 3)), [7], 'a short last page');
    t.same(await s.since('everyone', 7, 3), [], 'nothing after the last');
    t.same(await s.since('everyone', 100, 3), [], 'afterSeq past the end');
    t.same(await s.since('everyone', 0, 0), [], 'a limit of 0 gives nothing');
  });

  t.test('lastSeqs names the conversations that have messages', async (t) => {
    const s = await storage(t);
    t.same(await s.lastSeqs([]), new Map());
    t.same(await s.lastSeqs(['everyone']), new Map());
    await s.append([...messages(3), ...messages(2, { conversation: 'room:x', room: 'x' })]);
    const last = await s.lastSeqs(['everyone', 'room:x', 'room:empty', 'everyone']);
    t.same(
      last,
      new Map([
        ['everyone', 3],
        ['room:x', 2],
      ]),
    );
    for (const value of last.values()) t.equal(typeof value, 'number');
  });

  t.test('directConversationsOf lists the private conversations a client has messages in', async (t) => {
    const s = await storage(t);
    t.same(await s.directConversationsOf('alice'), []);
    await s.append([
      message({ conversation: 'dm:alice,bob', from: 'alice', to: 'bob' }),
      message({ conversation: 'dm:bob,carol', from: 'carol', to: 'bob' }),
      message({ conversation: 'dm:alice,alice', from: 'alice', to: 'alice' }),
      message({ conversation: 'room:alice', room: 'alice' }),
      message({ conversation: 'everyone', from: 'dave' }),
    ]);
    t.same(await s.directConversationsOf('alice'), ['dm:alice,alice', 'dm:alice,bob']);
    t.same(await s.directConversationsOf('bob'), ['dm:alice,bob', 'dm:bob,carol']);
    t.same(await s.directConversationsOf('carol'), ['dm:bob,carol']);
    t.same(await s.directConversationsOf('dave'), [], 'the lobby is not private');
    t.same(await s.directConversationsOf('ali'), [], 'whole ids only');
  });

  t.test('room changes apply in order, as RoomRegistry applies them', async (t) => {
    const s = await storage(t);
    t.same(await s.loadRooms(), []);
    await s.saveRoomChanges([
      { kind: 'created', room: 'main', owner: 'alice' },
      { kind: 'joined', room: 'main', clientId: 'alice' },
      { kind: 'joined', room: 'main', clientId: 'carol' },
      { kind: 'joined', room: 'main', clientId: 'bob' },
      { kind: 'joined', room: 'main', clientId: 'bob' },
      { kind: 'left', room: 'main', clientId: 'carol' },
      { kind: 'created', room: 'gone', owner: 'bob' },
      { kind: 'joined', room: 'gone', clientId: 'bob' },
      { kind: 'joined', room: 'ghost', clientId: 'bob' },
    ]);
    await s.saveRoomChanges([{ kind: 'deleted', room: 'gone', by: 'bob', members: ['bob'] }]);
    await s.saveRoomChanges([]);
    t.same(await s.loadRooms(), [{ name: 'main', owner: 'alice', members: ['alice', 'bob'] }]);

    await s.saveRoomChanges([
      { kind: 'created', room: 'gone', owner: 'carol' },
      { kind: 'joined', room: 'gone', clientId: 'carol' },
    ]);
    t.same(
      await s.loadRooms(),
      [
        { name: 'gone', owner: 'carol', members: ['carol'] },
        { name: 'main', owner: 'alice', members: ['alice', 'bob'] },
      ],
      'a deleted name can be created again, without its old members',
    );
  });

  t.test('deleting a room deletes its messages; a room made again under its name starts after them', async (t) => {
    const s = await storage(t);
    await s.saveRoomChanges([{ kind: 'created', room: 'again', owner: 'alice' }]);
    await s.append([
      message({ id: 'old1', conversation: 'room:again', room: 'again' }),
      message({ id: 'old2', conversation: 'room:again', room: 'again' }),
      message({ id: 'lobby1', conversation: 'everyone' }),
    ]);
    await s.saveRoomChanges([{ kind: 'deleted', room: 'again', by: 'alice', members: ['alice'] }]);
    t.same(await s.history('room:again', 10), [], 'the old messages are gone');
    t.equal((await s.history('everyone', 10)).length, 1, 'other conversations are untouched');
    await s.saveRoomChanges([{ kind: 'created', room: 'again', owner: 'bob' }]);
    const [result] = await s.append([message({ id: 'new1', conversation: 'room:again', room: 'again' })]);
    t.equal(result!.message.seq, 3, 'seqs go on after the deleted ones');
    t.same(
      (await s.history('room:again', 10)).map((m) => m.id),
      ['new1'],
    );
  });

  t.test('seen ids', async (t) => {
    const s = await storage(t);
    t.equal(await s.hasBeenSeen('alice'), false);
    await s.markSeen(['alice', 'bob', 'alice']);
    await s.markSeen(['alice']);
    await s.markSeen([]);
    t.equal(await s.hasBeenSeen('alice'), true);
    t.equal(await s.hasBeenSeen('bob'), true);
    t.equal(await s.hasBeenSeen('carol'), false);
    t.equal(await s.hasBeenSeen('ALICE'), false, 'ids are case-sensitive');
  });

  t.test('messages, rooms and seen ids survive close and reopen', async (t) => {
    const db = await database(t);
    const before = await db.open();
    const stored = await before.append([message({ ref: 'keep' }), message({ conversation: 'dm:alice,bob', to: 'bob' })]);
    await before.saveRoomChanges([
      { kind: 'created', room: 'r', owner: 'alice' },
      { kind: 'joined', room: 'r', clientId: 'alice' },
      { kind: 'joined', room: 'r', clientId: 'bob' },
    ]);
    await before.markSeen(['alice']);
    await before.close();

    const after = await db.open();
    t.same(await after.history('everyone', 10), [stored[0]!.message]);
    t.same(await after.since('dm:alice,bob', 0, 10), [stored[1]!.message]);
    t.same(await after.loadRooms(), [{ name: 'r', owner: 'alice', members: ['alice', 'bob'] }]);
    t.equal(await after.hasBeenSeen('alice'), true);
    t.same(await after.directConversationsOf('bob'), ['dm:alice,bob']);
    const next = await after.append([message(), message({ ref: 'keep' })]);
    t.same(
      next.map((r) => [r.message.seq, r.duplicate]),
      [
        [2, false],
        [1, true],
      ],
      'seqs go on where they stopped, and dedupe remembers',
    );
  });

  t.test('receipt counts: stored per message, only ever larger, read back by id', async (t) => {
    const s = await storage(t);
    const [a, b] = await s.append([message({ id: 'rc-a' }), message({ id: 'rc-b' })]);
    t.same(await s.receiptCounts(['rc-a']), new Map(), 'none before the first receipt');
    await s.saveReceiptCounts([]);
    await s.saveReceiptCounts([{ id: 'rc-a', recipients: 3, delivered: 1, read: 0 }]);
    // One batch naming a message twice, and a second message.
    await s.saveReceiptCounts([
      { id: 'rc-a', recipients: 3, delivered: 2, read: 0 },
      { id: 'rc-b', recipients: 1, delivered: 1, read: 1 },
      { id: 'rc-a', recipients: 3, delivered: 1, read: 1 },
    ]);
    // A stale batch (written late, or by another process) takes nothing back.
    await s.saveReceiptCounts([{ id: 'rc-a', recipients: 3, delivered: 1, read: 0 }]);
    t.same(
      await s.receiptCounts([a!.message.id, b!.message.id, 'rc-none', 'rc-a']),
      new Map([
        ['rc-a', { id: 'rc-a', recipients: 3, delivered: 2, read: 1 }],
        ['rc-b', { id: 'rc-b', recipients: 1, delivered: 1, read: 1 }],
      ]),
    );
    t.same(await s.receiptCounts([]), new Map());
    // More ids than one statement's worth.
    const many = Array.from({ length: 1200 }, (_, i) => ({ id: `rc-many-${i}`, recipients: 2, delivered: 1, read: i % 2 }));
    await s.saveReceiptCounts(many);
    const back = await s.receiptCounts(many.map((c) => c.id));
    t.equal(back.size, 1200);
    t.same(back.get('rc-many-7'), { id: 'rc-many-7', recipients: 2, delivered: 1, read: 1 });
  });

  t.test('receipt counts from two storages at once keep the largest', async (t) => {
    const db = await database(t);
    const [x, y] = await Promise.all([db.open(), db.open()]);
    const ids = Array.from({ length: 50 }, (_, i) => `rc-race-${i}`);
    // Opposite orders: sorted writes cannot deadlock each other.
    await Promise.all([
      x.saveReceiptCounts(ids.map((id) => ({ id, recipients: 5, delivered: 4, read: 1 }))),
      y.saveReceiptCounts([...ids].reverse().map((id) => ({ id, recipients: 5, delivered: 2, read: 3 }))),
    ]);
    const back = await x.receiptCounts(ids);
    t.ok(
      ids.every((id) => back.get(id)?.delivered === 4 && back.get(id)?.read === 3),
      'each count is the larger one written',
    );
  });

  t.test('receipt counts survive a reopen and go with their room', async (t) => {
    const db = await database(t);
    const before = await db.open();
    await before.saveRoomChanges([{ kind: 'created', room: 'counted', owner: 'alice' }]);
    await before.append([
      message({ id: 'rc-room', conversation: 'room:counted', room: 'counted' }),
      message({ id: 'rc-lobby', conversation: 'everyone' }),
    ]);
    await before.saveReceiptCounts([
      { id: 'rc-room', recipients: 2, delivered: 2, read: 1 },
      { id: 'rc-lobby', recipients: 4, delivered: 3, read: 2 },
    ]);
    await before.close();
    const after = await db.open();
    t.equal((await after.receiptCounts(['rc-room', 'rc-lobby'])).size, 2, 'kept across a reopen');
    await after.saveRoomChanges([{ kind: 'deleted', room: 'counted', by: 'alice', members: ['alice'] }]);
    t.same([...(await after.receiptCounts(['rc-room', 'rc-lobby'])).keys()], ['rc-lobby'], 'deleted with the room’s messages');
  });

  t.test('text cursors: per client and conversation, forward only, kept across a reopen', async (t) => {
    const db = await database(t);
    const s = await db.open();
    t.same(await s.textCursors('bob'), new Map(), 'none yet');
    await s.saveTextCursors([]);
    await s.saveTextCursors([
      { clientId: 'bob', conversation: 'dm:alice,bob', seq: 3 },
      { clientId: 'bob', conversation: 'dm:bob,carol', seq: 1 },
      { clientId: 'alice', conversation: 'dm:alice,bob', seq: 7 },
      { clientId: 'bob', conversation: 'dm:alice,bob', seq: 5 },
    ]);
    await s.saveTextCursors([{ clientId: 'bob', conversation: 'dm:alice,bob', seq: 2 }]);
    t.same(
      await s.textCursors('bob'),
      new Map([
        ['dm:alice,bob', 5],
        ['dm:bob,carol', 1],
      ]),
      'the furthest; never back',
    );
    t.same(await s.textCursors('alice'), new Map([['dm:alice,bob', 7]]));
    t.same(await s.textCursors('BOB'), new Map(), 'ids are case-sensitive');
    await s.close();
    t.same(
      await (await db.open()).textCursors('bob'),
      new Map([
        ['dm:alice,bob', 5],
        ['dm:bob,carol', 1],
      ]),
    );
  });

  t.test('concurrent appends from two storages to one conversation take every seq exactly once', async (t) => {
    const db = await database(t);
    const [a, b] = await Promise.all([db.open(), db.open()]);
    const write = async (s: Storage, name: string) => {
      const got: number[] = [];
      for (let i = 0; i < 25; i++) {
        const results = await s.append(messages(20, { from: name, text: name }));
        got.push(...seqs(results.map((r) => r.message)));
      }
      return got;
    };
    const [fromA, fromB] = await Promise.all([write(a, 'a'), write(b, 'b')]);
    t.same(
      [...fromA, ...fromB].sort((x, y) => x - y),
      range(1, 1000),
      '1..1000, no duplicate, no gap',
    );
    t.ok(
      fromA.every((seq, i) => i === 0 || seq > fromA[i - 1]!),
      "a's messages in a's order",
    );
    t.ok(
      fromB.every((seq, i) => i === 0 || seq > fromB[i - 1]!),
      "b's messages in b's order",
    );
    const all = await a.since('everyone', 0, 2000);
    t.same(seqs(all), range(1, 1000));
    t.equal(all.filter((m) => m.from === 'a').length, 500);
    t.same(await b.lastSeqs(['everyone']), new Map([['everyone', 1000]]));
  });

  t.test('the same send racing through two storages is stored once', async (t) => {
    const db = await database(t);
    const [a, b] = await Promise.all([db.open(), db.open()]);
    for (let i = 0; i < 20; i++) {
      // Two conversations, so that no shared counter row serializes them: the
      // unique (from, ref) index has to settle it.
      const send = message({ ref: `race${i}`, conversation: 'dm:alice,bob', to: 'bob' });
      const [[ra], [rb]] = await Promise.all([
        a.append([send, message({ conversation: 'room:a', room: 'a' })]),
        b.append([message({ conversation: 'room:b', room: 'b' }), { ...send, id: `${send.id}-retry` }]).then((r) => [r[1]!]),
      ]);
      t.same([ra!.duplicate, rb!.duplicate].sort(), [false, true], `round ${i}: one stores it, the other is told it is a duplicate`);
      t.same(ra!.message, rb!.message);
    }
    t.same(seqs(await a.since('dm:alice,bob', 0, 100)), range(1, 20), 'each send stored once, without gaps');
  });

  t.test('a batch that fails stores nothing and leaves no gap', async (t) => {
    const s = await storage(t);
    const [taken] = await s.append([message()]);
    await t.rejects(
      s.append([
        message({ ref: 'lost' }),
        message({ conversation: 'room:other', room: 'other' }),
        message({ id: taken!.message.id }), // the id is unique: the insert fails
      ]),
    );
    t.same(await s.lastSeqs(['everyone', 'room:other']), new Map([['everyone', 1]]), 'counters rolled back');
    t.same(seqs(await s.since('everyone', 0, 10)), [1]);
    t.same(await s.since('room:other', 0, 10), []);
    const [retried] = await s.append([message({ ref: 'lost' })]);
    t.same([retried!.message.seq, retried!.duplicate], [2, false], 'the next message takes the next seq; the failed ref was not kept');
  });

  t.test('a message that cannot be stored exactly fails its batch before anything is written', async (t) => {
    const s = await storage(t);
    for (const bad of [
      message({ text: 'nul \0 inside' }),
      message({ text: 'lone \ud800 surrogate' }),
      message({ ref: '\udc00' }),
      message({ sentAt: 1.5 }),
      message({ serverAt: Number.NaN }),
    ]) {
      await t.rejects(s.append([message(), bad]), { name: 'UnstorableMessageError' });
    }
    t.same(await s.lastSeqs(['everyone']), new Map());
  });

  t.test('text with unicode, quotes and newlines round-trips exactly; numbers are numbers', async (t) => {
    const s = await storage(t);
    const texts = [
      'héllo wörld',
      '日本語のテキスト',
      'emoji 😀👍🏽🇫🇷 and a ZWJ family 👨‍👩‍👧',
      `quotes ' " \` and \\ backslashes \\n (not a newline)`,
      'line one\nline two\r\nline three\ttab',
      "'; drop table messages; --",
      'a,b,c,',
      '  spaces kept  ',
      'x'.repeat(20_000),
    ];
    const sent = texts.map((text, i) => message({ text, ref: `ref ${i} "q" 😀`, sentAt: 0, serverAt: 2 ** 52 + i }));
    await s.append(sent);
    const back = await s.since('everyone', 0, 100);
    t.same(
      back.map((m) => m.text),
      texts,
    );
    t.same(
      back.map((m) => m.ref),
      sent.map((m) => m.ref),
    );
    for (const m of back) {
      t.equal(typeof m.seq, 'number');
      t.equal(typeof m.sentAt, 'number');
      t.equal(typeof m.serverAt, 'number');
    }
    t.same(
      back.map((m) => m.serverAt),
      sent.map((m) => m.serverAt),
      'timestamps beyond 2^32 are exact',
    );
  });

  t.test('migrate() is idempotent and safe to run concurrently', async (t) => {
    const db = await database(t);
    // Two storages migrating one empty database at once.
    const [a, b] = await Promise.all([db.open(), db.open()]);
    await a.append([message()]);
    await a.migrate();
    await b.migrate();
    t.same(seqs(await b.since('everyone', 0, 10)), [1], 'data intact');
  });

  t.test('accounts: createUser stores every field; findUser is exact, nameTaken ignores ASCII case', async (t) => {
    const s = await storage(t);
    t.equal(await s.findUser('alice'), null);
    t.equal(await s.nameTaken('alice'), false);
    const alice = user('Alice.B@x', {
      profile: { firstNames: 'Ålice Maria 😀', lastNames: "O'Brien-Łukasz", age: 33, gender: 'female', displayName: null },
      createdAt: 2 ** 45 + 7,
    });
    t.same(await s.createUser(alice), { created: true });
    t.same(await s.findUser('Alice.B@x'), alice, 'every field round-trips');
    const found = await s.findUser('Alice.B@x');
    t.equal(typeof found!.createdAt, 'number');
    t.equal(typeof found!.profile.age, 'number');
    t.equal(await s.findUser('alice.b@x'), null, 'findUser is case-sensitive');
    t.equal(await s.nameTaken('alice.b@X'), true, 'nameTaken ignores case');
    t.equal(await s.nameTaken('Alice.B'), false, 'whole names only');
    t.same(await s.createUser(user('bob')), { created: true });
    t.same(
      (await s.findUser('bob'))!.profile,
      { firstNames: null, lastNames: null, age: null, gender: null, displayName: null },
      'an empty profile',
    );
  });

  t.test('accounts: display names are set, cleared, looked up in bulk and kept exactly', async (t) => {
    const s = await storage(t);
    const named = user('ana', { profile: { firstNames: null, lastNames: null, age: null, gender: null, displayName: 'Ana María 🌻' } });
    t.same(await s.createUser(named), { created: true });
    t.same(await s.findUser('ana'), named, 'a display name given at sign-up round-trips');
    t.same(await s.createUser(user('dmitri')), { created: true });
    t.same(await s.createUser(user('guestless')), { created: true });
    t.equal(await s.setDisplayName('dmitri', 'Дмитрий Шостакович'), true);
    t.equal(await s.setDisplayName('nobody', 'X'), false, 'no such account');
    t.same(
      Object.fromEntries(await s.displayNames(['ana', 'dmitri', 'guestless', 'nobody', 'ANA', 'ana'])),
      { ana: 'Ana María 🌻', dmitri: 'Дмитрий Шостакович' },
      'only accounts with a display name, exact names, each once',
    );
    t.same(await s.displayNames([]), new Map(), 'an empty lookup asks nothing');
    t.equal(await s.setDisplayName('ana', null), true);
    t.equal((await s.findUser('ana'))!.profile.displayName, null, 'cleared');
    t.same([...(await s.displayNames(['ana']))], []);
    await t.rejects(s.setDisplayName('dmitri', 'a\0b'), /cannot be stored/);
    t.equal((await s.findUser('dmitri'))!.profile.displayName, 'Дмитрий Шостакович', 'a refused change leaves the name');
  });

  t.test('accounts: a taken name is refused atomically, whatever its case', async (t) => {
    const db = await database(t);
    const [a, b] = await Promise.all([db.open(), db.open()]);
    const first = user('carol', { passwordHash: 'first' });
    t.same(await a.createUser(first), { created: true });
    t.same(await a.createUser(user('carol', { passwordHash: 'second' })), { created: false, reason: 'exists' });
    t.same(
      await b.createUser(user('CAROL', { passwordHash: 'third' })),
      { created: false, reason: 'exists' },
      'another case is the same name',
    );
    t.same(await a.findUser('carol'), first, 'the first account is untouched');
    t.equal(await a.findUser('CAROL'), null);

    for (let i = 0; i < 10; i++) {
      const results = await Promise.all([a.createUser(user(`race${i}`)), b.createUser(user(`RACE${i}`))]);
      t.same(results.map((r) => r.created).sort(), [false, true], `round ${i}: exactly one of two concurrent registrations wins`);
    }
  });

  t.test('accounts: a profile or name that cannot be stored exactly is refused', async (t) => {
    const s = await storage(t);
    await t.rejects(
      s.createUser(user('nul', { profile: { firstNames: 'a\0b', lastNames: null, age: null, gender: null, displayName: null } })),
    );
    await t.rejects(
      s.createUser(user('surrogate', { profile: { firstNames: null, lastNames: '\ud800', age: null, gender: null, displayName: null } })),
    );
    await t.rejects(
      s.createUser(user('age', { profile: { firstNames: null, lastNames: null, age: 1.5, gender: null, displayName: null } })),
    );
    t.equal(await s.nameTaken('nul'), false);
  });

  t.test('sessions: create, find, revoke once, revoke all but one', async (t) => {
    const s = await storage(t);
    await s.createUser(user('dave'));
    await s.createUser(user('erin'));
    const t0 = 1_700_000_000_000;
    await s.createSession(session('s1', 'dave', t0));
    await s.createSession(session('s2', 'dave', t0 + 1));
    await s.createSession(session('s3', 'dave', t0 + 2));
    await s.createSession(session('e1', 'erin', t0));
    t.same(await s.findSession('s1'), { ...session('s1', 'dave', t0), revokedAt: null });
    t.equal(typeof (await s.findSession('s1'))!.expiresAt, 'number');
    t.equal(await s.findSession('nope'), null);

    t.equal(await s.revokeSession('s1', t0 + 10), true, 'revokes a live session');
    t.equal(await s.revokeSession('s1', t0 + 20), false, 'a second revoke changes nothing');
    t.equal((await s.findSession('s1'))!.revokedAt, t0 + 10, 'the first revocation time is kept');
    t.equal(await s.revokeSession('nope', t0), false, 'an unknown session');

    t.equal(await s.revokeAllSessions('dave', t0 + 30, 's3'), 1, 'only s2 was still live besides s3');
    t.equal((await s.findSession('s2'))!.revokedAt, t0 + 30);
    t.equal((await s.findSession('s3'))!.revokedAt, null, 'the excepted session stays');
    t.equal((await s.findSession('e1'))!.revokedAt, null, "another account's sessions stay");
    t.equal(await s.revokeAllSessions('dave', t0 + 40), 1, 'without an exception: all');
    t.equal((await s.findSession('s3'))!.revokedAt, t0 + 40);
    t.equal(await s.revokeAllSessions('nobody', t0), 0);
  });

  t.test('sessions: refused for an unknown account or a taken id', async (t) => {
    const s = await storage(t);
    await s.createUser(user('frank'));
    await t.rejects(s.createSession(session('x1', 'ghost')), 'the account must exist');
    await s.createSession(session('x2', 'frank'));
    await t.rejects(s.createSession(session('x2', 'frank')), 'ids are unique');
    t.equal(await s.findSession('x1'), null);
  });

  t.test('sessions: keepAtMost revokes the oldest live ones, never the new one', async (t) => {
    const s = await storage(t);
    await s.createUser(user('gina'));
    await s.createUser(user('hank'));
    const t0 = 1_700_000_000_000;
    await s.createSession(session('old-expired', 'gina', t0 - 7_200_000));
    await s.createSession(session('h', 'hank', t0));
    for (let i = 1; i <= 4; i++) await s.createSession(session(`g${i}`, 'gina', t0 + i), 3);
    const live = async () => {
      const out: string[] = [];
      for (const id of ['g1', 'g2', 'g3', 'g4']) if ((await s.findSession(id))!.revokedAt === null) out.push(id);
      return out;
    };
    t.same(await live(), ['g2', 'g3', 'g4'], 'the oldest live one made room');
    t.equal((await s.findSession('g1'))!.revokedAt, t0 + 4, 'revoked at the new session time');
    t.equal((await s.findSession('old-expired'))!.revokedAt, null, 'an expired session does not count and is left alone');
    t.equal((await s.findSession('h'))!.revokedAt, null, "another account's session is untouched");
    await s.createSession(session('g5', 'gina', t0 + 4), 1);
    t.same(await live(), [], 'keepAtMost 1: only the new one');
    t.equal((await s.findSession('g5'))!.revokedAt, null);
    await s.createSession(session('g0', 'gina', t0 + 4), 2);
    t.equal((await s.findSession('g5'))!.revokedAt, null, 'an equally new session is kept by the tie-break when it fits');
    t.equal((await s.findSession('g0'))!.revokedAt, null);
  });

  t.test('passwords: setPasswordHash, and changePassword revoking every other session atomically', async (t) => {
    const s = await storage(t);
    await s.createUser(user('ivy', { passwordHash: 'h1' }));
    t.equal(await s.setPasswordHash('ivy', 'h2'), true);
    t.equal((await s.findUser('ivy'))!.passwordHash, 'h2');
    t.equal(await s.setPasswordHash('nobody', 'h'), false);
    t.equal(await s.findUser('nobody'), null, 'nothing created');

    const t0 = 1_700_000_000_000;
    for (const id of ['a', 'b', 'c']) await s.createSession(session(id, 'ivy', t0));
    t.equal(await s.changePassword('ivy', 'h3', t0 + 5, 'b'), true);
    t.equal((await s.findUser('ivy'))!.passwordHash, 'h3');
    t.same(
      await Promise.all(['a', 'b', 'c'].map(async (id) => (await s.findSession(id))!.revokedAt)),
      [t0 + 5, null, t0 + 5],
      'every session but the kept one is revoked',
    );
    t.equal(await s.changePassword('ivy', 'h4', t0 + 6), true, 'without a session to keep');
    t.equal((await s.findSession('b'))!.revokedAt, t0 + 6);
    t.equal(await s.changePassword('nobody', 'h', t0), false);
  });

  t.test('sessions: deleteExpiredSessions removes those expired at or before now', async (t) => {
    const s = await storage(t);
    await s.createUser(user('jay'));
    const t0 = 1_700_000_000_000;
    await s.createSession(session('gone', 'jay', t0, { expiresAt: t0 + 10 }));
    await s.createSession(session('edge', 'jay', t0, { expiresAt: t0 + 20 }));
    await s.createSession(session('stays', 'jay', t0, { expiresAt: t0 + 30 }));
    await s.revokeSession('stays', t0 + 1);
    t.equal(await s.deleteExpiredSessions(t0 + 20), 2);
    t.equal(await s.findSession('gone'), null);
    t.equal(await s.findSession('edge'), null);
    t.equal((await s.findSession('stays'))!.revokedAt, t0 + 1, 'a revoked session that has not expired is kept');
    t.equal(await s.deleteExpiredSessions(t0 + 20), 0);
  });

  t.test('accounts and sessions survive close and reopen', async (t) => {
    const db = await database(t);
    const before = await db.open();
    const kate = user('kate', { profile: { firstNames: 'Kate', lastNames: null, age: 40, gender: null, displayName: null } });
    await before.createUser(kate);
    await before.createSession(session('k1', 'kate'));
    await before.revokeSession('k1', 1_700_000_000_100);
    await before.close();
    const after = await db.open();
    t.same(await after.findUser('kate'), kate);
    t.same(await after.findSession('k1'), { ...session('k1', 'kate'), revokedAt: 1_700_000_000_100 });
    t.same(await after.createUser(user('KATE')), { created: false, reason: 'exists' });
  });

  t.test('calls after close() reject', async (t) => {
    const s = await storage(t);
    await s.close();
    await s.close();
    await t.rejects(s.append([message()]));
    await t.rejects(s.history('everyone', 10));
    await t.rejects(s.markSeen(['x']));
    await t.rejects(s.saveReceiptCounts([{ id: 'x', recipients: 1, delivered: 1, read: 0 }]));
    await t.rejects(s.receiptCounts(['x']));
    await t.rejects(s.saveTextCursors([{ clientId: 'x', conversation: 'dm:x,y', seq: 1 }]));
    await t.rejects(s.textCursors('x'));
  });
}
