import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { build } from '../../apps/client/src/app.js';
import { loadClientConfig } from '../../apps/client/src/config.js';

function fixtureStatic(t: Test): string {
  const dir = t.testdir({ 'index.html': '<!doctype html><title>Chorus</title><div id="app"></div>', assets: { 'app.js': 'console.log(1)' } });
  return dir;
}

t.test('GET /env tells the browser where the chat server is', async (t) => {
  const config = loadClientConfig({ STATIC_DIR: fixtureStatic(t), SERVER: 'wss://chat.example.com/', PORT: '3000', HOST: '0.0.0.0' });
  const app = await build({ ...config, LOG_LEVEL: 'silent' });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/env' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { HOST: '0.0.0.0', PORT: 3000, SERVER: 'wss://chat.example.com' });
  t.equal(res.headers['cache-control'], 'no-store');
});

t.test('the app is served for / and for any page path (the id may be in it)', async (t) => {
  const config = loadClientConfig({ STATIC_DIR: fixtureStatic(t) });
  const app = await build({ ...config, LOG_LEVEL: 'silent' });
  t.teardown(() => app.close());
  for (const url of ['/', '/alice', '/bob.smith@example', '/deep/link']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.match(res.body, /<title>Chorus<\/title>/, url);
  }
  const asset = await app.inject({ method: 'GET', url: '/assets/app.js' });
  t.equal(asset.body, 'console.log(1)');
  const missing = await app.inject({ method: 'GET', url: '/assets/nope.js' });
  t.equal(missing.statusCode, 404);
  const post = await app.inject({ method: 'POST', url: '/alice' });
  t.equal(post.statusCode, 404);
});

t.test('configuration is validated with readable errors', async (t) => {
  t.throws(() => loadClientConfig({ SERVER: 'http://localhost:8080' }), /SERVER must be a ws:\/\/ or wss:\/\/ URL/);
  t.throws(() => loadClientConfig({ PORT: '70000' }), /PORT: .*\(got "70000"\)/);
  t.throws(() => loadClientConfig({ ENVIRONMENT: 'production' }), /SERVER points at localhost in production/);
  t.equal(loadClientConfig({}).SERVER, 'ws://localhost:8080');
  t.equal(loadClientConfig({}).PORT, 3000);
});

t.test('a missing build is reported plainly', async (t) => {
  const empty = t.testdir({});
  mkdirSync(join(empty, 'x'));
  writeFileSync(join(empty, 'x', 'y'), '');
  await t.rejects(build({ ...loadClientConfig({ STATIC_DIR: empty }), LOG_LEVEL: 'silent' }), /no built browser client .* run "npm run build" first/);
});
