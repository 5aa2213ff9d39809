import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { build } from '../../apps/client/src/app.js';
import { loadClientConfig } from '../../apps/client/src/config.js';
import { startApp } from '../helpers/spawn-app.js';

function fixtureStatic(t: Test): string {
  const dir = t.testdir({
    'index.html': '<!doctype html><title>Chorus</title><div id="app"></div>',
    assets: { 'app.js': 'console.log(1)' },
  });
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
  await t.rejects(
    build({ ...loadClientConfig({ STATIC_DIR: empty }), LOG_LEVEL: 'silent' }),
    /no built browser client .* run "npm run build" first/,
  );
});

/** An empty folder, removed at teardown: a working directory without .env files. */
function emptyDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-client-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('started: where its settings came from, "accepting connections" once, then the URL to open', async (t) => {
  const cwd = emptyDir(t);
  // 0.0.0.0: Fastify would log a line per address of the machine.
  const app = await startApp('client', { HOST: '0.0.0.0' }, { cwd });
  await app.stop();
  t.match(
    app.logs.find((l) => 'envFile' in l),
    {
      envFile: join(cwd, '.env'),
      loaded: false,
      msg: `no ${join(cwd, '.env')}: settings from environment variables and defaults only`,
    },
  );
  t.equal(app.logs.filter((l) => l.msg === 'accepting connections').length, 1, '"accepting connections" once');
  const url = `http://localhost:${app.port}/`;
  t.match(app.logs.at(-2), { msg: 'listening', port: app.port });
  t.match(app.logs.at(-1), { url, msg: `open ${url} in a browser to chat` }, 'the last line says which URL to open');
});

t.test('ENVIRONMENT=production without .env.prod: the log says there is none', async (t) => {
  const cwd = emptyDir(t);
  const app = await startApp('client', { ENVIRONMENT: 'production', SERVER: 'wss://chat.example.com' }, { cwd });
  await app.stop();
  t.match(
    app.logs.find((l) => 'envFile' in l),
    { envFile: join(cwd, '.env.prod'), loaded: false, msg: /^no .*\.env\.prod: / },
  );
});
