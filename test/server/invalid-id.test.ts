import t from 'tap';
import { forEachTarget } from '../helpers/targets.js';
import { TestClient } from '../helpers/ws-client.js';

const BAD_IDS: [string, string][] = [
  ['a%2Cb', 'a name may use only letters A-Z a-z, digits and _ . - @ (no spaces)'],
  ['bad%20id', 'a name may use only letters A-Z a-z, digits and _ . - @ (no spaces)'],
  ['x'.repeat(65), 'the name is longer than 64 characters'],
];

forEachTarget(t, {}, async (t, server) => {
  const http = server.base.replace('ws://', 'http://');

  await t.test('a bad id is refused at upgrade with the reason and close 4400', async (t) => {
    for (const [id, reason] of BAD_IDS) {
      const text = new TestClient(`${server.base}/ws/${id}`);
      t.equal(await text.next(), `invalid client id: ${reason}`);
      t.same(await text.closed, { code: 4400, reason: 'invalid client id' });
      const json = new TestClient(`${server.base}/ws/${id}`, 'chorus.v1');
      t.same(JSON.parse(await json.next()), {
        type: 'error',
        code: 'INVALID_CLIENT_ID',
        message: `invalid client id: ${reason}`,
        retryable: false,
      });
      t.equal((await json.closed).code, 4400);
    }
  });

  await t.test('over plain HTTP: 400 with the reason for a bad id, 426 for a good one', async (t) => {
    const bad = await fetch(`${http}/ws/a%2Cb`);
    t.equal(bad.status, 400);
    t.same(await bad.json(), { code: 'INVALID_CLIENT_ID', message: 'a name may use only letters A-Z a-z, digits and _ . - @ (no spaces)' });
    const good = await fetch(`${http}/ws/alice`);
    t.equal(good.status, 426);
    t.equal((await good.json()).code, 'UPGRADE_REQUIRED');
  });

  await t.test('ids with every allowed character are accepted', async (t) => {
    const ok = new TestClient(`${server.base}/ws/A-z_0.9@x`);
    await ok.opened;
    ok.send('hi,A-z_0.9@x');
    t.same(await ok.take(2), ['You wrote: hi', 'A-z_0.9@x send a private message: hi']);
    await ok.close();
  });

  await t.test('health and readiness', async (t) => {
    t.same(await (await fetch(`${http}/health`)).json(), { status: 'ok' });
    const ready = await (await fetch(`${http}/ready`)).json();
    t.equal(ready.status, 'ready');
    t.equal(ready.maxClients, 10_000);
    t.ok(ready.workers.length >= 1);
  });
});
