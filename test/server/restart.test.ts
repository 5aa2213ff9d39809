import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AckFrame, HistoryPageFrame, MessageFrame, WelcomeFrame } from '@chorus/protocol';
import t from 'tap';
import { startApp, type RunningApp } from '../helpers/spawn-app.js';
import { jsonClient } from '../helpers/ws-client.js';

for (const [how, signal] of [
  ['SIGTERM (graceful)', 'SIGTERM'],
  ['SIGKILL of the primary', 'SIGKILL'],
] as const) {
  t.test(`a full restart after ${how} keeps rooms and history; clients resume`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-restart-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let server: RunningApp = await startApp('server', { WORKERS: '2', DATA_DIR: dir });
    t.teardown(() => server.stop('SIGKILL'));
    let base = `ws://127.0.0.1:${server.port}`;

    const alice = await jsonClient(base, 'alice');
    const bob = await jsonClient(base, 'bob');
    alice.send({ type: 'create-room', id: 'c', room: 'keep' });
    await alice.nextJson((f) => f.type === 'room');
    bob.send({ type: 'join-room', id: 'j', room: 'keep' });
    await bob.nextJson((f) => f.type === 'room');
    for (let i = 1; i <= 3; i++) alice.send({ type: 'send', id: `k${i}`, room: 'keep', text: `before ${i}`, sentAt: i });
    let last: AckFrame | undefined;
    for (let i = 1; i <= 3; i++) last = (await alice.nextJson((f) => f.type === 'ack')) as AckFrame;
    const bobSaw = [] as number[];
    while (bobSaw.length < 3) bobSaw.push(((await bob.nextJson((f) => f.type === 'message')) as MessageFrame).seq);
    await bob.close();
    // Sent while bob is away: he gets it when he resumes after the restart.
    alice.send({ type: 'send', id: 'away', room: 'keep', text: 'while you were away', sentAt: 4 });
    await alice.nextJson((f) => f.type === 'ack' && f.ref === 'away');
    t.equal(last!.seq, 3);

    const code = await server.stop(signal);
    t.equal(code, signal === 'SIGTERM' ? 0 : null, 'the server stopped');
    await alice.closed;
    server = await startApp('server', { WORKERS: '2', DATA_DIR: dir });
    base = `ws://127.0.0.1:${server.port}`;

    const alice2 = await jsonClient(base, 'alice');
    const welcome = alice2.frames.map((f) => JSON.parse(f)).find((f) => f.type === 'welcome') as WelcomeFrame;
    t.same(welcome.memberOf, ['keep'], 'membership survived');
    t.same(welcome.rooms, [{ name: 'keep', owner: 'alice', members: 2 }], 'the room survived');
    alice2.send({ type: 'history', id: 'h', conversation: 'room:keep' });
    const page = (await alice2.nextJson((f) => f.type === 'history')) as HistoryPageFrame;
    t.same(
      page.messages.map((m) => m.text),
      ['while you were away', 'before 3', 'before 2', 'before 1'],
      'history survived',
    );

    const bob2 = await jsonClient(base, 'bob', { resume: true });
    bob2.send({ type: 'resume', cursors: { 'room:keep': bobSaw.at(-1)! } });
    t.match(await bob2.nextJson((f) => f.type === 'message'), { seq: 4, text: 'while you were away' });
    t.match(await bob2.nextJson((f) => f.type === 'resumed'), { conversations: { 'room:keep': 4 } });
    alice2.send({ type: 'send', id: 'after', room: 'keep', text: 'after the restart', sentAt: 5 });
    t.match(await bob2.nextJson((f) => f.type === 'message'), { seq: 5, text: 'after the restart' }, 'seqs go on');
    await Promise.all([alice2.close(), bob2.close()]);
  });
}
